package drill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/heartbeat/cron"
	"github.com/upkeep-dev/upkeep/internal/jobsched"
	"github.com/upkeep-dev/upkeep/policy"
)

// ErrRunning is returned when a run of the drill is already going on.
var ErrRunning = errors.New("a run of this drill is already in progress")

// ErrUnknownDrill is returned for a drill that the policy in force does not have.
var ErrUnknownDrill = errors.New("no such drill in the policy")

// ErrUnknownDestination is returned for a destination the drill's backup does not write to.
var ErrUnknownDestination = errors.New("the drill's backup is not written to that destination")

// ServiceStore is where the service records runs and finds the history it starts from;
// *sqlite.DB implements it.
type ServiceStore interface {
	Store
	RecordMissedDrill(ctx context.Context, r *upkeep.DrillRun) error
	// LastDrillRuns returns per drill its newest run (missed slots included) and its newest run
	// that was not a missed slot.
	LastDrillRuns(ctx context.Context) (last, lastRun map[string]upkeep.DrillRun, err error)
	MarkInterruptedDrillRuns(ctx context.Context, now time.Time) (int, error)
}

// Ingester takes the outcomes of runs: the monitoring engine. Ingest must not block.
type Ingester interface {
	Ingest(upkeep.Result)
}

// ServiceConfig is what NewService needs. Store, Backups and WorkDir are required.
type ServiceConfig struct {
	Store ServiceStore
	// Backups gives the drills' view of the backups of a policy (backup.DrillBackups).
	Backups func(*policy.Policy) Backups
	WorkDir string       // as Runner.WorkDir
	Ingest  Ingester     // nil: runs are not reported to monitoring
	Clock   engine.Clock // nil: the real clock
	Logger  *slog.Logger // nil: discard
}

// Service runs the drills of the policy in force inside upkeep serve: on their schedule, at
// startup for a slot missed while Upkeep was not running (catch_up), and on demand (the API).
// A drill has one run at a time; a slot that comes while the previous run goes on is recorded
// as missed. Every drill is a monitor of kind drill: a run's outcome is handed to the engine
// (passed: up; failed: down, with the reason), and Evaluator reports a scheduled run that has
// not started within grace of its slot.
type Service struct {
	store   ServiceStore
	backups func(*policy.Policy) Backups
	workDir string
	ingest  Ingester
	clock   engine.Clock
	log     *slog.Logger

	mu     sync.Mutex
	drills map[string]*scheduled
	runner *Runner         // over the backups of the policy in force
	runCtx context.Context // set by Prepare: runs live as long as it
	wake   chan struct{}   // the schedules changed
	runs   sync.WaitGroup  // runs in progress
}

// scheduled is the service's state of one drill. Fields are guarded by Service.mu.
type scheduled struct {
	pol   policy.Drill
	sched *cron.Schedule // nil: the drill runs only when started by hand
	loc   *time.Location

	since   time.Time // when this process started watching the drill
	next    time.Time // the next scheduled run; zero: not computed yet
	running int64     // the id of the run in progress; 0 when none
	// lastStart is the slot (or start) of the newest run, missed slots excluded: the next run
	// is due after it.
	lastStart time.Time
	lastRun   *upkeep.DrillRun // the newest ended run, missed slots included
	overdue   jobsched.Watch   // the missed slots reported
}

// NewService returns a service; call Apply with a policy, then Prepare and Run.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	return &Service{store: cfg.Store, backups: cfg.Backups, workDir: cfg.WorkDir, ingest: cfg.Ingest, clock: cfg.Clock, log: cfg.Logger,
		drills: map[string]*scheduled{}, wake: make(chan struct{}, 1)}
}

