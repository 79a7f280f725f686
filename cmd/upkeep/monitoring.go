package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/check"
	"github.com/upkeep-dev/upkeep/drill"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/heartbeat"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/maintenance"
	"github.com/upkeep-dev/upkeep/notify"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/statuspage"
	"github.com/upkeep-dev/upkeep/store/sqlite"
	"github.com/upkeep-dev/upkeep/subscription"
)

// monitorFactory builds what the engine runs for each monitor: a check for active monitors,
// the heartbeat service's evaluator for passive ones.
type monitorFactory struct {
	// publicURL is that of the policy being applied: relative check URLs ("/healthz") resolve
	// against it.
	publicURL  atomic.Pointer[string]
	heartbeats *heartbeat.Service
	backups    *backup.Service
	drills     *drill.Service
}

func (f *monitorFactory) Checker(m policy.Monitor) (engine.Checker, error) {
	u := f.publicURL.Load()
	if u == nil {
		return nil, errors.New("no policy applied")
	}
	c, err := check.New(m, check.Options{PublicURL: *u, Version: version})
	if err != nil {
		return nil, fmt.Errorf("monitor %s: %w", m.Name, err)
	}
	return c, nil
}

func (f *monitorFactory) Evaluator(m policy.Monitor) (engine.Evaluator, error) {
	if m.Backup != nil {
		return f.backups.Evaluator(m)
	}
	if m.Drill != nil {
		return f.drills.Evaluator(m)
	}
	return f.heartbeats.Evaluator(m)
}

// monitoring is the running monitoring: the engine and the heartbeat, backup and drill services
// that feed it.
type monitoring struct {
	engine     *engine.Engine
	heartbeats *heartbeat.Service
	backups    *backup.Service
	drills     *drill.Service
	factory    *monitorFactory
	// incidents follows the engine's transitions; delivery sends their notifications through
	// the channels of the policy in force (senders, rebuilt on every apply).
	incidents *incident.Manager
	delivery  *incident.Delivery
	senders   atomic.Pointer[map[string]incident.Sender]
	// channels are those of the policy in force: their rate limits.
	channels atomic.Pointer[map[string]policy.Channel]
	// status renders the status page from the engine, the incidents and the store's rollups.
	status *statuspage.Page
	// export publishes the status page as static files (status_page.export).
	export *statuspage.Publisher
	// maintenance puts monitors in maintenance windows and sends the windows' notices.
	maintenance *maintenance.Scheduler
	// subs runs the status page's subscriptions; its notices share the outbox.
	subs *subscription.Service
}

func newMonitoring(db *sqlite.DB, dataDir string, logger *slog.Logger, reg prometheus.Registerer) *monitoring {
	f := &monitorFactory{}
	eng := engine.New(engine.Config{
		Store:      db,
		Factory:    f,
		Logger:     logger.With("component", "engine"),
		Registerer: reg,
		StoreStats: func() engine.StoreStats {
			s := db.Stats()
			return engine.StoreStats{Batches: s.Batches, Writes: s.Writes, LastBatchSize: s.LastBatchSize, MaxBatchSize: s.MaxBatchSize, QueueDepth: s.QueueDepth}
		},
	})
	f.heartbeats = heartbeat.New(db, eng, logger.With("component", "heartbeat"), time.Now)
	f.backups = newBackups(db, dataDir, eng, logger)
	f.drills = newDrills(db, dataDir, eng, logger)
	m := &monitoring{engine: eng, heartbeats: f.heartbeats, backups: f.backups, drills: f.drills, factory: f}
	m.incidents = incident.NewManager(incident.Config{Store: db, Logger: logger.With("component", "incidents"), Registerer: reg})
	m.delivery = incident.NewDelivery(m.incidents, incident.DeliveryConfig{
		Senders: func(channel string) (incident.Sender, bool) {
			if s, ok := m.subs.Sender(channel); ok {
				return s, true
			}
			s, ok := (*m.senders.Load())[channel]
			return s, ok
		},
		IsPermanent: isPermanentSendError,
		RetryAfter:  notify.RetryAfter,
		Limits: func(channel string) (float64, int) {
			if cs := m.channels.Load(); cs != nil {
				c := (*cs)[channel]
				return c.Rate, c.Burst
			}
			return 0, 0
		},
	})
	m.senders.Store(&map[string]incident.Sender{})
	m.subs = subscription.New(subscription.Config{Store: db, Logger: logger.With("component", "subscribers"), Notify: m.delivery.Wake,
		Send: notify.Options{Version: versionString()}})
	m.maintenance = maintenance.New(maintenance.Config{
		Store: db, Engine: eng, Logger: logger.With("component", "maintenance"), Notify: m.delivery.Wake,
		IsOver: func(err error) bool { return errors.Is(err, sqlite.ErrWindowOver) },
		Subscribers: func() string {
			if m.subs.Enabled() {
				return subscription.FanOutChannel
			}
			return ""
		},
	})
	m.status = statuspage.New(statuspage.Config{Monitoring: eng, Rollups: db, Incidents: m.incidents,
		Maintenance: m.maintenance, Logger: logger.With("component", "statuspage")})
	m.export = statuspage.NewPublisher(m.status, reg)
	return m
}

// apply puts the monitors of p into effect: heartbeats (their uuids and slugs), backup jobs and
// drills first, then the engine, which builds a check or an evaluator for every monitor.
func (m *monitoring) apply(ctx context.Context, p *policy.Policy) error {
	u := p.Server.PublicURL
	m.factory.publicURL.Store(&u)
	if err := m.heartbeats.Apply(ctx, p); err != nil {
		return fmt.Errorf("heartbeats: %w", err)
	}
	if err := m.backups.Apply(ctx, p); err != nil {
		return fmt.Errorf("backups: %w", err)
	}
	if err := m.drills.Apply(ctx, p); err != nil {
		return fmt.Errorf("drills: %w", err)
	}
	senders, err := channelSenders(p)
	if err != nil {
		return fmt.Errorf("channels: %w", err)
	}
	if err := m.engine.Apply(ctx, p); err != nil {
		return fmt.Errorf("monitors: %w", err)
	}
	m.senders.Store(&senders)
	m.channels.Store(&p.Channels)
	m.incidents.Apply(p)
	m.status.Apply(p)
	m.subs.Apply(p)
	// After the engine knows the monitors: which of them are in a window now.
	if err := m.maintenance.Apply(ctx, p); err != nil {
		return fmt.Errorf("maintenance windows: %w", err)
	}
	return nil
}
