// Package overdue finds the scheduled slot that a job (a backup, a restore drill) let pass: the
// monitors of scheduled jobs go down when a run has not started within grace of its slot.
package overdue

import (
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep/heartbeat/cron"
)

// Watch remembers which missed slot has been reported, so that each is reported once. The zero
// Watch has reported nothing.
type Watch struct {
	reported time.Time // the base whose missed slot has been reported
}

// Check looks at the slot due after the newer of lastStart (the slot or start of the newest run)
// and since (when watching began). When now is past that slot plus grace and the slot has not
// been reported yet, it returns the deadline and a message naming what ("run", "drill"), the
// slot and the deadline in loc, and the grace as graceText; ok is false otherwise.
func (w *Watch) Check(sched *cron.Schedule, lastStart, since, now time.Time, grace time.Duration, graceText, what string, loc *time.Location) (deadline time.Time, msg string, ok bool) {
	base := lastStart
	if base.Before(since) {
		base = since
	}
	if w.reported.Equal(base) {
		return time.Time{}, "", false
	}
	slot := sched.Next(base)
	if slot.IsZero() {
		return time.Time{}, "", false
	}
	deadline = slot.Add(grace)
	if !now.After(deadline) {
		return time.Time{}, "", false
	}
	w.reported = base
	const layout = "2006-01-02 15:04 MST"
	return deadline, fmt.Sprintf("missed: the %s scheduled at %s had not started by %s (grace %s)",
		what, slot.In(loc).Format(layout), deadline.In(loc).Format(layout), graceText), true
}
