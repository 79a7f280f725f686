package incident

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	open      prometheus.Gauge
	delivered *prometheus.CounterVec // by channel and result: sent, retry, failed
	pending   prometheus.Gauge
	delay     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upkeep_incidents_open", Help: "Incidents not resolved.",
		}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upkeep_notifications_total",
			Help: "Notification delivery attempts by channel and result: sent, retry (a retryable error; tried again later), failed (given up).",
		}, []string{"channel", "result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upkeep_notifications_pending", Help: "Notifications in the outbox waiting to be sent (including those waiting for a retry).",
		}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "upkeep_notification_delay_seconds",
			Help:    "Time from a notification being enqueued to its channel accepting it.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.open, m.delivered, m.pending, m.delay)
	}
	return m
}
