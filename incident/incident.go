// Package incident turns monitor transitions into incidents, escalates them through the
// policy's escalation steps, and delivers notifications through a durable outbox.
//
// # Incidents
//
// An incident opens when a monitor is confirmed down (or degraded, with incident_on: degraded).
// There is one incident per service outage: a failing monitor joins the open automatic incident
// of its service; a monitor without a service has incidents of its own. A service whose
// depends_on (transitively) has an open incident joins that root incident instead of paging on
// its own. An automatic incident resolves when every monitor in it has recovered; its duration
// runs from the first failed check (the transition's time) to the first good one.
//
// A monitor entering a maintenance window (state maintenance, see package maintenance) opens
// nothing. An incident it is already failing in stays open and keeps escalating: the outage began
// before the window. When the window ends, the monitor's real state is applied like any change: a
// monitor still down opens an incident at that moment (or stays in its open one without a new
// page), a recovered one resolves its incident.
//
// Transitions are read from the store, never only from the engine's subscription: the manager
// keeps a watermark (the id of the last transition it applied) in the store, updated in the
// same transaction as the incident changes, and the subscription only wakes it up. So a
// transition is applied exactly once, also across crashes and dropped subscriptions.
//
// # Escalation
//
// An incident records how many of its escalation's steps have run and how many reminders were
// sent. The schedule is recomputed from that and the current policy whenever something changes,
// so a restart skips no step and repeats none: steps that fell due while Upkeep was stopped run
// at once; of the reminders missed, one is sent. Steps count from the moment the incident opened
// (its confirmation, not the first failed check): "3m -> SMS" means three minutes after the
// first page. Acknowledgement stops the steps and reminders.
//
// # Outbox
//
// Every notification is a row of the outbox, written in the same transaction as the change that
// causes it, with a unique idempotency key (incident, step, channel, event): running a step
// twice inserts nothing the second time. Delivery workers (a few lanes per channel, sharing
// the channel's rate limit; an incident's notifications always in the same lane, in order) send
// pending rows and mark them sent afterwards. Between a successful send and that mark there is
// a window (one store write, normally milliseconds; one notification per lane) in which a
// crash makes the notification go out again after restart: delivery is at-least-once, and the key is passed to the channel
// (Message-ID, Idempotency-Key, dedup_key) so that receivers can drop the repeat. Retryable
// errors are retried with exponential backoff and jitter; permanent ones, and those that
// exhaust the attempts, mark the row failed, which the API, the log and the metrics show.
//
// The per-channel rate limiter is a small token bucket written here: golang.org/x/time/rate
// would do, but is not a dependency of the module, and the limiter must use the package's
// injectable clock.
package incident

import (
	"errors"
	"fmt"

	"github.com/upkeep-dev/upkeep"
)

// Errors the API maps to status codes.
var (
	// ErrInvalid means a request is malformed (unknown status, no title, ...).
	ErrInvalid = errors.New("invalid")
	// ErrState means the request does not fit the incident's state (acknowledging a resolved
	// incident, reporting on an open one).
	ErrState = errors.New("not possible in this state")
	// ErrPermanent marks a delivery error that must not be retried; Config.IsPermanent may
	// recognise others (the notify package's).
	ErrPermanent = errors.New("permanent delivery failure")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// member returns the monitor of inc named monitor, or nil.
func member(inc *upkeep.Incident, monitor string) *upkeep.IncidentMonitor {
	for k := range inc.Monitors {
		if inc.Monitors[k].Monitor == monitor {
			return &inc.Monitors[k]
		}
	}
	return nil
}

// monitorNames returns the names of the monitors of inc.
func monitorNames(inc *upkeep.Incident) []string {
	out := make([]string, len(inc.Monitors))
	for k, m := range inc.Monitors {
		out[k] = m.Monitor
	}
	return out
}
