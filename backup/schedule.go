package backup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/heartbeat/cron"
	"github.com/upkeep-dev/upkeep/internal/jobsched"
	"github.com/upkeep-dev/upkeep/policy"
)

// Run schedules the jobs until ctx ends, then waits for the runs in progress to stop (they are
// cancelled with ctx). At start it marks the runs a crash left running as interrupted, and, for
// every job whose scheduled run was missed while Upkeep was not running, records the miss and
// (catch_up) starts the run. Call Apply first.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	prepared := s.runCtx != nil
	s.mu.Unlock()
	if !prepared {
		if err := s.Prepare(ctx); err != nil {
			return err
		}
	}
	defer s.runs.Wait()
	jobsched.Loop(ctx, s.clock, s.wake, func() time.Duration { return s.dispatch(ctx) })
	return nil
}

// Recover records the runs and verifications that a crash left running as failed ("interrupted"). serve calls it
// before it answers requests, so the API never shows such a run as still running; Run calls it
// again, which then finds nothing.
func (s *Service) Recover(ctx context.Context) error {
	interrupted, err := s.store.InterruptBackupRuns(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("recording interrupted backup runs: %w", err)
	}
	for _, r := range interrupted {
		s.log.Warn("a backup run was interrupted by a stop of Upkeep; it is recorded as failed", "job", r.Job, "run", r.ID, "started", r.Start)
	}
	n, err := s.store.InterruptBackupVerifications(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("recording interrupted backup verifications: %w", err)
	}
	if n > 0 {
		s.log.Warn("backup verifications were interrupted by a stop of Upkeep; they are recorded as failed", "count", n)
	}
	return nil
}

// Prepare does what Run does first, once: it records interrupted runs and missed runs, starts
// the catch-up runs, and from then on accepts runs started through Start, which live as long as
// ctx. serve calls it before it answers requests, so `POST /api/v1/backups/{job}/run` works from
// the first request; Run calls it itself when nobody did.
func (s *Service) Prepare(ctx context.Context) error {
	if err := s.Recover(ctx); err != nil {
		return err
	}
	now := s.clock.Now()
	last, lastRun, err := s.store.LastBackupRuns(ctx)
	if err != nil {
		return err
	}
	type catchUp struct {
		name string
		slot time.Time
	}
	var due []catchUp
	s.mu.Lock()
	s.runCtx = ctx
	for _, j := range s.jobs {
		if r, ok := last[j.name]; ok {
			rr := r
			j.lastRun = &rr
		}
		r, ok := lastRun[j.name]
		if !ok {
			continue // never ran: nothing can have been missed before this process watched it
		}
		j.lastStart = r.Start
		if !r.Scheduled.IsZero() {
			j.lastStart = r.Scheduled
		}
		base := j.lastStart
		if m, ok := last[j.name]; ok && m.Status == upkeep.BackupMissed && m.Scheduled.After(base) {
			continue // the miss was recorded by an earlier start already; the evaluator reports it
		}
		first := j.sched.Next(base)
		if first.IsZero() || first.After(now) {
			continue
		}
		// Every slot from first to now was missed; the newest is the one to catch up.
		missed, newest := 0, first
		for t := first; !t.IsZero() && !t.After(now) && missed < 100000; t = j.sched.Next(t) {
			missed, newest = missed+1, t
		}
		why := "Upkeep was not running at the scheduled time"
		if missed > 1 {
			why = fmt.Sprintf("Upkeep was not running: %d scheduled runs missed, from %s to %s", missed,
				first.In(j.loc).Format("2006-01-02 15:04 MST"), newest.In(j.loc).Format("2006-01-02 15:04 MST"))
		}
		if j.pol.CatchUpEnabled() {
			why += "; caught up at startup"
			due = append(due, catchUp{j.name, newest})
		}
		s.mu.Unlock()
		id, err := s.store.RecordMissedBackup(ctx, j.name, first, now, why)
		s.mu.Lock()
		if err != nil {
			s.mu.Unlock()
			return err
		}
		j.lastRun = &upkeep.BackupRun{ID: id, Job: j.name, Trigger: upkeep.TriggerSchedule, Status: upkeep.BackupMissed, Scheduled: first, Start: first, End: now, Error: why}
		s.log.Warn("a scheduled backup was missed while Upkeep was not running", "job", j.name, "slot", first, "missed", missed, "catch_up", j.pol.CatchUpEnabled())
	}
	s.mu.Unlock()
	for _, c := range due {
		s.startScheduled(ctx, c.name, upkeep.TriggerCatchUp, c.slot)
	}
	return nil
}

