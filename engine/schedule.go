package engine

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// schedule is a min-heap of monitors by next slot (container/heap).
type schedule []*monitor

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].next.Before(s[j].next) }
func (s schedule) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index, s[j].index = i, j
}
func (s *schedule) Push(x any) {
	m := x.(*monitor)
	m.index = len(*s)
	*s = append(*s, m)
}
func (s *schedule) Pop() any {
	old := *s
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	m.index = -1
	return m
}

func (s *schedule) push(m *monitor)   { heap.Push(s, m) }
func (s *schedule) remove(m *monitor) { heap.Remove(s, m.index) }

// job is one check to run: a snapshot of what the worker needs, so that a reload changing the
// monitor meanwhile does not race with it.
type job struct {
	m       *monitor
	checker Checker
	timeout time.Duration
	kind    string
	slot    time.Time
}

// schedule is the scheduler goroutine: it sleeps until the earliest slot, hands every due
// monitor to the worker pool and computes its next slot. checks is the context checks run in.
func (e *Engine) schedule(ctx, checks context.Context) {
	timer := e.clock.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := e.clock.Now()
		var due []job
		wait := time.Duration(-1)
		e.mu.Lock()
		for len(e.sched) > 0 && !e.sched[0].next.After(now) {
			m := e.sched[0]
			slot := m.next
			every := m.pol.Every.Duration
			m.next = nextSlot(m.phase, every, now)
			if missed := int(m.next.Sub(slot)/every) - 1; missed > 0 {
				// The engine itself was late by more than an interval (machine suspended,
				// process stopped): those slots are gone; run once now, not a burst.
				e.metrics.skipped.WithLabelValues("late").Add(float64(missed))
			}
			heap.Fix(&e.sched, 0)
			if !m.running.CompareAndSwap(false, true) {
				e.metrics.skipped.WithLabelValues("overrun").Inc()
				continue
			}
			due = append(due, job{m: m, checker: m.checker, timeout: m.pol.Timeout.Duration, kind: m.pol.Kind(), slot: slot})
		}
		if len(e.sched) > 0 {
			wait = e.sched[0].next.Sub(now)
		}
		e.mu.Unlock()
		for i, j := range due {
			if !e.pool.submit(ctx, checks, j) {
				for _, j := range due[i:] {
					j.m.running.Store(false)
				}
				return
			}
		}
		if len(due) > 0 {
			continue // dispatching may have taken a while: look again before sleeping
		}
		if wait < 0 {
			wait = time.Hour // nothing scheduled: look again now and then anyway
		}
		timer.Reset(wait)
		select {
		case <-timer.C():
		case <-e.wake:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// runCheck runs one job on a worker.
func (e *Engine) runCheck(checks context.Context, j job) {
	start := e.clock.Now()
	lag := start.Sub(j.slot)
	e.metrics.lag.Observe(lag.Seconds())
	if e.onStart != nil {
		e.onStart(j.m.name, j.slot, start)
	}
	timeout := j.timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(checks, timeout)
	e.metrics.running.Inc()
	r := safeCheck(ctx, j.checker)
	e.metrics.running.Dec()
	cancel()
	j.m.running.Store(false) // before the result is handed on: whoever sees it may expect the next slot to run
	if checks.Err() != nil {
		return // the engine is stopping: the check was cut short, its result means nothing
	}
	switch r.Outcome {
	case upkeep.StateUp, upkeep.StateDegraded, upkeep.StateDown:
	default:
		r = upkeep.Result{Outcome: upkeep.StateDown, Error: fmt.Sprintf("check returned outcome %q", r.Outcome), Latency: r.Latency}
	}
	if r.Latency <= 0 {
		r.Latency = e.clock.Now().Sub(start)
	}
	r.Monitor, r.Location = j.m.name, upkeep.LocalLocation
	r.Time = time.UnixMilli(start.UnixMilli()).UTC()
	e.metrics.latency.WithLabelValues(j.kind).Observe(r.Latency.Seconds())
	e.metrics.checks.WithLabelValues(j.kind, string(r.Outcome)).Inc()
	e.submit(r)
}

// safeCheck runs a check, turning a panic into a down result.
func safeCheck(ctx context.Context, c Checker) (r upkeep.Result) {
	defer func() {
		if p := recover(); p != nil {
			r = upkeep.Result{Outcome: upkeep.StateDown, Error: fmt.Sprintf("check panicked: %v", p)}
		}
	}()
	if c == nil {
		return upkeep.Result{Outcome: upkeep.StateDown, Error: "no checker"}
	}
	return c.Check(ctx)
}

// Sizing of the worker pool.
const (
	minWorkers = 16
	maxWorkers = 4096
	workerIdle = time.Minute // an idle worker above the minimum exits after this
)

// resize sets the pool's cap from the policy when Concurrency is automatic: by Little's law the
// checks in flight are (checks per second) x (seconds per check). Checks are IO-bound and cost
// almost no CPU while they wait, so the cap is the worst case, every check taking its full
// timeout: the sum over active monitors of timeout/every, plus a quarter for headroom, between
// 16 and 4096. Workers are started only when a check finds none idle, so normally far fewer run.
// Called with e.mu held.
func (e *Engine) resize() {
	if e.fixedCap > 0 {
		e.pool.setCap(e.fixedCap)
		return
	}
	load := 0.0
	for _, m := range e.monitors {
		if m.index >= 0 && m.pol.Every.Duration > 0 {
			load += float64(m.pol.Timeout.Duration) / float64(m.pol.Every.Duration)
		}
	}
	e.pool.setCap(min(maxWorkers, max(minWorkers, int(math.Ceil(load*1.25)))))
}

// pool runs jobs on worker goroutines that are started on demand up to a cap and exit when idle.
type pool struct {
	jobs chan job // unbuffered: a send succeeds only when a worker is idle
	run  func(context.Context, job)
	quit chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	cap     int
	workers int
	stopped bool
}

func newPool(capacity int, run func(context.Context, job)) *pool {
	return &pool{jobs: make(chan job), run: run, quit: make(chan struct{}), cap: capacity}
}

func (p *pool) setCap(n int) {
	p.mu.Lock()
	p.cap = n
	p.mu.Unlock()
}

func (p *pool) size() (workers, capacity int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers, p.cap
}

// submit hands j to an idle worker, starts a new one if below the cap, or else waits for a
// worker to become idle (the scheduler falls behind: that shows as lag). It reports false if
// ctx ended first.
func (p *pool) submit(ctx, checks context.Context, j job) bool {
	select {
	case p.jobs <- j:
		return true
	default:
	}
	p.mu.Lock()
	if !p.stopped && p.workers < p.cap {
		p.workers++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.worker(checks, j)
		return true
	}
	p.mu.Unlock()
	select {
	case p.jobs <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *pool) worker(checks context.Context, j job) {
	defer p.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		p.run(checks, j)
		idle.Reset(workerIdle)
		select {
		case j = <-p.jobs:
		case <-idle.C:
			p.mu.Lock()
			if p.workers > minWorkers {
				p.workers--
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			select {
			case j = <-p.jobs:
			case <-p.quit:
				p.exit()
				return
			}
		case <-p.quit:
			p.exit()
			return
		}
	}
}

func (p *pool) exit() {
	p.mu.Lock()
	p.workers--
	p.mu.Unlock()
}

// stop ends the workers after their current job.
func (p *pool) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	close(p.quit)
	p.wg.Wait()
}
