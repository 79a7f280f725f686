package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// Checker runs one active check. It fills Outcome, Latency, Error and Code; the engine fills
// Monitor, Location ("local") and Time. It must return when ctx is done (the monitor's timeout).
type Checker interface {
	Check(ctx context.Context) upkeep.Result
}

// Evaluator is what a passive monitor (heartbeat) offers instead: called every few seconds, it
// returns a result only when there is something to report (a deadline was missed). Pings reach
// the engine through Engine.Ingest.
type Evaluator interface {
	Evaluate(now time.Time) (upkeep.Result, bool)
}

// Factory builds the checker (active monitors) or the evaluator (passive ones) of a monitor.
type Factory interface {
	Checker(m policy.Monitor) (Checker, error)
	Evaluator(m policy.Monitor) (Evaluator, error)
}

// Store is what the engine keeps its history in; *sqlite.DB implements it.
type Store interface {
	// MonitorIDs registers monitors by name (ids are the store's business).
	MonitorIDs(ctx context.Context, names []string) (map[string]int64, error)
	// RecordMonitoring stores a batch durably; a result already stored is ignored.
	RecordMonitoring(ctx context.Context, results []upkeep.Result, transitions []upkeep.Transition) error
	LastTransitions(ctx context.Context) (map[string]upkeep.Transition, error)
	Transitions(ctx context.Context, monitor string, from, to time.Time) ([]upkeep.Transition, error)
	StateAt(ctx context.Context, monitor string, t time.Time) (upkeep.State, error)
	StartSession(ctx context.Context, at time.Time) (int64, error)
	TouchSession(ctx context.Context, id int64, at time.Time) error
	EndSession(ctx context.Context, id int64, at time.Time) error
	SessionIntervals(ctx context.Context, from, to time.Time) ([]upkeep.Interval, error)
	RollUp(ctx context.Context, now time.Time) (int, error)
	PruneResults(ctx context.Context, before time.Time) (int, error)
	PruneRollups(ctx context.Context, before time.Time) (int, error)
}

// StoreStats is the store writer's work, exported as metrics when Config.StoreStats is set.
type StoreStats struct {
	Batches, Writes             uint64
	LastBatchSize, MaxBatchSize int
	QueueDepth                  int
}

// Config is what New needs. Store is required; the rest has defaults.
type Config struct {
	Store   Store
	Factory Factory      // nil: every active monitor reports that it has no checker
	Logger  *slog.Logger // nil: discard
	Clock   Clock        // nil: RealClock
	// Registerer receives the engine's metrics; nil: they are kept but not exported.
	Registerer prometheus.Registerer
	// Concurrency caps the checks running at once; 0 sizes it from the policy (see the package
	// comment).
	Concurrency int
	// StoreStats, if set, is exported as upkeep_store_* metrics (wire it to (*sqlite.DB).Stats).
	StoreStats func() StoreStats
	// OnCheckStart, if set, is called as each check starts, with its scheduled slot; for
	// benchmarks and tracing. It runs on the check's goroutine and must be quick.
	OnCheckStart func(monitor string, scheduled, started time.Time)
}

// Intervals of the engine's background work.
const (
	evaluateEvery  = 5 * time.Second // passive monitors' evaluators
	aliveEvery     = 5 * time.Second // session liveness
	flushEvery     = time.Second     // results to the store
	flushSize      = 2000            // ... or as soon as this many wait
	housekeepEvery = time.Minute     // rollups and pruning, when an hour has closed
)

// MonitorStatus is a monitor as the API shows it.
type MonitorStatus struct {
	Name    string
	Service string
	Kind    string
	State   upkeep.State
	Since   time.Time      // when the monitor entered State; zero for unknown
	Last    *upkeep.Result // the newest result; nil before the first
	// Window is the title of the maintenance window the monitor is in (State is maintenance);
	// Real is then its confirmed state underneath.
	Window string
	Real   upkeep.State
}

// monitor is the engine's record of one monitor. Fields after mu are guarded by Engine.mu.
type monitor struct {
	name    string
	running atomic.Bool // a check is queued or running: the next slot is skipped

	pol       policy.Monitor
	checker   Checker
	evaluator Evaluator
	phase     time.Duration
	next      time.Time // scheduled slot; zero when not scheduled
	index     int       // in the schedule heap; -1 when not in it

	state upkeep.State // the state shown and recorded: maintenance while a window covers it
	since time.Time
	last  *upkeep.Result
	conf  confirmer
	// real is the confirmed state underneath maintenance; equal to state outside windows.
	real upkeep.State
	// window is the title of the maintenance window covering the monitor; empty when none.
	window string
}