// dispatch starts the runs that are due and returns how long to wait for the next one.
func (s *Service) dispatch(ctx context.Context) time.Duration {
	now := s.clock.Now()
	type start struct {
		name string
		slot time.Time
	}
	var starts []start
	var tasks []func()
	wait := time.Hour
	s.mu.Lock()
	for _, j := range s.jobs {
		d, due := s.dueTasks(ctx, j, now)
		wait = min(wait, d)
		tasks = append(tasks, due...)
		if j.next.IsZero() {
			// Slots before now are catch-up's business (startup), not the scheduler's.
			j.next = j.sched.Next(now)
		}
		if j.next.IsZero() {
			continue
		}
		if !j.next.After(now) {
			starts = append(starts, start{j.name, j.next})
			j.next = j.sched.Next(j.next)
		}
		if d := j.next.Sub(now); d < wait {
			wait = d
		}
	}
	s.mu.Unlock()
	for _, st := range starts {
		s.startScheduled(ctx, st.name, upkeep.TriggerSchedule, st.slot)
	}
	for _, task := range tasks {
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			task()
		}()
	}
	return max(wait, 0)
}

// dueTasks returns the job's scheduled verification and maintenance that are due at now, and
// how long until the next one. A task still going when its next slot comes skips that slot.
// Called with s.mu held.
func (s *Service) dueTasks(ctx context.Context, j *job, now time.Time) (time.Duration, []func()) {
	wait := time.Hour
	var tasks []func()
	kinds := []struct {
		sched *cron.Schedule
		next  *time.Time
		busy  *bool
		run   func()
	}{
		{j.verifySched, &j.nextVerify, &j.verifying, func() {
			readData := 0.0
			if j.pol.Verify != nil {
				readData = j.pol.Verify.ReadData.Fraction()
			}
			s.scheduledVerify(ctx, j.name, readData)
		}},
		{j.maintSched, &j.nextMaint, &j.maintaining, func() { s.scheduledMaintenance(ctx, j.name) }},
	}
	for _, k := range kinds {
		if k.sched == nil {
			continue
		}
		if k.next.IsZero() {
			*k.next = k.sched.Next(now)
		}
		if !k.next.IsZero() && !k.next.After(now) {
			*k.next = k.sched.Next(now)
			if !*k.busy {
				*k.busy = true
				run, busy := k.run, k.busy
				tasks = append(tasks, func() {
					run()
					s.mu.Lock()
					*busy = false
					s.mu.Unlock()
				})
			}
		}
		if !k.next.IsZero() {
			wait = min(wait, k.next.Sub(now))
		}
	}
	return wait, tasks
}

// startScheduled starts a scheduled or catch-up run in the background. A job still running its
// previous run skips the slot: the evaluator reports it when it makes the job late.
func (s *Service) startScheduled(ctx context.Context, name string, trigger upkeep.BackupTrigger, slot time.Time) {
	r, err := s.begin(ctx, name, trigger, slot)
	if err != nil {
		if errors.Is(err, ErrRunning) {
			s.log.Warn("a scheduled backup is skipped: the previous run is still going", "job", name, "slot", slot)
		} else {
			s.log.Error("a scheduled backup could not start", "job", name, "slot", slot, "err", err)
		}
		return
	}
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.finish(ctx, r, nil)
	}()
}

// Evaluator returns what the engine asks whether backup monitor m's next run is overdue.
func (s *Service) Evaluator(m policy.Monitor) (*Evaluator, error) {
	if m.Backup == nil {
		return nil, fmt.Errorf("monitor %q is not a backup", m.Name)
	}
	return &Evaluator{s: s, name: m.Backup.Backup}, nil
}

// Evaluator reports a backup job whose scheduled run has not started within grace of its slot.
type Evaluator struct {
	s    *Service
	name string
}

// Evaluate returns a down result when the run due after the job's newest run (or after the
// moment this process started watching it) has not started within grace. It reports each
// missed slot once; the result is dated at the deadline.
func (e *Evaluator) Evaluate(now time.Time) (upkeep.Result, bool) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	j := e.s.jobs[e.name]
	if j == nil || j.sched == nil || j.running != 0 {
		return upkeep.Result{}, false
	}
	deadline, msg, ok := j.overdue.Check(j.sched, j.lastStart, j.since, now, j.pol.Grace.Duration, j.pol.Grace.String(), "run", j.loc)
	if !ok {
		return upkeep.Result{}, false
	}
	return upkeep.Result{Monitor: e.name, Location: upkeep.LocalLocation, Time: deadline.UTC().Truncate(time.Millisecond),
		Outcome: upkeep.StateDown, Error: msg}, true
}

func sortJobs(js []JobStatus) {
	sort.Slice(js, func(a, b int) bool { return js[a].Name < js[b].Name })
}
