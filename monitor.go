package upkeep

import (
	"slices"
	"time"
)

// State is the confirmed state of a monitor.
type State string

// The states of a monitor. A check result is only ever up, degraded or down; the state machine
// turns results into states with the confirmation rules of the policy.
const (
	StateUnknown  State = "unknown"  // no confirmed result yet (new monitor, or just restarted)
	StateUp       State = "up"       // answering within its limits
	StateDegraded State = "degraded" // answering, but slow or close to a limit (certificate expiry, ...)
	StateDown     State = "down"     // not answering, or answering wrongly
	StatePaused   State = "paused"   // not checked, by policy
	// StateMaintenance: inside a maintenance window. Checks keep running and the real state is
	// tracked underneath; when the window ends the monitor takes its real state again.
	StateMaintenance State = "maintenance"
)

// LocalLocation is the location of checks run by the server itself; remote agents report
// under their own location names.
const LocalLocation = "local"

// Result is the outcome of one check (or, for a heartbeat monitor, of one ping or one missed
// deadline). A location never produces two results for one monitor in the same millisecond, so
// (Monitor, Location, Time) is the result's idempotency key: a batch an agent sends twice is
// stored once.
type Result struct {
	Monitor  string
	Location string
	Time     time.Time     // when the check started (a ping: when it arrived)
	Latency  time.Duration // how long the check took; 0 when it does not apply
	Outcome  State         // StateUp, StateDegraded or StateDown
	Error    string        // why the outcome is not up; empty when up
	Code     int           // protocol status where there is one (HTTP status, a job's exit code); 0 otherwise
}

// Transition is a confirmed change of a monitor's state, kept forever: uptime is computed from
// transitions.
type Transition struct {
	Monitor string
	From    State
	To      State
	At      time.Time
	// Cause says why: the error, status and latency of the result that confirmed the change,
	// or "paused by policy", "monitor removed", ...
	Cause string
}

// StoredTransition is a transition with its id in the store, which orders transitions.
type StoredTransition struct {
	ID int64
	Transition
}

// Interval is the time from Start (inclusive) to End (exclusive).
type Interval struct {
	Start, End time.Time
}

// MergeIntervals clips intervals to [lo, hi), sorts them and merges those that overlap or touch.
func MergeIntervals(ivs []Interval, lo, hi time.Time) []Interval {
	var out []Interval
	for _, iv := range ivs {
		a, b := iv.Start, iv.End
		if a.Before(lo) {
			a = lo
		}
		if b.After(hi) {
			b = hi
		}
		if a.Before(b) {
			out = append(out, Interval{Start: a, End: b})
		}
	}
	slices.SortFunc(out, func(x, y Interval) int { return x.Start.Compare(y.Start) })
	merged := out[:0]
	for _, iv := range out {
		if n := len(merged); n > 0 && !iv.Start.After(merged[n-1].End) {
			if iv.End.After(merged[n-1].End) {
				merged[n-1].End = iv.End
			}
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// Rollup summarises the raw results of one monitor over one hour or one UTC day.
type Rollup struct {
	Monitor  string
	Span     time.Duration // time.Hour or 24 * time.Hour
	Start    time.Time
	Checks   int // results in the period, every location
	Failures int // results that were down
	Degraded int // results that were degraded
	// Maintenance counts the results taken while the monitor was in a maintenance window: they
	// are in Checks but never in Failures or Degraded (planned downtime is no SLA failure).
	Maintenance int
	// Latency percentiles (nearest rank) and maximum over the checks that got an answer (up or
	// degraded): the latency of a failure is mostly its timeout and says nothing about speed.
	// Zero when no check got an answer.
	LatencyP50, LatencyP95, LatencyMax time.Duration
}