// Apply makes the drills of p those the service runs, at start and on every reload. A drill
// keeps its state, and a run in progress goes on with the policy it started with, when the
// drill's settings change; a changed schedule is recomputed; a removed drill is no longer
// scheduled.
func (s *Service) Apply(_ context.Context, p *policy.Policy) error {
	now := s.clock.Now()
	var errs []error
	runner := &Runner{Backups: s.backups(p), Store: s.store, WorkDir: s.workDir, Now: s.clock.Now, Logger: s.log}
	s.mu.Lock()
	defer s.mu.Unlock()
	drills := make(map[string]*scheduled, len(p.Drills))
	for _, d := range p.Drills {
		sched, err := d.Cron()
		if err != nil {
			errs = append(errs, fmt.Errorf("drill %q: schedule: %w", d.Name, err))
		}
		sd := s.drills[d.Name]
		if sd == nil {
			sd = &scheduled{since: now}
		}
		if sched == nil || sd.sched == nil || sd.sched.String() != sched.String() || sd.sched.Location() != sched.Location() {
			sd.next = time.Time{} // recomputed by the scheduler
		}
		sd.pol, sd.sched, sd.loc = d, sched, time.UTC
		if sched != nil {
			sd.loc = sched.Location()
		}
		drills[d.Name] = sd
	}
	s.drills, s.runner = drills, runner
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return errors.Join(errs...)
}

// Prepare records the runs a crash left running as interrupted, and the scheduled runs missed
// while Upkeep was not running (one missed run per drill, saying how many slots), starts the
// catch-up runs, and from then on accepts runs through Start, which live as long as ctx. serve
// calls it before it answers requests; Run calls it when nobody did.
func (s *Service) Prepare(ctx context.Context) error {
	now := s.clock.Now()
	if n, err := s.store.MarkInterruptedDrillRuns(ctx, now); err != nil {
		return fmt.Errorf("recording interrupted drill runs: %w", err)
	} else if n > 0 {
		s.log.Warn("drill runs interrupted by a stop of Upkeep recorded; the next run of each wipes its target and starts over", "runs", n)
	}
	last, lastRun, err := s.store.LastDrillRuns(ctx)
	if err != nil {
		return err
	}
	type catchUp struct {
		name string
		slot time.Time
	}
	var due []catchUp
	var misses []*upkeep.DrillRun
	s.mu.Lock()
	s.runCtx = ctx
	for name, sd := range s.drills {
		if r, ok := last[name]; ok {
			rr := r
			sd.lastRun = &rr
		}
		r, ok := lastRun[name]
		if !ok || sd.sched == nil {
			continue // never ran: nothing can have been missed before this process watched it
		}
		sd.lastStart = slotOrStart(r)
		if m, ok := last[name]; ok && m.Status == upkeep.DrillMissed && m.Scheduled.After(sd.lastStart) {
			continue // the miss was recorded by an earlier start already; the evaluator reports it
		}
		first := sd.sched.Next(sd.lastStart)
		if first.IsZero() || first.After(now) {
			continue
		}
		missed, newest := 0, first
		for t := first; !t.IsZero() && !t.After(now) && missed < 100000; t = sd.sched.Next(t) {
			missed, newest = missed+1, t
		}
		why := "missed: Upkeep was not running at the scheduled time"
		if missed > 1 {
			why = fmt.Sprintf("missed: Upkeep was not running: %d scheduled drills missed, from %s to %s", missed,
				first.In(sd.loc).Format("2006-01-02 15:04 MST"), newest.In(sd.loc).Format("2006-01-02 15:04 MST"))
		}
		if sd.pol.CatchUpEnabled() {
			why += "; caught up at startup"
			due = append(due, catchUp{name, newest})
		} else {
			sd.since = sd.lastStart // the monitor reports the first missed slot once its grace has passed
		}
		miss := &upkeep.DrillRun{Drill: name, Backup: sd.pol.Backup, Status: upkeep.DrillMissed, Trigger: upkeep.TriggerSchedule,
			Scheduled: first, Started: first, Finished: now, Reason: why, MaxRTO: sd.pol.MaxRTO.Duration, MaxRPO: sd.pol.MaxRPO.Duration}
		misses = append(misses, miss)
		sd.lastRun = miss
		s.log.Warn("a scheduled drill was missed while Upkeep was not running", "drill", name, "slot", first, "missed", missed, "catch_up", sd.pol.CatchUpEnabled())
	}
	s.mu.Unlock()
	for _, m := range misses {
		if err := s.store.RecordMissedDrill(ctx, m); err != nil {
			return err
		}
	}
	for _, c := range due {
		s.startScheduled(ctx, c.name, upkeep.TriggerCatchUp, c.slot)
	}
	return nil
}

