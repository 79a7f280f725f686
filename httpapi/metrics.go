package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// handleMetrics serves the registry in the Prometheus text format. Whether a token is needed is
// read from the policy in force at each request, so a reload can turn it on or off.
func handleMetrics(cfg Config) http.Handler {
	if cfg.Metrics == nil {
		return http.NotFoundHandler()
	}
	metrics := promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	protected := requireToken(cfg.Logger, cfg.Store, cfg.Now, false, metrics)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := cfg.Runtime.Policy(); p != nil && p.Server.MetricsAuth {
			protected.ServeHTTP(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// NewRegistry is what serve uses: Go runtime and process metrics plus whatever the engine registers.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
