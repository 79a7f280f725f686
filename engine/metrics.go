package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep"
)

// metrics are the engine's Prometheus metrics. Per-monitor series are limited to two gauges
// (state and up), produced at scrape time from the engine's own state so that a removed monitor
// leaves no stale series; latency and outcome counters are per kind, not per monitor, so that
// 10,000 monitors do not make 100,000 histogram series.
type metrics struct {
	latency     *prometheus.HistogramVec
	checks      *prometheus.CounterVec
	lag         prometheus.Histogram
	skipped     *prometheus.CounterVec
	running     prometheus.Gauge
	dropped     *prometheus.CounterVec
	batch       prometheus.Histogram
	storeErrors prometheus.Counter
	transitions *prometheus.CounterVec
	subsDropped prometheus.Counter
}

// stateValue is the value of upkeep_monitor_state for each state.
var stateValue = map[upkeep.State]float64{
	upkeep.StateUnknown: 0, upkeep.StateUp: 1, upkeep.StateDegraded: 2, upkeep.StateDown: 3, upkeep.StatePaused: 4,
	upkeep.StateMaintenance: 5,
}

func newMetrics(e *Engine, reg prometheus.Registerer, storeStats func() StoreStats) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "upkeep_check_duration_seconds", Help: "How long checks took, by monitor kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upkeep_checks_total", Help: "Checks run, by monitor kind and outcome.",
		}, []string{"kind", "outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "upkeep_scheduler_lag_seconds", Help: "How long after its scheduled slot each check started.",
			Buckets: []float64{.001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upkeep_scheduler_skipped_slots_total",
			Help: "Slots not run: overrun (the previous check of the monitor was still running) or late (the engine fell behind by a whole interval).",
		}, []string{"reason"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "upkeep_checks_running", Help: "Checks running now."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upkeep_results_dropped_total", Help: "Results not stored, by reason.",
		}, []string{"reason"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "upkeep_engine_store_batch_results", Help: "Results per durable write of the engine's recorder.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "upkeep_engine_store_errors_total", Help: "Failed writes of results (retried)."}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upkeep_monitor_transitions_total", Help: "Confirmed state changes, by new state.",
		}, []string{"to"}),
		subsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upkeep_engine_subscribers_dropped_total", Help: "Transition subscribers dropped because their buffer was full.",
		}),
	}
	reg.MustRegister(m.latency, m.checks, m.lag, m.skipped, m.running, m.dropped, m.batch, m.storeErrors, m.transitions, m.subsDropped)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_results_queue_depth", Help: "Results waiting for the processor."},
			func() float64 { return float64(len(e.in)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_results_pending", Help: "Results and transitions waiting to be stored."},
			func() float64 {
				e.pmu.Lock()
				defer e.pmu.Unlock()
				return float64(len(e.pending) + len(e.pendingTs))
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_check_workers", Help: "Check worker goroutines."},
			func() float64 { w, _ := e.pool.size(); return float64(w) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_check_workers_max", Help: "Cap on check workers (concurrent checks)."},
			func() float64 { _, c := e.pool.size(); return float64(c) }),
		monitorCollector{e},
	)
	if storeStats != nil {
		stat := func(f func(StoreStats) float64) func() float64 { return func() float64 { return f(storeStats()) } }
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "upkeep_store_write_batches_total", Help: "Transactions committed by the store's writer."},
				stat(func(s StoreStats) float64 { return float64(s.Batches) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "upkeep_store_writes_total", Help: "Writes committed by the store's writer (writes/batches is the mean batch size)."},
				stat(func(s StoreStats) float64 { return float64(s.Writes) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_store_last_batch_size", Help: "Writes in the store writer's last batch."},
				stat(func(s StoreStats) float64 { return float64(s.LastBatchSize) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_store_max_batch_size", Help: "Writes in the store writer's largest batch."},
				stat(func(s StoreStats) float64 { return float64(s.MaxBatchSize) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "upkeep_store_queue_depth", Help: "Writes waiting for the store's writer."},
				stat(func(s StoreStats) float64 { return float64(s.QueueDepth) })),
		)
	}
	return m
}

// forget is called when a monitor leaves the policy; its series disappear with it.
func (m *metrics) forget(string) {}

var (
	stateDesc = prometheus.NewDesc("upkeep_monitor_state",
		"Confirmed state of the monitor: 0 unknown, 1 up, 2 degraded, 3 down, 4 paused, 5 maintenance.", []string{"monitor", "service", "kind"}, nil)
	upDesc = prometheus.NewDesc("upkeep_monitor_up",
		"1 if the monitor is up or degraded, 0 if down; absent while unknown, paused or in maintenance.", []string{"monitor", "service", "kind"}, nil)
)

// monitorCollector produces the per-monitor gauges at scrape time.
type monitorCollector struct{ e *Engine }

func (c monitorCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateDesc
	ch <- upDesc
}

func (c monitorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.e.Monitors() {
		ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, stateValue[s.State], s.Name, s.Service, s.Kind)
		switch s.State {
		case upkeep.StateUp, upkeep.StateDegraded:
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1, s.Name, s.Service, s.Kind)
		case upkeep.StateDown:
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0, s.Name, s.Service, s.Kind)
		}
	}
}