// slotOrStart is the slot of a scheduled run, else its start.
func slotOrStart(r upkeep.DrillRun) time.Time {
	if !r.Scheduled.IsZero() {
		return r.Scheduled
	}
	return r.Started
}

// Run schedules the drills until ctx ends, then waits for the runs in progress to stop (they
// are cancelled with ctx and recorded as interrupted).
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

// dispatch starts the drills that are due and returns how long to wait for the next one.
func (s *Service) dispatch(ctx context.Context) time.Duration {
	now := s.clock.Now()
	type start struct {
		name string
		slot time.Time
	}
	var starts []start
	wait := time.Hour
	s.mu.Lock()
	for name, sd := range s.drills {
		if sd.sched == nil {
			continue
		}
		if sd.next.IsZero() {
			// Slots before now are catch-up's business (startup), not the scheduler's.
			sd.next = sd.sched.Next(now)
		}
		if sd.next.IsZero() {
			continue
		}
		if !sd.next.After(now) {
			starts = append(starts, start{name, sd.next})
			sd.next = sd.sched.Next(sd.next)
		}
		wait = min(wait, sd.next.Sub(now))
	}
	s.mu.Unlock()
	for _, st := range starts {
		s.startScheduled(ctx, st.name, upkeep.TriggerSchedule, st.slot)
	}
	return max(wait, 0)
}

// startScheduled starts a scheduled or catch-up run. A drill still running its previous run
// skips the slot, which is recorded as missed.
func (s *Service) startScheduled(ctx context.Context, name string, trigger upkeep.BackupTrigger, slot time.Time) {
	_, err := s.start(ctx, name, "", trigger, slot)
	if !errors.Is(err, ErrRunning) {
		if err != nil {
			s.log.Error("a scheduled drill could not start", "drill", name, "slot", slot, "err", err)
		}
		return
	}
	s.mu.Lock()
	sd := s.drills[name]
	var miss *upkeep.DrillRun
	if sd != nil {
		miss = &upkeep.DrillRun{Drill: name, Backup: sd.pol.Backup, Status: upkeep.DrillMissed, Trigger: upkeep.TriggerSchedule,
			Scheduled: slot, Started: slot, Finished: s.clock.Now(), MaxRTO: sd.pol.MaxRTO.Duration, MaxRPO: sd.pol.MaxRPO.Duration,
			Reason: fmt.Sprintf("missed: run %d of the drill was still going at the scheduled time", sd.running)}
		sd.lastRun = miss
	}
	s.mu.Unlock()
	s.log.Warn("a scheduled drill is skipped: its previous run is still going", "drill", name, "slot", slot)
	if miss != nil {
		if err := s.store.RecordMissedDrill(ctx, miss); err != nil {
			s.log.Error("recording a skipped drill failed", "drill", name, "err", err)
		}
	}
}

// Start starts a run of drill name in the background (the API; trigger manual) and returns its
// id once the run is recorded. destination, when set, must be one of the backup's. It returns
// ErrRunning when the drill is running, ErrUnknownDrill for a drill the policy does not have,
// ErrUnknownDestination, and an error before Prepare. The run lives as long as Prepare's
// context, not ctx.
func (s *Service) Start(ctx context.Context, name, destination string) (int64, error) {
	return s.start(ctx, name, destination, upkeep.TriggerManual, time.Time{})
}

