package engine

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Exported for the tests of package engine_test, which use the real SQLite store: they cannot
// live in package engine, because store/sqlite imports a package (incident) that imports engine.

var (
	PhaseOf  = phaseOf
	NextSlot = nextSlot
)

// IdleTimers is how many timers a running engine has armed while idle: scheduler, flusher,
// keep-alive, evaluator, housekeeping.
const IdleTimers = 5

type FakeClock = fakeClock

func NewFakeClock(t time.Time) *FakeClock { return newFakeClock(t) }

func (e *Engine) Sync(ctx context.Context) { e.sync(ctx) }

func (e *Engine) Skipped(reason string) float64 {
	return counterValue(e.metrics.skipped.WithLabelValues(reason))
}

func (e *Engine) Dropped(reason string) float64 {
	return counterValue(e.metrics.dropped.WithLabelValues(reason))
}

// Phase returns the phase of a monitor the engine knows.
func (e *Engine) Phase(name string) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.monitors[name]
	if !ok {
		return 0, false
	}
	return m.phase, true
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