// Engine runs monitors: it schedules checks, turns results into states and transitions, and
// records everything in the store. See the package comment.
type Engine struct {
	store    Store
	factory  Factory
	log      *slog.Logger
	clock    Clock
	fixedCap int
	onStart  func(string, time.Time, time.Time)
	metrics  *metrics

	mu           sync.Mutex
	monitors     map[string]*monitor
	sched        schedule
	loaded       bool // last transitions read from the store
	sessionStart time.Time
	sessionEnd   time.Time
	rawKeep      time.Duration // server.history.raw
	rollupKeep   time.Duration // server.history.rollups
	// cover maps the monitors in maintenance to their window's title (SetMaintenance);
	// coverSet says whether it has been set since start: until then, monitors restored in
	// maintenance stay there.
	cover    map[string]string
	coverSet bool

	wake chan struct{} // tells the scheduler its heap changed
	pool *pool

	in        chan item // results on their way to the processor
	pmu       sync.Mutex
	pending   []upkeep.Result
	pendingTs []upkeep.Transition
	flushNow  chan struct{}
	syncReq   chan chan struct{}

	smu  sync.Mutex
	subs map[*subscription]struct{}

	running atomic.Bool
	// version counts changes of what Monitors returns (transitions, policies applied), so that
	// readers can cache what they make of it and know when that is out of date.
	version atomic.Uint64
}

// New returns an engine; call Apply with a policy and Run to start it.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	e := &Engine{
		store:    cfg.Store,
		factory:  cfg.Factory,
		log:      cfg.Logger,
		clock:    cfg.Clock,
		fixedCap: cfg.Concurrency,
		onStart:  cfg.OnCheckStart,
		monitors: map[string]*monitor{},
		wake:     make(chan struct{}, 1),
		in:       make(chan item, inCapacity),
		flushNow: make(chan struct{}, 1),
		syncReq:  make(chan chan struct{}),
		subs:     map[*subscription]struct{}{},
	}
	e.pool = newPool(max(cfg.Concurrency, minWorkers), e.runCheck)
	e.metrics = newMetrics(e, cfg.Registerer, cfg.StoreStats)
	return e
}

// phaseOf places a monitor within its interval by a hash of its name, so that first runs are
// spread evenly over the first interval and a monitor keeps its slot across restarts and reloads.
func phaseOf(name string, every time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(every))
}

// nextSlot returns the first time after t that is phase plus a whole number of every since the
// Unix epoch. Slots are computed, never accumulated, so they cannot drift.
func nextSlot(phase, every time.Duration, t time.Time) time.Time {
	n := t.UnixNano() - int64(phase)
	k := n / int64(every)
	if n%int64(every) < 0 {
		k--
	}
	return time.Unix(0, (k+1)*int64(every)+int64(phase))
}