func (s *Service) start(ctx context.Context, name, destination string, trigger upkeep.BackupTrigger, slot time.Time) (int64, error) {
	s.mu.Lock()
	base, sd, runner := s.runCtx, s.drills[name], s.runner
	var pol policy.Drill
	switch {
	case base == nil:
		s.mu.Unlock()
		return 0, errors.New("drills are not running yet")
	case sd == nil:
		s.mu.Unlock()
		return 0, fmt.Errorf("drill %q: %w", name, ErrUnknownDrill)
	case sd.running != 0:
		s.mu.Unlock()
		return 0, fmt.Errorf("drill %q: %w", name, ErrRunning)
	}
	pol = sd.pol
	sd.running = -1 // reserved until the run is recorded
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		sd.running = 0
		s.mu.Unlock()
	}
	if destination != "" {
		job, err := runner.Backups.Job(pol.Backup)
		if err != nil {
			release()
			return 0, fmt.Errorf("drill %q: %w", name, err)
		}
		if !slices.Contains(job.Destinations, destination) {
			release()
			return 0, fmt.Errorf("drill %q: destination %q: %w", name, destination, ErrUnknownDestination)
		}
	}
	run, job, err := runner.begin(ctx, &pol, destination, trigger, slot)
	if err != nil {
		release()
		return 0, err
	}
	s.mu.Lock()
	sd.running = run.ID
	sd.lastStart = slotOrStart(*run)
	s.mu.Unlock()
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		err := runner.complete(base, &pol, job, run)
		var failure *Failure
		if err != nil && !errors.As(err, &failure) {
			s.log.Error("recording a drill run failed", "drill", name, "run", run.ID, "err", err)
		}
		s.mu.Lock()
		sd.running = 0
		ended := *run
		sd.lastRun = &ended
		s.mu.Unlock()
		s.report(run)
	}()
	return run.ID, nil
}

// report hands the outcome of an ended run to monitoring: passed is up, failed is down with the
// drill's reason. An interrupted run (Upkeep stopping) says nothing about the backup.
func (s *Service) report(run *upkeep.DrillRun) {
	if s.ingest == nil || run.Status == upkeep.DrillInterrupted {
		return
	}
	res := upkeep.Result{Monitor: run.Drill, Location: upkeep.LocalLocation, Time: run.Finished.UTC().Truncate(time.Millisecond),
		Latency: run.Finished.Sub(run.Started), Outcome: upkeep.StateUp}
	if run.Status != upkeep.DrillPassed {
		res.Outcome, res.Error = upkeep.StateDown, "drill failed: "+run.Reason
	}
	s.ingest.Ingest(res)
}

// Status is a drill as the API lists it.
type Status struct {
	Name    string
	Next    time.Time        // the next scheduled run; zero when not scheduled
	Running int64            // the id of the run in progress; 0 when none
	LastRun *upkeep.DrillRun // the newest ended run (missed slots included); nil when none
}

// Drills returns the drills of the policy in force, sorted by name.
func (s *Service) Drills() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.drills))
	for name, sd := range s.drills {
		st := Status{Name: name, Next: sd.next, Running: max(sd.running, 0)}
		if sd.lastRun != nil {
			r := *sd.lastRun
			st.LastRun = &r
		}
		out = append(out, st)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Has reports whether the policy in force has a drill named name.
func (s *Service) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drills[name] != nil
}

// Evaluator returns what the engine asks whether drill monitor m's next scheduled run is
// overdue.
func (s *Service) Evaluator(m policy.Monitor) (*Evaluator, error) {
	if m.Drill == nil {
		return nil, fmt.Errorf("monitor %q is not a drill", m.Name)
	}
	return &Evaluator{s: s, name: m.Drill.Drill}, nil
}

// Evaluator reports a scheduled drill that has not started within grace of its slot.
type Evaluator struct {
	s    *Service
	name string
}

// Evaluate returns a down result when the run due after the drill's newest run (or after the
// moment this process started watching it) has not started within grace. It reports each
// missed slot once; the result is dated at the deadline.
func (e *Evaluator) Evaluate(now time.Time) (upkeep.Result, bool) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	sd := e.s.drills[e.name]
	if sd == nil || sd.sched == nil || sd.running != 0 {
		return upkeep.Result{}, false
	}
	grace := sd.pol.Grace.Duration
	if grace <= 0 {
		grace = DefaultGrace
	}
	deadline, msg, ok := sd.overdue.Check(sd.sched, sd.lastStart, sd.since, now, grace, policy.Duration{Duration: grace}.String(), "drill", sd.loc)
	if !ok {
		return upkeep.Result{}, false
	}
	return upkeep.Result{Monitor: e.name, Location: upkeep.LocalLocation, Time: deadline.UTC().Truncate(time.Millisecond),
		Outcome: upkeep.StateDown, Error: msg}, true
}

// DefaultGrace is how late a scheduled drill may start when the policy does not say.
const DefaultGrace = time.Hour
