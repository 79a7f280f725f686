package engine

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func openStore(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := sqlite.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

// script is a Factory whose checkers return outcomes set by the test, and can be made to block.
type script struct {
	mu       sync.Mutex
	outcome  map[string]upkeep.State
	block    map[string]chan struct{} // checks of these monitors wait for the channel to close
	started  chan string              // receives each check's monitor as it starts, if not nil
	inFlight int
	maxIn    int
}

func newScript() *script {
	return &script{outcome: map[string]upkeep.State{}, block: map[string]chan struct{}{}}
}

func (s *script) set(name string, o upkeep.State) {
	s.mu.Lock()
	s.outcome[name] = o
	s.mu.Unlock()
}

func (s *script) Checker(m policy.Monitor) (Checker, error)     { return scriptChecker{s, m.Name}, nil }
func (s *script) Evaluator(m policy.Monitor) (Evaluator, error) { return nil, nil }

type scriptChecker struct {
	s    *script
	name string
}

func (c scriptChecker) Check(ctx context.Context) upkeep.Result {
	s := c.s
	s.mu.Lock()
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	o := s.outcome[c.name]
	block := s.block[c.name]
	s.mu.Unlock()
	if s.started != nil {
		s.started <- c.name
	}
	if block != nil {
		<-block
	}
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	if o == "" {
		o = upkeep.StateUp
	}
	r := upkeep.Result{Outcome: o, Latency: time.Millisecond}
	if o == upkeep.StateDown {
		r.Error, r.Code = "unexpected status", 503
	}
	return r
}

func mon(name string, every time.Duration) policy.Monitor {
	return policy.Monitor{Name: name, Every: policy.Duration{Duration: every}, Timeout: policy.Duration{Duration: every / 2}, HTTP: &policy.HTTPCheck{}}
}

func pol(ms ...policy.Monitor) *policy.Policy { return &policy.Policy{Monitors: ms} }

type harness struct {
	t     *testing.T
	e     *Engine
	clock *fakeClock
	db    *sqlite.DB
	stop  context.CancelFunc
	done  chan error
}

// start runs an engine on db with a fake clock at at.
func start(t *testing.T, db *sqlite.DB, f Factory, at time.Time, p *policy.Policy, cfg Config) *harness {
	t.Helper()
	clock := newFakeClock(at)
	cfg.Store, cfg.Factory, cfg.Clock = db, f, clock
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := New(cfg)
	if err := e.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, e: e, clock: clock, db: db, stop: cancel, done: make(chan error, 1)}
	go func() { h.done <- e.Run(ctx) }()
	clock.BlockUntil(idleTimers) // started
	t.Cleanup(func() { h.shutdown() })
	return h
}

func (h *harness) shutdown() error {
	if h.stop == nil {
		return nil
	}
	h.stop()
	h.stop = nil
	return <-h.done
}

// step advances the clock by d and waits until the engine is idle again.
// idleTimers is how many timers a running engine has armed while idle: scheduler, flusher,
// keep-alive, evaluator, housekeeping.
const idleTimers = 5

func (h *harness) step(d time.Duration) {
	h.clock.Advance(d)
	h.clock.BlockUntil(idleTimers)
}

func (h *harness) sync() { h.e.sync(h.t.Context()) }

// phase returns the phase of a monitor the engine knows.
func (h *harness) phase(name string) (time.Duration, bool) {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	m, ok := h.e.monitors[name]
	if !ok {
		return 0, false
	}
	return m.phase, true
}

func (h *harness) state(name string) MonitorStatus {
	for _, s := range h.e.Monitors() {
		if s.Name == name {
			return s
		}
	}
	h.t.Fatalf("monitor %s not found", name)
	return MonitorStatus{}
}