// Apply makes the engine run the monitors of p. Monitors are identified by name: a monitor
// whose settings changed keeps its state and history (its check is rebuilt and, if its interval
// changed, it is rescheduled); a new one starts from its last stored state (unknown if it never
// had one); a removed one stops and its state becomes unknown ("monitor removed"), its history
// kept; a paused one stops and becomes paused. Apply may be called before Run and at any time
// while it runs. A monitor whose check cannot be built runs anyway and reports that error as a
// down result, so the problem shows where the monitor does.
func (e *Engine) Apply(ctx context.Context, p *policy.Policy) error {
	names := make([]string, len(p.Monitors))
	for i, m := range p.Monitors {
		names[i] = m.Name
	}
	if _, err := e.store.MonitorIDs(ctx, names); err != nil {
		return fmt.Errorf("apply policy: %w", err)
	}
	var last map[string]upkeep.Transition
	e.mu.Lock()
	loaded := e.loaded
	e.mu.Unlock()
	if !loaded {
		var err error
		if last, err = e.store.LastTransitions(ctx); err != nil {
			return fmt.Errorf("apply policy: %w", err)
		}
	}

	type built struct {
		c   Checker
		ev  Evaluator
		err error
	}
	checks := make([]built, len(p.Monitors))
	for i, m := range p.Monitors {
		c, ev, err := e.build(m)
		checks[i] = built{c, ev, err}
	}

	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rawKeep, e.rollupKeep = p.Server.History.Raw.Duration, p.Server.History.Rollups.Duration
	if e.rawKeep <= 0 {
		e.rawKeep = defaultRawKeep
	}
	if e.rollupKeep <= 0 {
		e.rollupKeep = defaultRollupKeep
	}
	if !e.loaded {
		for name, t := range last {
			if _, ok := e.monitors[name]; !ok {
				m := &monitor{name: name, index: -1, state: t.To, since: t.At, real: t.To}
				if t.To == upkeep.StateMaintenance {
					// In a window when Upkeep stopped: the real state is not known any more;
					// the window decides at the first SetMaintenance whether it still holds.
					m.real, m.window = upkeep.StateUnknown, "(restored)"
				}
				e.monitors[name] = m
			}
		}
		e.loaded = true
	}
	keep := make(map[string]bool, len(p.Monitors))
	var errs []error
	for i, pm := range p.Monitors {
		keep[pm.Name] = true
		m := e.monitors[pm.Name]
		if m == nil {
			m = &monitor{name: pm.Name, index: -1, state: upkeep.StateUnknown, real: upkeep.StateUnknown}
			e.monitors[pm.Name] = m
		}
		if checks[i].err != nil {
			errs = append(errs, checks[i].err)
		}
		e.configure(m, pm, checks[i].c, checks[i].ev, now)
		if e.coverSet {
			e.reconcile(m, now)
		}
	}
	for name, m := range e.monitors {
		if keep[name] {
			continue
		}
		// Removed now, or while Upkeep was stopped: either way its last state no longer holds.
		e.unschedule(m)
		release(m.checker)
		e.transition(m, upkeep.StateUnknown, now, "monitor removed")
		delete(e.monitors, name)
		e.metrics.forget(name)
	}
	e.resize()
	e.version.Add(1)
	select {
	case e.wake <- struct{}{}:
	default:
	}
	if len(errs) > 0 {
		e.log.Warn("some monitors cannot run their check; they report it as down", "err", errors.Join(errs...))
	}
	return nil
}

// build makes the checker or evaluator of m; a failure becomes a checker reporting it.
func (e *Engine) build(m policy.Monitor) (c Checker, ev Evaluator, err error) {
	if m.Paused {
		return nil, nil, nil
	}
	if e.factory == nil {
		err = errors.New("no check factory configured")
	} else if m.Passive() {
		ev, err = e.factory.Evaluator(m)
	} else {
		c, err = e.factory.Checker(m)
	}
	if err != nil {
		err = fmt.Errorf("monitor %q: %w", m.Name, err)
		if m.Passive() {
			return nil, failingEvaluator{m.Name, err.Error()}, err
		}
		return failingChecker{err.Error()}, nil, err
	}
	return c, ev, nil
}

// configure applies policy settings pm to m. Called with e.mu held.
func (e *Engine) configure(m *monitor, pm policy.Monitor, c Checker, ev Evaluator, now time.Time) {
	old := m.pol
	m.pol = pm
	release(m.checker)
	m.checker, m.evaluator = c, ev
	m.conf.downAfter, m.conf.upAfter = pm.DownAfter, pm.UpAfter
	switch {
	case pm.Paused:
		e.unschedule(m)
		m.window = "" // a paused monitor is paused, window or not
		if m.state != upkeep.StatePaused {
			e.transition(m, upkeep.StatePaused, now, "paused by policy")
		}
		return
	case m.state == upkeep.StatePaused:
		e.transition(m, upkeep.StateUnknown, now, "resumed by policy")
	}
	if pm.Passive() {
		e.unschedule(m)
		return
	}
	every := pm.Every.Duration
	if every <= 0 {
		every = time.Minute
	}
	if m.index >= 0 && old.Every.Duration == every {
		return // same slots
	}
	e.unschedule(m)
	m.phase = phaseOf(m.name, every)
	m.next = nextSlot(m.phase, every, now.Add(-time.Nanosecond)) // a slot at now is due now
	e.sched.push(m)
}

// release frees what a replaced checker holds (connection pools, idle connections), if it
// holds anything. A check may still be running on it, so closing happens on its own goroutine
// and never under the engine's lock.
func release(c Checker) {
	if cl, ok := c.(io.Closer); ok {
		go func() { _ = cl.Close() }()
	}
}

func (e *Engine) unschedule(m *monitor) {
	if m.index >= 0 {
		e.sched.remove(m)
	}
	m.next = time.Time{}
}

