package drill

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/internal/fakeclock"
	"github.com/upkeep-dev/upkeep/policy"
)

// results collects what the service hands to monitoring.
type results struct {
	mu  sync.Mutex
	got []upkeep.Result
	c   chan upkeep.Result
}

func newResults() *results { return &results{c: make(chan upkeep.Result, 100)} }

func (r *results) Ingest(res upkeep.Result) {
	r.mu.Lock()
	r.got = append(r.got, res)
	r.mu.Unlock()
	r.c <- res
}

// serviceFixture is a files backup on one directory destination, a drill of it restoring into
// a directory with a check that passes while dir/ok exists and waits while dir/hold exists, and
// a service on a fake clock standing at 06:00 UTC tomorrow (after the snapshot, which is real).
type serviceFixture struct {
	*fixture
	dir     string
	clock   *fakeclock.Clock
	results *results
	svc     *Service
	pol     *policy.Policy
}

func newServiceFixture(t *testing.T, schedule string) *serviceFixture {
	t.Helper()
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	dir := t.TempDir()
	d := filesDrill(filepath.Join(dir, "restored"), policy.VerifyStep{Command: "while test -e " + dir + "/hold; do sleep 0.05; done; test -e " + dir + "/ok"})
	d.Name, d.Schedule, d.TZ, d.Grace = "proof", schedule, "UTC", policy.Duration{Duration: time.Hour}
	sf := &serviceFixture{fixture: f, dir: dir, clock: fakeclock.New(time.Now().UTC().Truncate(24 * time.Hour).Add(30 * time.Hour)),
		results: newResults(), pol: &policy.Policy{Drills: []policy.Drill{*d}}}
	sf.svc = sf.newService()
	writeFile(t, filepath.Join(dir, "ok"), "")
	return sf
}

func (sf *serviceFixture) newService() *Service {
	svc := NewService(ServiceConfig{Store: sf.store, Backups: func(*policy.Policy) Backups { return sf.runner.Backups },
		WorkDir: sf.t.TempDir(), Ingest: sf.results, Clock: sf.clock})
	if err := svc.Apply(sf.t.Context(), sf.pol); err != nil {
		sf.t.Fatal(err)
	}
	return svc
}

// run starts the service's scheduler until the test ends and waits until its timer is armed.
func (sf *serviceFixture) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sf.svc.Run(ctx); err != nil {
			sf.t.Error(err)
		}
	}()
	sf.t.Cleanup(func() { cancel(); <-done })
	sf.clock.BlockUntil(1)
}

func (sf *serviceFixture) runs() []upkeep.DrillRun {
	sf.t.Helper()
	runs, err := sf.store.DrillRuns(sf.t.Context(), "proof", 0)
	if err != nil {
		sf.t.Fatal(err)
	}
	return runs
}

func (sf *serviceFixture) monitor() *Evaluator {
	sf.t.Helper()
	e, err := sf.svc.Evaluator(policy.Monitor{Name: "proof", Drill: &policy.DrillMonitor{Drill: "proof"}})
	if err != nil {
		sf.t.Fatal(err)
	}
	return e
}