// TestSchedulerNoDrift runs monitors for many intervals on a fake clock and checks that each ran
// in every one of its slots, exactly once, at the slot, and that all started within one interval.
func TestSchedulerNoDrift(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	type startRec struct {
		name        string
		slot, began time.Time
	}
	var mu sync.Mutex
	var starts []startRec
	cfg := Config{OnCheckStart: func(name string, slot, began time.Time) {
		mu.Lock()
		starts = append(starts, startRec{name, slot, began})
		mu.Unlock()
	}}
	var ms []policy.Monitor
	for i := range 20 {
		ms = append(ms, mon("m"+strconv.Itoa(i), time.Duration(5+i%3*5)*time.Second)) // 5s, 10s, 15s
	}
	s.started = make(chan string, 1000)
	h := start(t, db, s, t0, pol(ms...), cfg)
	const stepSize = 250 * time.Millisecond
	end := t0.Add(10 * time.Minute)
	expected := 0
	for now := t0; now.Before(end); {
		now = now.Add(stepSize)
		due := 0
		for _, m := range ms {
			ph := phaseOf(m.Name, m.Every.Duration)
			for sl := nextSlot(ph, m.Every.Duration, now.Add(-stepSize)); !sl.After(now); sl = sl.Add(m.Every.Duration) {
				due++
			}
		}
		h.step(stepSize)
		for range due {
			<-s.started // the check of every due slot has started before the clock moves on
		}
		expected += due
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != expected {
		t.Fatalf("%d checks started, want %d", len(starts), expected)
	}
	last := map[string]time.Time{}
	for _, st := range starts {
		every := time.Duration(0)
		for _, m := range ms {
			if m.Name == st.name {
				every = m.Every.Duration
			}
		}
		if (st.slot.UnixNano()-int64(phaseOf(st.name, every)))%int64(every) != 0 {
			t.Errorf("%s: slot %s is off its phase", st.name, st.slot)
		}
		if lag := st.began.Sub(st.slot); lag < 0 || lag >= stepSize {
			t.Errorf("%s: started %s after its slot, want within one clock step", st.name, lag)
		}
		if prev, ok := last[st.name]; ok {
			if st.slot.Sub(prev) != every {
				t.Errorf("%s: slot %s follows %s: drift or a missed slot", st.name, st.slot, prev)
			}
		} else if st.slot.Sub(t0) > every {
			t.Errorf("%s: first run at %s, more than one interval (%s) after start", st.name, st.slot.Sub(t0), every)
		}
		last[st.name] = st.slot
	}
	if len(last) != len(ms) {
		t.Errorf("%d of %d monitors ran", len(last), len(ms))
	}
}

func TestOverrunSkipsSlots(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	release := make(chan struct{})
	s.block["slow"] = release
	s.started = make(chan string, 10)
	h := start(t, db, s, t0, pol(mon("slow", 10*time.Second)), Config{})
	h.step(10 * time.Second)
	<-s.started
	h.step(10 * time.Second) // next slot: the first check still runs
	h.step(10 * time.Second)
	if got := counterValue(h.e.metrics.skipped.WithLabelValues("overrun")); got != 2 {
		t.Errorf("skipped slots %v, want 2", got)
	}
	select {
	case <-s.started:
		t.Fatal("a second check started while the first was running")
	default:
	}
	close(release)
	// The released check ends on its own goroutine; until it has, the next slot would be
	// skipped as an overrun too, and the clock would not move again to run the one after.
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.e.mu.Lock()
		running := h.e.monitors["slow"].running.Load()
		h.e.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the released check did not end")
		}
		time.Sleep(time.Millisecond)
	}
	h.sync()
	// the next slot after the check ended runs again
	h.step(10 * time.Second)
	<-s.started
}

func TestConcurrencyBound(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	release := make(chan struct{})
	var ms []policy.Monitor
	for i := range 6 {
		name := "m" + strconv.Itoa(i)
		s.block[name] = release
		ms = append(ms, mon(name, 10*time.Second))
	}
	s.started = make(chan string, 10)
	h := start(t, db, s, t0, pol(ms...), Config{Concurrency: 2})
	h.clock.Advance(10 * time.Second) // every monitor is due; the scheduler waits for a worker
	<-s.started
	<-s.started
	s.mu.Lock()
	if s.inFlight != 2 {
		t.Errorf("%d checks in flight, want 2", s.inFlight)
	}
	s.mu.Unlock()
	close(release)
	for range 4 {
		<-s.started
	}
	h.clock.BlockUntil(idleTimers)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxIn > 2 {
		t.Errorf("%d checks ran at once, cap 2", s.maxIn)
	}
}

// runTo advances the clock to at in steps of d, letting every due check finish.
func (h *harness) runTo(at time.Time, d time.Duration) {
	for h.clock.Now().Before(at) {
		h.step(min(d, at.Sub(h.clock.Now())))
		h.sync()
	}
}

