package engine

import (
	"context"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Default retention, as in policy.History.
const (
	defaultRawKeep    = 7 * 24 * time.Hour
	defaultRollupKeep = 800 * 24 * time.Hour
)

// every runs fn every interval of the engine's clock until ctx ends.
func (e *Engine) every(ctx context.Context, interval time.Duration, fn func(now time.Time)) {
	timer := e.clock.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		fn(e.clock.Now())
		timer.Reset(interval)
	}
}

// keepAlive moves the session's last sign of life forward, so that after a crash the time
// Upkeep was down starts within aliveEvery of the crash.
func (e *Engine) keepAlive(ctx context.Context, session int64) {
	e.every(ctx, aliveEvery, func(now time.Time) {
		if err := e.store.TouchSession(ctx, session, now); err != nil && ctx.Err() == nil {
			e.log.Warn("cannot record that the engine is alive", "err", err)
		}
	})
}

// evaluate asks the passive monitors' evaluators for missed deadlines.
func (e *Engine) evaluate(ctx context.Context) {
	type passive struct {
		name string
		ev   Evaluator
	}
	var list []passive
	e.every(ctx, evaluateEvery, func(now time.Time) {
		list = list[:0]
		e.mu.Lock()
		for _, m := range e.monitors {
			if m.evaluator != nil && m.state != upkeep.StatePaused {
				list = append(list, passive{m.name, m.evaluator})
			}
		}
		e.mu.Unlock()
		for _, p := range list {
			r, ok := p.ev.Evaluate(now)
			if !ok {
				continue
			}
			r.Monitor = p.name
			if r.Time.IsZero() {
				r.Time = now
			}
			e.Ingest(r)
		}
	})
}

// housekeep rolls up closed hours and days and prunes old history: once at start (catching up
// after a stop) and then whenever an hour has closed.
func (e *Engine) housekeep(ctx context.Context) {
	var done time.Time // the hour last housekept
	run := func(now time.Time) {
		hour := now.Truncate(time.Hour)
		if !hour.After(done) {
			return
		}
		e.mu.Lock()
		rawKeep, rollupKeep := e.rawKeep, e.rollupKeep
		e.mu.Unlock()
		start := time.Now()
		rolled, err := e.store.RollUp(ctx, now)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("rolling up results failed; will try again", "err", err)
			}
			return
		}
		results, err := e.store.PruneResults(ctx, now.Add(-rawKeep))
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("pruning results failed; will try again", "err", err)
			}
			return
		}
		rollups, err := e.store.PruneRollups(ctx, now.Add(-rollupKeep))
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("pruning rollups failed; will try again", "err", err)
			}
			return
		}
		done = hour
		e.log.Info("monitoring history housekept", "rollups_written", rolled, "results_pruned", results,
			"rollups_pruned", rollups, "took", time.Since(start).Round(time.Millisecond))
	}
	run(e.clock.Now())
	e.every(ctx, housekeepEvery, run)
}
