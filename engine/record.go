package engine

import (
	"context"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Capacities of the result pipeline.
const (
	// inCapacity is the queue between checks (and Ingest) and the processor. The processor only
	// does arithmetic under a lock, so this fills only if it is starved of CPU.
	inCapacity = 16384
	// maxPending bounds results waiting for the store (about 20 minutes of 10,000 monitors at
	// 60 s). When the store cannot keep up or is failing, the oldest results are dropped (and
	// counted) beyond it; transitions are never dropped.
	maxPending = 200_000
	// subscriberBuffer is the default buffer of a Subscribe channel.
	subscriberBuffer = 256
)

// item is a result on its way to the processor, or (with sync set) a marker that asks for
// everything before it to be stored.
type item struct {
	r    upkeep.Result
	sync chan struct{}
}

// Ingest hands the engine a result from outside the scheduler: a heartbeat ping, later a remote
// agent's check. An empty Location means local; a zero Time means now. It never blocks: if the
// queue is full (the engine is starved of CPU) the result is dropped, counted and logged.
// Results of monitors that are not in the policy are ignored.
func (e *Engine) Ingest(r upkeep.Result) {
	if r.Location == "" {
		r.Location = upkeep.LocalLocation
	}
	if r.Time.IsZero() {
		r.Time = e.clock.Now()
	}
	r.Time = time.UnixMilli(r.Time.UnixMilli()).UTC()
	e.submit(r)
}

func (e *Engine) submit(r upkeep.Result) {
	select {
	case e.in <- item{r: r}:
	default:
		e.metrics.dropped.WithLabelValues("queue_full").Inc()
		e.log.Warn("result dropped: the engine's queue is full", "monitor", r.Monitor)
	}
}

// process is the processor goroutine: it applies results to the monitors' state machines and
// queues them, with the transitions they confirm, for the flusher. It never touches the store.
// When stop is closed (after the checks have ended) it takes what is still queued and returns.
func (e *Engine) process(stop chan struct{}) {
	batch := make([]item, 0, 1024)
	for {
		select {
		case it := <-e.in:
			batch = append(batch[:0], it)
		case <-stop:
			batch = batch[:0]
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case it := <-e.in:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		e.apply(batch)
		select {
		case <-stop:
			if len(e.in) == 0 {
				return
			}
		default:
		}
	}
}

// apply runs a batch of items through the state machines.
func (e *Engine) apply(batch []item) {
	var syncs []chan struct{}
	e.mu.Lock()
	accepted := batch[:0:0]
	for _, it := range batch {
		if it.sync != nil {
			syncs = append(syncs, it.sync)
			continue
		}
		r := it.r
		m := e.monitors[r.Monitor]
		if m == nil || m.pol.Name == "" {
			e.metrics.dropped.WithLabelValues("unknown_monitor").Inc()
			continue
		}
		accepted = append(accepted, it)
		if r.Location != upkeep.LocalLocation {
			continue // stored; locations other than local decide by quorum, which comes with agents
		}
		if m.last == nil || !r.Time.Before(m.last.Time) {
			rc := r
			m.last = &rc
		}
		if to, at, ok := m.conf.observe(m.real, r.Outcome, r.Time); ok {
			e.settle(m, to, at, causeOf(r))
		}
	}
	e.mu.Unlock()
	if len(accepted) > 0 {
		e.pmu.Lock()
		for _, it := range accepted {
			e.pending = append(e.pending, it.r)
		}
		if over := len(e.pending) - maxPending; over > 0 {
			e.pending = append(e.pending[:0], e.pending[over:]...)
			e.metrics.dropped.WithLabelValues("store_behind").Add(float64(over))
			e.log.Error("results dropped: the store does not keep up", "dropped", over)
		}
		n := len(e.pending)
		e.pmu.Unlock()
		if n >= flushSize {
			e.kick()
		}
	}
	for _, s := range syncs {
		e.syncReq <- s
	}
}

func (e *Engine) kick() {
	select {
	case e.flushNow <- struct{}{}:
	default:
	}
}

// flusher is the recorder goroutine: it writes queued results and transitions to the store in
// batches, one durable write per batch, every second or as soon as flushSize results wait, and
// then tells subscribers about the transitions. When the store fails it keeps everything and
// tries again. It flushes a last time when stop is closed.
func (e *Engine) flusher(stop chan struct{}) {
	timer := e.clock.NewTimer(flushEvery)
	defer timer.Stop()
	for {
		var done chan struct{}
		select {
		case <-timer.C():
		case <-e.flushNow:
		case done = <-e.syncReq:
		case <-stop:
			for attempt := 0; attempt < 3 && e.flush() != nil; attempt++ {
			}
			return
		}
		if err := e.flush(); err != nil && done != nil {
			e.log.Warn("sync: results not stored", "err", err)
		}
		if done != nil {
			close(done)
		}
		timer.Reset(flushEvery)
	}
}

// flush writes what is queued. On failure the batch goes back to the front of the queue.
func (e *Engine) flush() error {
	e.pmu.Lock()
	rs, ts := e.pending, e.pendingTs
	e.pending, e.pendingTs = nil, nil
	e.pmu.Unlock()
	if len(rs) == 0 && len(ts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := e.store.RecordMonitoring(ctx, rs, ts)
	if err != nil {
		e.log.Error("storing results failed; keeping them to try again", "results", len(rs), "transitions", len(ts), "err", err)
		e.metrics.storeErrors.Inc()
		e.pmu.Lock()
		e.pending = append(rs, e.pending...)
		e.pendingTs = append(ts, e.pendingTs...)
		e.pmu.Unlock()
		return err
	}
	e.metrics.batch.Observe(float64(len(rs)))
	e.publish(ts)
	return nil
}

// sync waits until every result handed to the engine before the call is stored (for tests).
func (e *Engine) sync(ctx context.Context) {
	done := make(chan struct{})
	select {
	case e.in <- item{sync: done}:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// subscription is one Subscribe channel.
type subscription struct {
	ch chan upkeep.Transition
}

// Subscribe returns a channel that receives every transition once it is stored, in order, and
// a function that ends the subscription (and closes the channel). buffer is the channel's
// capacity (256 if 0 or less).
//
// Sending never waits: the engine's checks and its recorder must not stall because a consumer
// is slow. A subscriber whose buffer is full when a transition comes is dropped: its channel
// is closed (counted in upkeep_engine_subscribers_dropped_total and logged). A consumer that sees
// its channel closed while the engine runs has missed transitions; it should subscribe again
// and read what it missed from the store (Transitions since the last one it saw). The channel
// is also closed when Run returns.
func (e *Engine) Subscribe(buffer int) (<-chan upkeep.Transition, func()) {
	if buffer <= 0 {
		buffer = subscriberBuffer
	}
	s := &subscription{ch: make(chan upkeep.Transition, buffer)}
	e.smu.Lock()
	e.subs[s] = struct{}{}
	e.smu.Unlock()
	return s.ch, func() {
		e.smu.Lock()
		defer e.smu.Unlock()
		if _, ok := e.subs[s]; ok {
			delete(e.subs, s)
			close(s.ch)
		}
	}
}

func (e *Engine) publish(ts []upkeep.Transition) {
	if len(ts) == 0 {
		return
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	for s := range e.subs {
		for _, t := range ts {
			select {
			case s.ch <- t:
				continue
			default:
			}
			delete(e.subs, s)
			close(s.ch)
			e.metrics.subsDropped.Inc()
			e.log.Warn("transition subscriber dropped: it did not keep up", "buffer", cap(s.ch))
			break
		}
	}
}

func (e *Engine) closeSubscriptions() {
	e.smu.Lock()
	defer e.smu.Unlock()
	for s := range e.subs {
		delete(e.subs, s)
		close(s.ch)
	}
}