// transition records a confirmed change of m's state at at. Called with e.mu held; the
// transition joins the queue of the recorder in the order of the calls.
func (e *Engine) transition(m *monitor, to upkeep.State, at time.Time, cause string) {
	if to == m.state {
		return
	}
	if at.Before(m.since) {
		at = m.since // transitions of a monitor never go back in time
	}
	t := upkeep.Transition{Monitor: m.name, From: m.state, To: to, At: at.UTC(), Cause: cause}
	m.state, m.since = to, at
	e.version.Add(1)
	if to != upkeep.StateMaintenance {
		m.real = to
	}
	if (to == upkeep.StatePaused || to == upkeep.StateUnknown) && t.From != upkeep.StateMaintenance {
		m.conf.reset() // set by policy, not by results: runs start again
	}
	e.pmu.Lock()
	e.pendingTs = append(e.pendingTs, t)
	e.pmu.Unlock()
	// A transition is stored at once, not with the next batch of results: it is what incidents
	// and uptime are made of, and a crash must not take one that the API has already shown.
	e.kick()
	e.metrics.transitions.WithLabelValues(string(to)).Inc()
	e.log.Info("monitor state changed", "monitor", m.name, "from", t.From, "to", to, "at", at, "cause", cause)
}

// Monitors returns the monitors of the current policy, by name.
func (e *Engine) Monitors() []MonitorStatus {
	e.mu.Lock()
	out := make([]MonitorStatus, 0, len(e.monitors))
	for _, m := range e.monitors {
		if m.pol.Name == "" {
			continue
		}
		s := MonitorStatus{Name: m.name, Service: m.pol.Service, Kind: m.pol.Kind(), State: m.state, Since: m.since}
		if m.state == upkeep.StateMaintenance {
			s.Window, s.Real = m.window, m.real
		}
		if m.last != nil {
			r := *m.last
			s.Last = &r
		}
		out = append(out, s)
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b MonitorStatus) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Version changes whenever what Monitors returns may have changed: on every transition (at
// once, before the transition is stored) and every policy applied. Reading it is cheap, so a
// cache of something made from Monitors can check it on every use.
func (e *Engine) Version() uint64 { return e.version.Load() }

// Run runs the engine until ctx ends, then stops checking, writes everything still queued to
// the store, ends its session and returns. It returns an error only if it cannot start (the
// store refuses the session) or cannot write what was queued when stopping.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("engine: Run called twice")
	}
	start := e.clock.Now()
	session, err := e.store.StartSession(ctx, start)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	e.mu.Lock()
	e.sessionStart = start
	e.mu.Unlock()
	e.log.Info("monitoring engine started", "session", session, "monitors", len(e.Monitors()))

	var wg sync.WaitGroup
	checks, stopChecks := context.WithCancel(context.Background())
	defer stopChecks()
	processorStop, processorDone := make(chan struct{}), make(chan struct{})
	flusherStop, flusherDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(processorDone); e.process(processorStop) }()
	go func() { defer close(flusherDone); e.flusher(flusherStop) }()
	wg.Go(func() { e.schedule(ctx, checks) })
	wg.Go(func() { e.evaluate(ctx) })
	wg.Go(func() { e.keepAlive(ctx, session) })
	wg.Go(func() { e.housekeep(ctx) })

	<-ctx.Done()
	stopChecks() // checks in flight end now; their results are artefacts of the stop and dropped
	wg.Wait()
	e.pool.stop()
	close(processorStop)
	<-processorDone // it took what was queued
	close(flusherStop)
	<-flusherDone

	end := e.clock.Now()
	var errs []error
	e.pmu.Lock()
	if n := len(e.pending) + len(e.pendingTs); n > 0 {
		errs = append(errs, fmt.Errorf("engine: %d results and transitions could not be stored", n))
	}
	e.pmu.Unlock()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.EndSession(stopCtx, session, end); err != nil {
		errs = append(errs, err)
	}
	e.mu.Lock()
	e.sessionEnd = end
	e.mu.Unlock()
	e.closeSubscriptions()
	e.log.Info("monitoring engine stopped", "session", session)
	return errors.Join(errs...)
}

// failingChecker reports why a monitor's check could not be built, as a down result.
type failingChecker struct{ err string }

func (c failingChecker) Check(context.Context) upkeep.Result {
	return upkeep.Result{Outcome: upkeep.StateDown, Error: "cannot run this check: " + c.err}
}

// failingEvaluator does the same for a passive monitor.
type failingEvaluator struct{ name, err string }

func (f failingEvaluator) Evaluate(time.Time) (upkeep.Result, bool) {
	return upkeep.Result{Outcome: upkeep.StateDown, Error: "cannot watch this monitor: " + f.err}, true
}
