// Package statuspage is Upkeep's public status page: the HTML page and one page per incident,
// the Statuspage-compatible /api/v2 JSON, SVG badges and RSS/Atom feeds of the incident history.
//
// Everything is rendered from one Snapshot: what a public visitor may know (services by their
// titles, their states, uptime, response times, incidents and maintenance) and nothing else.
// Monitor names, check targets, error strings, token names and subscriber data never enter a
// snapshot, so no renderer can leak them. A later static export renders the same snapshot.
//
// Rendered responses are cached. The cache is keyed by the engine's and the incident manager's
// version counters, which change synchronously with every transition and every committed
// incident change, and are read on every request: a response never shows a state older than the
// last transition. The expensive part, the uptime history (bars, uptime windows, response
// times), is rebuilt off the request path: for the services of a monitor as soon as one of its
// transitions is stored (Run subscribes to the engine), and for all services every minute.
package statuspage

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
)

// Monitoring is the monitoring engine as the page sees it.
type Monitoring interface {
	Monitors() []engine.MonitorStatus
	UptimeSpans(ctx context.Context, monitor string, spans []upkeep.Interval) ([]engine.Uptime, error)
	// Version changes whenever Monitors may return something new.
	Version() uint64
}

// Subscriber delivers the engine's transitions once they are stored.
type Subscriber interface {
	Subscribe(buffer int) (<-chan upkeep.Transition, func())
}

// Rollups reads the store's daily summaries (latency percentiles).
type Rollups interface {
	Rollups(ctx context.Context, monitor string, span time.Duration, from, to time.Time) ([]upkeep.Rollup, error)
}

// Incidents is the incident manager as the page sees it.
type Incidents interface {
	List(ctx context.Context, state string, limit int) ([]upkeep.Incident, error)
	Get(ctx context.Context, id int64) (upkeep.Incident, error)
	// Version changes after every committed change of incidents.
	Version() uint64
}

// Maintenance lists maintenance windows (package maintenance's Scheduler): state "" means all,
// a recurring window appears as its current or next occurrence.
type Maintenance interface {
	List(ctx context.Context, state string, limit int) ([]upkeep.Window, error)
	// Version changes after every change of the windows (created, ended, cancelled, a new
	// policy); windows starting and ending with time do not change it.
	Version() uint64
}

// Window is a maintenance window as the page shows it: not its monitors nor the channels it
// notifies.
type Window struct {
	ID          string
	Title       string
	Description string
	Services    []string // service names
	Start, End  time.Time
}

// NoMaintenance is the Maintenance of a server without maintenance windows.
type NoMaintenance struct{}

// List returns no window.
func (NoMaintenance) List(context.Context, string, int) ([]upkeep.Window, error) { return nil, nil }

// Version is always 0.
func (NoMaintenance) Version() uint64 { return 0 }

// Config holds the page's dependencies.
type Config struct {
	Monitoring  Monitoring
	Rollups     Rollups
	Incidents   Incidents
	Maintenance Maintenance // nil: NoMaintenance
	Logger      *slog.Logger
	Now         func() time.Time // nil: time.Now
	// HistoryEvery is how often the uptime history of every service is rebuilt; 0: a minute.
	HistoryEvery time.Duration
}

// Page is the status page of the policy in force.
type Page struct {
	mon          Monitoring
	rollups      Rollups
	incidents    Incidents
	maint        Maintenance
	log          *slog.Logger
	now          func() time.Time
	historyEvery time.Duration

	pol atomic.Pointer[policy.Policy]
	// gen changes when the policy or the history changes; with the engine's and the incident
	// manager's versions it keys the cache.
	gen atomic.Uint64

	hmu     sync.Mutex // guards history and histPol (held while the first history of a policy is built)
	history map[string]*serviceHistory
	histPol *policy.Policy

	cache cache
}

// New returns a status page; Apply a policy before serving it.
func New(cfg Config) *Page {
	if cfg.Maintenance == nil {
		cfg.Maintenance = NoMaintenance{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HistoryEvery <= 0 {
		cfg.HistoryEvery = time.Minute
	}
	return &Page{
		mon: cfg.Monitoring, rollups: cfg.Rollups, incidents: cfg.Incidents, maint: cfg.Maintenance,
		log: cfg.Logger, now: cfg.Now, historyEvery: cfg.HistoryEvery,
	}
}

// Apply puts a policy into effect. The history of the new policy's services is built on the
// next request, or by Run.
func (p *Page) Apply(pol *policy.Policy) {
	p.pol.Store(pol)
	p.gen.Add(1)
}

// Enabled reports whether the policy in force has a status page.
func (p *Page) Enabled() bool {
	pol := p.pol.Load()
	return pol != nil && pol.StatusPage != nil
}

// Public reports whether the page is served without a token.
func (p *Page) Public() bool {
	pol := p.pol.Load()
	return pol == nil || pol.StatusPage == nil || pol.StatusPage.IsPublic()
}

// Run keeps the uptime history fresh until ctx ends: it rebuilds the history of a monitor's
// services when one of its transitions is stored, and of every service every HistoryEvery.
func (p *Page) Run(ctx context.Context, sub Subscriber) error {
	tick := time.NewTicker(p.historyEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		ch, cancel := sub.Subscribe(4096)
		p.follow(ctx, ch, tick.C)
		cancel()
	}
	return ctx.Err()
}

func (p *Page) follow(ctx context.Context, ch <-chan upkeep.Transition, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case t, ok := <-ch:
			if !ok {
				return
			}
			dirty := map[string]bool{t.Monitor: true}
		drain:
			for { // a burst of transitions is one rebuild
				select {
				case t, ok := <-ch:
					if !ok {
						break drain
					}
					dirty[t.Monitor] = true
				default:
					break drain
				}
			}
			if err := p.refresh(ctx, dirty); err != nil && ctx.Err() == nil {
				p.log.Warn("status page: rebuilding uptime history", "err", err)
			}
		case <-tick:
			if err := p.refresh(ctx, nil); err != nil && ctx.Err() == nil {
				p.log.Warn("status page: rebuilding uptime history", "err", err)
			}
		}
	}
}
