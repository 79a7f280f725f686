// Package jobsched holds what the schedulers of jobs (backups, restore drills) share: the loop that
// starts what is due, and the check that finds the slot a job let pass (their monitors go down
// when a run has not started within grace of its slot).
package jobsched

import (
	"context"
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep/engine"

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

// Loop calls dispatch, which starts what is due and says how long until the next slot, whenever
// that time has come or wake receives (the schedules changed), until ctx ends. The timer is made
// after the first dispatch: a test clock that waits for it to be armed then knows that the next
// slots have been computed.
func Loop(ctx context.Context, clock engine.Clock, wake <-chan struct{}, dispatch func() time.Duration) {
	timer := clock.NewTimer(dispatch())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C():
		}
		timer.Reset(dispatch())
	}
}
