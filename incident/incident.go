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
// twice inserts nothing the second time. Delivery workers (one per channel, rate-limited) send
// pending rows and mark them sent afterwards. Between a successful send and that mark there is
// a window (one store write, normally milliseconds) in which a crash makes the notification go
// out again after restart: delivery is at-least-once, and the key is passed to the channel
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
	"slices"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Status is an incident's state in the Statuspage vocabulary.
type Status string

// The statuses of an incident.
const (
	StatusInvestigating Status = "investigating"
	StatusIdentified    Status = "identified"
	StatusMonitoring    Status = "monitoring"
	StatusResolved      Status = "resolved"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved:
		return true
	}
	return false
}

// Impact is how bad an incident is, in the Statuspage vocabulary.
type Impact string

// The impacts of an incident.
const (
	ImpactNone     Impact = "none"
	ImpactMinor    Impact = "minor"
	ImpactMajor    Impact = "major"
	ImpactCritical Impact = "critical"
)

// Valid reports whether i is one of the four impacts.
func (i Impact) Valid() bool {
	switch i {
	case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
		return true
	}
	return false
}

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

// Incident is an outage or a manually declared incident.
type Incident struct {
	ID       int64
	Title    string
	Status   Status
	Impact   Impact
	Services []string
	// Automatic incidents are opened and resolved by monitors; manual ones by people.
	Automatic bool
	// Escalation is the name of the escalation it follows; empty: nobody is paged.
	Escalation string
	// StartedAt is when the outage began (the first failed check), or when a manual incident
	// was declared. OpenedAt is when Upkeep opened it: escalation delays count from there.
	StartedAt      time.Time
	OpenedAt       time.Time
	AcknowledgedAt time.Time // zero while not acknowledged
	AcknowledgedBy string
	ResolvedAt     time.Time // zero while open
	// StepsRun is how many escalation steps have run; Reminders the number of the last reminder
	// sent (0: none).
	StepsRun  int
	Reminders int
	Monitors  []Member
	Updates   []Update // filled in by Store.Incident only
	Report    *Report  // nil until written
	UpdatedAt time.Time
}

// Open reports whether the incident is not resolved.
func (i *Incident) Open() bool { return i.ResolvedAt.IsZero() }

// Acknowledged reports whether someone acknowledged the incident.
func (i *Incident) Acknowledged() bool { return !i.AcknowledgedAt.IsZero() }

// Duration is how long the incident lasted; 0 while it is open.
func (i *Incident) Duration() time.Duration {
	if i.ResolvedAt.IsZero() {
		return 0
	}
	return i.ResolvedAt.Sub(i.StartedAt)
}

// Failing reports whether any monitor of the incident is still failing.
func (i *Incident) Failing() bool {
	return slices.ContainsFunc(i.Monitors, func(m Member) bool { return m.Failing })
}

func (i *Incident) member(monitor string) *Member {
	for k := range i.Monitors {
		if i.Monitors[k].Monitor == monitor {
			return &i.Monitors[k]
		}
	}
	return nil
}

func (i *Incident) monitorNames() []string {
	out := make([]string, len(i.Monitors))
	for k, m := range i.Monitors {
		out[k] = m.Monitor
	}
	return out
}

// Member is a monitor that is part of an incident.
type Member struct {
	Monitor string
	Service string
	State   upkeep.State // its latest state
	Failing bool         // whether that state counts as an outage for it
	Since   time.Time    // when it entered State
}

// Kinds of update.
const (
	UpdateMessage = "update" // written by a person (or the API)
	UpdateEvent   = "event"  // written by Upkeep: a monitor failed or recovered, a step ran, an acknowledgement
)

// Update is one entry of an incident's timeline.
type Update struct {
	ID      int64
	At      time.Time
	Kind    string // UpdateMessage or UpdateEvent
	Status  Status // the incident's status after this update
	Message string
	Author  string // the API token's name, "upkeep", or "ack link"
}

// Report is the post-mortem of a resolved incident.
type Report struct {
	Cause      string          `json:"cause"`
	Measures   string          `json:"measures"`
	Prevention string          `json:"prevention"`
	Timeline   []TimelineEntry `json:"timeline"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// TimelineEntry is one line of a report's timeline.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Timeline generates a timeline from the incident's updates (which record its transitions,
// steps, acknowledgement and messages).
func (i *Incident) Timeline() []TimelineEntry {
	out := make([]TimelineEntry, 0, len(i.Updates))
	for _, u := range i.Updates {
		text := u.Message
		if u.Kind == UpdateMessage {
			text = fmt.Sprintf("[%s] %s", u.Status, u.Message)
			if u.Author != "" {
				text += " (" + u.Author + ")"
			}
		}
		out = append(out, TimelineEntry{At: u.At, Text: text})
	}
	return out
}

// Events of notifications, as the notify package names them.
const (
	EventDown         = "down"
	EventDegraded     = "degraded"
	EventRecovered    = "recovered"
	EventReminder     = "reminder"
	EventAcknowledged = "acknowledged"
	EventUpdate       = "update"
	EventResolved     = "resolved"
)

// Delivery states of a notification.
const (
	StatePending = "pending"
	StateSent    = "sent"
	StateFailed  = "failed"
)

// Notification is one row of the outbox: one event for one channel.
type Notification struct {
	ID       int64
	Key      string // idempotency key, unique in the outbox
	Incident int64
	Channel  string
	Event    string
	Step     int // escalation step (0-based), or reminder number; 0 otherwise
	Payload  Payload
	// Delivery.
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time // zero until sent
	FailedAt      time.Time // zero unless failed
}

// Payload is what a notification says, captured when it is enqueued, so a notification sent
// late (after a retry or a restart) tells what was true when it was decided.
type Payload struct {
	Title      string    `json:"title"`
	Status     Status    `json:"status"`
	Impact     Impact    `json:"impact"`
	Services   []string  `json:"services"`
	Monitors   []string  `json:"monitors"`
	StartedAt  time.Time `json:"started_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Monitor    string    `json:"monitor,omitempty"`
	State      string    `json:"state,omitempty"`
	Cause      string    `json:"cause,omitempty"`
	Message    string    `json:"message,omitempty"`
	At         time.Time `json:"at"`
}

// StoredTransition is a transition with its id in the store, which orders transitions.
type StoredTransition struct {
	ID int64
	upkeep.Transition
}
