package statuspage

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep/policy"
)

// Destination receives a whole export; Dir is one.
type Destination interface {
	Publish(ctx context.Context, files []File) error
}

// exportDestination is the destination of an export target: a Dir or an S3 bucket.
func exportDestination(to policy.StatusExportTarget) Destination {
	if to.S3 != nil {
		return &S3{S3Destination: *to.S3}
	}
	return Dir(to.Path)
}

// Publisher writes the export to the destination of status_page.export: every
// export.every, and with on_change at most debounce after a monitor's transition or an
// incident change. Failures are logged, counted and retried; they never block anything but the
// publisher.
type Publisher struct {
	page     *Page
	log      *slog.Logger
	debounce time.Duration
	retry    time.Duration
	// dest returns the destination of a policy's export target.
	dest func(to policy.StatusExportTarget) Destination

	done, failed prometheus.Counter
	lastOK       prometheus.Gauge

	// what was last published, and when a publication was last tried
	published     bool
	ver           [3]uint64 // engine, incident and maintenance versions of the last export
	lastAt        time.Time
	lastTry       time.Time
	lastFailed    bool
	lastPublished string // destination of the last export
}

// NewPublisher returns a publisher of p's exports; reg may be nil.
func NewPublisher(p *Page, reg prometheus.Registerer) *Publisher {
	pub := &Publisher{
		page: p, log: p.log, debounce: 10 * time.Second, retry: 30 * time.Second,
		dest: exportDestination,
		done: prometheus.NewCounter(prometheus.CounterOpts{Name: "upkeep_status_exports_total", Help: "Static exports of the status page published."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "upkeep_status_export_errors_total",
			Help: "Static exports of the status page that failed (retried)."}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "upkeep_status_export_last_success_timestamp_seconds",
			Help: "When the status page's static export was last published (Unix time)."}),
	}
	if reg != nil {
		reg.MustRegister(pub.done, pub.failed, pub.lastOK)
	}
	return pub
}

// Run publishes until ctx ends, looking every second whether an export is due.
func (pub *Publisher) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			pub.Step(ctx, pub.page.now())
		}
	}
}

// Step publishes the export if one is due at now, and reports whether it tried.
func (pub *Publisher) Step(ctx context.Context, now time.Time) bool {
	pol := pub.page.pol.Load()
	if pol == nil || pol.StatusPage == nil || pol.StatusPage.Export == nil {
		pub.published = false
		return false
	}
	exp := pol.StatusPage.Export
	v := pub.page.version()
	ver := [3]uint64{v.engine, v.incidents, v.maint}
	target := exp.To.String()
	due := !pub.published || target != pub.lastPublished ||
		!now.Before(pub.lastAt.Add(exp.Every.Duration)) ||
		(exp.IsOnChange() && ver != pub.ver && !now.Before(pub.lastAt.Add(pub.debounce)))
	if !due || (pub.lastFailed && now.Before(pub.lastTry.Add(pub.retry))) {
		return false
	}
	pub.lastTry = now
	files, err := pub.page.Export(ctx)
	if err == nil {
		err = pub.dest(exp.To).Publish(ctx, files)
	}
	if err != nil {
		pub.lastFailed = true
		pub.failed.Inc()
		pub.log.Warn("status page: publishing the static export (retried)", "to", target, "err", err)
		return true
	}
	pub.published, pub.lastFailed, pub.ver, pub.lastAt, pub.lastPublished = true, false, ver, now, target
	pub.done.Inc()
	pub.lastOK.Set(float64(now.Unix()))
	pub.log.Debug("status page: static export published", "to", target, "files", len(files))
	return true
}