// TestServiceSchedule: the drill runs at its slot (trigger schedule) and its monitor goes up;
// a missed slot makes it down once grace has passed, reported once; a failed run is down with
// the drill's reason, the next passing run up again.
func TestServiceSchedule(t *testing.T) {
	sf := newServiceFixture(t, "0 7 * * *")
	start := sf.clock.Now()
	if err := sf.svc.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	sf.run()
	if st := sf.svc.Drills(); len(st) != 1 || !st[0].Next.Equal(start.Add(time.Hour)) {
		t.Fatalf("next run: %+v", st)
	}
	mon := sf.monitor()
	if _, down := mon.Evaluate(start.Add(2*time.Hour + time.Second)); !down {
		t.Fatal("no run by 07:00 + grace: not reported as missed")
	}
	if res, again := mon.Evaluate(start.Add(3 * time.Hour)); again {
		t.Errorf("the same missed slot reported twice: %+v", res)
	}

	sf.clock.Advance(time.Hour) // 07:00: the slot
	res := <-sf.results.c
	if res.Monitor != "proof" || res.Outcome != upkeep.StateUp || res.Error != "" {
		t.Fatalf("scheduled run: %+v", res)
	}
	runs := sf.runs()
	if len(runs) != 1 || runs[0].Status != upkeep.DrillPassed || runs[0].Trigger != upkeep.TriggerSchedule || !runs[0].Scheduled.Equal(start.Add(time.Hour)) {
		t.Fatalf("runs: %+v", runs)
	}
	if res, down := mon.Evaluate(start.Add(25 * time.Hour)); down {
		t.Errorf("tomorrow's slot is not missed before its grace: %+v", res)
	}
	// Tomorrow's slot passes while the scheduler is not asked (Upkeep frozen): down after grace.
	res, down := mon.Evaluate(start.Add(26*time.Hour + time.Second))
	if !down || res.Outcome != upkeep.StateDown || !strings.Contains(res.Error, "missed: the drill scheduled at ") ||
		!strings.Contains(res.Error, "07:00 UTC had not started by ") || !strings.Contains(res.Error, "(grace 1h)") {
		t.Errorf("missed slot: %v %+v", down, res)
	}

	// A failing drill started through the API: down, with the drill's reason.
	if err := os.Remove(filepath.Join(sf.dir, "ok")); err != nil {
		t.Fatal(err)
	}
	id, err := sf.svc.Start(t.Context(), "proof", "")
	if err != nil || id == 0 {
		t.Fatalf("start: %d %v", id, err)
	}
	res = <-sf.results.c
	if res.Outcome != upkeep.StateDown || !strings.HasPrefix(res.Error, "drill failed: verify: command check: ") {
		t.Errorf("failed run: %+v", res)
	}
	if r := sf.runs()[0]; r.ID != id || r.Status != upkeep.DrillFailed || r.Trigger != upkeep.TriggerManual || "drill failed: "+r.Reason != res.Error {
		t.Errorf("failed run recorded: %+v", r)
	}
	writeFile(t, filepath.Join(sf.dir, "ok"), "")
	if _, err := sf.svc.Start(t.Context(), "proof", "onsite"); err != nil {
		t.Fatal(err)
	}
	if res = <-sf.results.c; res.Outcome != upkeep.StateUp {
		t.Errorf("passing again: %+v", res)
	}
	if _, err := sf.svc.Start(t.Context(), "proof", "elsewhere"); !errors.Is(err, ErrUnknownDestination) {
		t.Errorf("unknown destination: %v", err)
	}
	if _, err := sf.svc.Start(t.Context(), "nope", ""); !errors.Is(err, ErrUnknownDrill) {
		t.Errorf("unknown drill: %v", err)
	}
}

