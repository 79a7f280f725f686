// Package httpapi is Upkeep's HTTP surface: health and readiness probes, the token-protected
// /api/v1 API, and (later) the public status page and ping URLs. It depends only on small
// interfaces declared here, so the store and the running policy can be swapped in tests.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// Store is what the HTTP layer needs from the store.
type Store interface {
	Ping(ctx context.Context) error
	ActiveTokenByHash(ctx context.Context, hash string) (upkeep.Token, error)
	TouchToken(name string, at time.Time)
	Tokens(ctx context.Context) ([]upkeep.Token, error)
	AppendAudit(ctx context.Context, e upkeep.AuditEntry) (int64, error)
	Audit(ctx context.Context, beforeID int64, limit int) ([]upkeep.AuditEntry, error)
	MonitorHistory
	ResultStore
}

// Runtime is the running program as the API sees it: the policy in force and a way to reload it.
type Runtime interface {
	// Policy returns the policy in force, or nil before one is loaded.
	Policy() *policy.Policy
	// LoadedAt is when the policy in force was applied.
	LoadedAt() time.Time
	// Reload re-reads the policy file and applies it if valid. It returns policy.Problems when the
	// new policy is invalid (the old one stays in force).
	Reload(ctx context.Context) error
}

// Config holds the dependencies of the handler.
type Config struct {
	Logger     *slog.Logger
	Store      Store
	Runtime    Runtime
	Monitoring Monitoring
	Heartbeats Heartbeats
	// Incidents serves the incidents API and the acknowledgement links; nil: neither.
	Incidents Incidents
	// Backups serves the backups API with BackupHistory (the stored runs); nil: no backups API.
	Backups       Backups
	BackupHistory BackupHistory
	// Drills runs the drills (POST /api/v1/drills/{name}/run) and says which are running; nil:
	// drills cannot be started through the API.
	Drills Drills
	// DrillHistory serves the drills API (the policy's drills and their stored runs); nil: none.
	DrillHistory DrillHistory
	// StatusPage serves the status page, its feeds, badges and /api/v2; nil: none of them.
	StatusPage StatusPage
	// Maintenance serves the maintenance windows API; nil: none.
	Maintenance Maintenance
	// Subscriptions serves the subscription pages and the subscribers API; nil: neither.
	Subscriptions Subscriptions
	// Reports serves /reports/sla and /reports/continuity from the stored history; nil: neither.
	Reports Reports
	// Metrics is gathered for /metrics; nil means no /metrics.
	Metrics prometheus.Gatherer
	Version string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// New returns the whole HTTP handler of Upkeep with its middleware.
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	addRoutes(mux, cfg)
	var h http.Handler = jsonErrors(mux)
	h = recoverPanics(cfg.Logger, h)
	h = logRequests(cfg.Logger, cfg.Now, h)
	h = withRequestID(h)
	return h
}