func TestStateTransitionsStoredInOrder(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	m := mon("api", 10*time.Second)
	m.DownAfter = policy.Confirmation{Count: 3}
	h := start(t, db, s, t0, pol(m), Config{})
	sub, cancel := h.e.Subscribe(0)
	defer cancel()
	h.runTo(t0.Add(30*time.Second), time.Second)
	if st := h.state("api"); st.State != upkeep.StateUp {
		t.Fatalf("state %s, want up", st.State)
	}
	s.set("api", upkeep.StateDown)
	h.runTo(t0.Add(90*time.Second), time.Second)
	st := h.state("api")
	if st.State != upkeep.StateDown {
		t.Fatalf("state %s after 6 failures, want down", st.State)
	}
	ts, err := db.Transitions(t.Context(), "api", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].To != upkeep.StateUp || ts[1].To != upkeep.StateDown {
		t.Fatalf("transitions %+v", ts)
	}
	if ts[1].Cause != "unexpected status (code 503, latency 1ms)" {
		t.Errorf("cause %q", ts[1].Cause)
	}
	// dated at the first failure, which is the first result after the switch
	rs, _ := db.Results(t.Context(), "api", time.Time{}, time.Time{}, 100)
	var firstDown time.Time
	for _, r := range rs {
		if r.Outcome == upkeep.StateDown {
			firstDown = r.Time
		}
	}
	if !ts[1].At.Equal(firstDown) || !st.Since.Equal(firstDown) {
		t.Errorf("down since %s (stored %s), want the first failure %s", st.Since, ts[1].At, firstDown)
	}
	for i, want := range []upkeep.State{upkeep.StateUp, upkeep.StateDown} {
		if got := <-sub; got.To != want {
			t.Errorf("subscriber transition %d to %s, want %s", i, got.To, want)
		}
	}
}

func TestReloadKeepsHistoryAndPhase(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	h := start(t, db, s, t0, pol(mon("a", 10*time.Second), mon("b", 10*time.Second)), Config{})
	h.runTo(t0.Add(30*time.Second), time.Second)
	s.set("b", upkeep.StateDown)
	h.runTo(t0.Add(45*time.Second), time.Second)
	if h.state("b").State != upkeep.StateDown {
		t.Fatal("b not down")
	}
	bSince := h.state("b").Since

	// a removed, b's interval changed, c added, then a back again
	b := mon("b", 20*time.Second)
	if err := h.e.Apply(t.Context(), pol(b, mon("c", 10*time.Second))); err != nil {
		t.Fatal(err)
	}
	phase, ok := h.phase("b")
	if !ok || phase != phaseOf("b", 20*time.Second) || h.state("b").State != upkeep.StateDown || !h.state("b").Since.Equal(bSince) {
		t.Errorf("b after reload: phase %s state %+v", phase, h.state("b"))
	}
	if _, ok := h.phase("a"); ok {
		t.Error("a still known after removal")
	}
	h.runTo(t0.Add(75*time.Second), time.Second)
	names := map[string]bool{}
	for _, st := range h.e.Monitors() {
		names[st.Name] = true
	}
	if names["a"] || !names["b"] || !names["c"] {
		t.Errorf("monitors after reload: %v", names)
	}
	ts, _ := db.Transitions(t.Context(), "a", time.Time{}, time.Time{})
	if n := len(ts); n != 2 || ts[1].To != upkeep.StateUnknown || ts[1].Cause != "monitor removed" {
		t.Errorf("a's transitions %+v", ts)
	}
	before, _ := db.Results(t.Context(), "a", time.Time{}, time.Time{}, 100)
	if len(before) == 0 {
		t.Fatal("a's results are gone")
	}
	if err := h.e.Apply(t.Context(), pol(b, mon("c", 10*time.Second), mon("a", 10*time.Second))); err != nil {
		t.Fatal(err)
	}
	h.runTo(t0.Add(95*time.Second), time.Second)
	after, _ := db.Results(t.Context(), "a", time.Time{}, time.Time{}, 100)
	if len(after) <= len(before) || h.state("a").State != upkeep.StateUp {
		t.Errorf("a back: %d results (had %d), state %s", len(after), len(before), h.state("a").State)
	}

	// paused
	pb := b
	pb.Paused = true
	if err := h.e.Apply(t.Context(), pol(pb, mon("c", 10*time.Second), mon("a", 10*time.Second))); err != nil {
		t.Fatal(err)
	}
	if st := h.state("b"); st.State != upkeep.StatePaused {
		t.Errorf("b %s, want paused", st.State)
	}
	n, _ := db.Results(t.Context(), "b", time.Time{}, time.Time{}, 1000)
	h.runTo(t0.Add(150*time.Second), time.Second)
	m, _ := db.Results(t.Context(), "b", time.Time{}, time.Time{}, 1000)
	if len(m) != len(n) {
		t.Errorf("paused b ran %d checks", len(m)-len(n))
	}
}

func TestDuplicateResultsIgnored(t *testing.T) {
	db, _ := openStore(t)
	h := start(t, db, newScript(), t0, pol(mon("hb", 10*time.Second)), Config{})
	r := upkeep.Result{Monitor: "hb", Time: t0.Add(time.Second), Outcome: upkeep.StateUp}
	h.e.Ingest(r)
	h.e.Ingest(r)
	r.Location = "eu-west"
	h.e.Ingest(r)
	h.e.Ingest(upkeep.Result{Monitor: "nope", Time: t0, Outcome: upkeep.StateUp})
	h.sync()
	rs, err := db.Results(t.Context(), "hb", time.Time{}, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results stored, want 2 (one per location): %+v", len(rs), rs)
	}
	if got := counterValue(h.e.metrics.dropped.WithLabelValues("unknown_monitor")); got != 1 {
		t.Errorf("dropped unknown %v", got)
	}
}