// TestServiceOneRunAtATime: while a run goes on, another start is refused (ErrRunning) and a
// slot that comes is skipped and recorded as missed; a reload keeps the running run.
func TestServiceOneRunAtATime(t *testing.T) {
	sf := newServiceFixture(t, "0 7 * * *")
	start := sf.clock.Now()
	writeFile(t, filepath.Join(sf.dir, "hold"), "")
	if err := sf.svc.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	sf.run()
	id, err := sf.svc.Start(t.Context(), "proof", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.svc.Start(t.Context(), "proof", ""); !errors.Is(err, ErrRunning) {
		t.Fatalf("second start while running: %v", err)
	}
	// A reload (the schedule changes) while the drill runs.
	sf.pol.Drills[0].Schedule = "30 7 * * *"
	if err := sf.svc.Apply(t.Context(), sf.pol); err != nil {
		t.Fatal(err)
	}
	if st := sf.svc.Drills(); len(st) != 1 || st[0].Running != id {
		t.Fatalf("after the reload: %+v", st)
	}
	for st := sf.svc.Drills(); !st[0].Next.Equal(start.Add(90 * time.Minute)); st = sf.svc.Drills() {
		time.Sleep(10 * time.Millisecond) // until the scheduler has taken the new schedule
	}
	// 07:30, the new slot, while the run goes on. The scheduler may arm its timer for the new
	// slot only after the clock has moved (it computes the wait before arming it), so the clock
	// goes on a minute at a time until the slot is taken.
	sf.clock.Advance(89 * time.Minute)
	var runs []upkeep.DrillRun
	for {
		if runs = sf.runs(); len(runs) == 2 {
			break
		}
		sf.clock.Advance(time.Minute)
		time.Sleep(10 * time.Millisecond)
	}
	if m := runs[0]; m.Status != upkeep.DrillMissed || !m.Scheduled.Equal(start.Add(90*time.Minute)) ||
		!strings.Contains(m.Reason, "still going") || runs[1].ID != id || runs[1].Status != upkeep.DrillRunning {
		t.Fatalf("the skipped slot: %+v", runs)
	}
	if err := os.Remove(filepath.Join(sf.dir, "hold")); err != nil {
		t.Fatal(err)
	}
	if res := <-sf.results.c; res.Outcome != upkeep.StateUp {
		t.Errorf("the run that went on: %+v", res)
	}
	if r := sf.runs()[1]; r.ID != id || r.Status != upkeep.DrillPassed {
		t.Errorf("the run after the reload: %+v", r)
	}
}

// TestServiceStartup: at startup a run left running by a crash is interrupted, and slots missed
// while Upkeep was down are recorded as one missed run and caught up (trigger catch_up); with
// catch_up: false they are only recorded, and the monitor goes down after grace.
func TestServiceStartup(t *testing.T) {
	for _, catchUp := range []bool{true, false} {
		t.Run(map[bool]string{true: "catch_up", false: "no catch_up"}[catchUp], func(t *testing.T) {
			sf := newServiceFixture(t, "0 7 * * *")
			sf.pol.Drills[0].CatchUp = &catchUp
			now := sf.clock.Now() // day 3, 06:00
			ctx := t.Context()
			day1 := now.Add(-47 * time.Hour) // day 1, 07:00
			done := upkeep.DrillRun{Drill: "proof", Backup: "files-job", Destination: "onsite", Trigger: upkeep.TriggerSchedule, Scheduled: day1, Started: day1}
			if err := sf.store.StartDrillRun(ctx, &done); err != nil {
				t.Fatal(err)
			}
			done.Status, done.Finished = upkeep.DrillPassed, day1.Add(time.Minute)
			if err := sf.store.FinishDrillRun(ctx, &done); err != nil {
				t.Fatal(err)
			}
			crashed := upkeep.DrillRun{Drill: "proof", Backup: "files-job", Destination: "onsite", Trigger: upkeep.TriggerManual, Started: day1.Add(time.Hour)}
			if err := sf.store.StartDrillRun(ctx, &crashed); err != nil {
				t.Fatal(err)
			}
			sf.clock.Advance(3 * time.Hour) // day 3, 09:00: day 2 and day 3 at 07:00 were missed
			sf.svc = sf.newService()
			if err := sf.svc.Prepare(ctx); err != nil {
				t.Fatal(err)
			}
			if catchUp {
				if res := <-sf.results.c; res.Outcome != upkeep.StateUp {
					t.Errorf("catch-up run: %+v", res)
				}
			}
			runs := sf.runs()
			want := 3
			if catchUp {
				want = 4
			}
			if len(runs) != want {
				t.Fatalf("runs: %+v", runs)
			}
			if c := runs[want-2]; c.ID != crashed.ID || c.Status != upkeep.DrillInterrupted || c.Finished.IsZero() {
				t.Errorf("crashed run: %+v", c)
			}
			m := runs[want-3]
			if m.Status != upkeep.DrillMissed || !m.Scheduled.Equal(day1.Add(24*time.Hour)) ||
				!strings.Contains(m.Reason, "2 scheduled drills missed") || strings.Contains(m.Reason, "caught up") == !catchUp {
				t.Errorf("missed: %+v", m)
			}
			if catchUp {
				if c := runs[0]; c.Trigger != upkeep.TriggerCatchUp || c.Status != upkeep.DrillPassed || !c.Scheduled.Equal(day1.Add(48*time.Hour)) {
					t.Errorf("catch-up: %+v", c)
				}
				return
			}
			// Without catch-up the monitor reports the slot after the last run, once grace has passed.
			if res, down := sf.monitor().Evaluate(sf.clock.Now()); !down || !strings.Contains(res.Error, "missed") {
				t.Errorf("monitor after missed slots: %v %+v", down, res)
			}
		})
	}
}