// TestUptimeAcrossRestart runs an engine, lets a monitor go down, stops the engine (cleanly),
// starts another on the same store an hour later, and also simulates a crash (a session that
// never ended): the outage stays open across the restart and the gaps are no data.
func TestUptimeAcrossRestart(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	m := mon("api", 10*time.Second)
	h := start(t, db, s, t0, pol(m), Config{})
	h.runTo(t0.Add(10*time.Minute), 5*time.Second)
	s.set("api", upkeep.StateDown)
	h.runTo(t0.Add(20*time.Minute), 5*time.Second)
	downSince := h.state("api").Since
	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	stopped := t0.Add(20 * time.Minute)

	// A crashed session from 40 to 45 minutes: it never ended, its last sign of life at 45.
	id, err := db.StartSession(t.Context(), t0.Add(40*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(t.Context(), id, t0.Add(45*time.Minute)); err != nil {
		t.Fatal(err)
	}

	restart := t0.Add(80 * time.Minute)
	h2 := start(t, db, s, restart, pol(m), Config{})
	if st := h2.state("api"); st.State != upkeep.StateDown || !st.Since.Equal(downSince) {
		t.Fatalf("after restart %s since %s, want down since %s", st.State, st.Since, downSince)
	}
	h2.runTo(restart.Add(10*time.Minute), 5*time.Second)
	s.set("api", upkeep.StateUp)
	h2.runTo(restart.Add(20*time.Minute), 5*time.Second)
	upAgain := h2.state("api").Since

	u, err := h2.e.Uptime(t.Context(), "api", t0, restart.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	firstUp := mustFirst(t, h2, "api")
	wantUp := downSince.Sub(firstUp) + restart.Add(20*time.Minute).Sub(upAgain)
	wantDown := stopped.Sub(downSince) + 5*time.Minute + upAgain.Sub(restart)
	if u.Up != wantUp || u.Down != wantDown {
		t.Errorf("up %s down %s, want up %s down %s (no data %s)", u.Up, u.Down, wantUp, wantDown, u.NoData)
	}
	if gap := u.NoData; gap != firstUp.Sub(t0)+restart.Sub(stopped)-5*time.Minute {
		t.Errorf("no data %s, want the time before the first result plus the gaps", gap)
	}
	if u.Up+u.Degraded+u.Down+u.Paused+u.NoData != u.To.Sub(u.From) {
		t.Errorf("durations do not add up: %+v", u)
	}

	// UptimeSpans reads once and agrees with Uptime for every span, whether a span starts
	// before, on or after a transition.
	end := restart.Add(20 * time.Minute)
	var spans []upkeep.Interval
	for a := t0; a.Before(end); a = a.Add(7 * time.Minute) {
		spans = append(spans, upkeep.Interval{Start: a, End: end}, upkeep.Interval{Start: t0, End: a.Add(time.Minute)})
	}
	spans = append(spans, upkeep.Interval{Start: downSince, End: upAgain}, upkeep.Interval{Start: upAgain, End: end})
	us, err := h2.e.UptimeSpans(t.Context(), "api", spans)
	if err != nil {
		t.Fatal(err)
	}
	for i, sp := range spans {
		want, err := h2.e.Uptime(t.Context(), "api", sp.Start, sp.End)
		if err != nil {
			t.Fatal(err)
		}
		if us[i] != want {
			t.Errorf("span %s..%s: UptimeSpans %+v, Uptime %+v", sp.Start, sp.End, us[i], want)
		}
	}

	// a paused stretch
	pm := m
	pm.Paused = true
	if err := h2.e.Apply(t.Context(), pol(pm)); err != nil {
		t.Fatal(err)
	}
	pausedAt := h2.clock.Now()
	h2.runTo(pausedAt.Add(30*time.Minute), time.Minute)
	u, err = h2.e.Uptime(t.Context(), "api", pausedAt, pausedAt.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if u.Paused != 30*time.Minute {
		t.Errorf("paused %s, want 30m (%+v)", u.Paused, u)
	}
	if _, ok := u.Fraction(); ok {
		t.Error("a fully paused window has a fraction")
	}
}

func mustFirst(t *testing.T, h *harness, name string) time.Time {
	t.Helper()
	ts, err := h.db.Transitions(t.Context(), name, time.Time{}, time.Time{})
	if err != nil || len(ts) == 0 {
		t.Fatalf("transitions: %v %v", ts, err)
	}
	return ts[0].At
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
