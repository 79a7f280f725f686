package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/httpapi"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// shutdownGrace is how long in-flight requests get to finish after SIGINT/SIGTERM.
const shutdownGrace = 30 * time.Second

func newServeCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		listen string
		watch  bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run everything the policy declares",
		Long: `Run everything the policy declares and serve the HTTP endpoints.

SIGHUP, or saving the policy file (unless --watch=false), reloads the policy: a valid one is applied without a restart,
an invalid one is refused (its problems are logged) and the previous one keeps running.
SIGINT or SIGTERM stops gracefully: requests in flight finish and the store is flushed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), e, g, listen, watch)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, host:port (default $UPKEEP_LISTEN, or server.listen of the policy)")
	cmd.Flags().BoolVar(&watch, "watch", true, "reload the policy when its file changes (SIGHUP always reloads)")
	return cmd
}

func serve(ctx context.Context, e *env, g *globalFlags, listenFlag string, watch bool) error {
	src, err := resolvePolicySource(e, g)
	if err != nil {
		return err
	}
	o := resolveOverrides(e, g, listenFlag)
	load := func() (*policy.Policy, error) {
		p, err := src.load(e)
		if err != nil {
			return nil, err
		}
		return p, o.apply(p)
	}
	pol, err := load()
	if err != nil {
		return policyError(src, err)
	}
	logger := newLogger(e.stderr, pol.Server.Log)

	dir := pol.Server.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	unlock, err := lockDataDir(dir)
	if err != nil {
		return err
	}
	defer unlock()

	db, err := sqlite.Open(ctx, dir, logger)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			logger.Error("closing the store", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", pol.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", pol.Server.Listen, err)
	}
	// With port 0 the kernel picks the port: show the address really in use.
	if actual := ln.Addr().String(); actual != pol.Server.Listen {
		if pol.Server.PublicURL == policy.DerivePublicURL(pol.Server.Listen) {
			pol.Server.PublicURL = policy.DerivePublicURL(actual)
		}
		pol.Server.Listen = actual
		o.listen = actual
	}

	reg := httpapi.NewRegistry()
	mon := newMonitoring(db, dir, logger, reg)
	if err := mon.apply(ctx, pol); err != nil {
		return err
	}
	rt := newReloader(logger, src, load, mon.apply, pol)
	handler := httpapi.New(httpapi.Config{
		Logger:        logger,
		Store:         db,
		Runtime:       rt,
		Monitoring:    mon.engine,
		Heartbeats:    mon.heartbeats,
		Incidents:     mon.incidents,
		Maintenance:   mon.maintenance,
		StatusPage:    mon.status,
		Subscriptions: mon.subs,
		Backups:       mon.backups,
		// The backups API reads the runs from the store.
		BackupHistory: db,
		Drills:        mon.drills,
		DrillHistory:  db,
		Reports:       db,
		Metrics:       reg,
		Version:       versionString(),
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Backups are ready before the first request: runs a crash left running are recorded as
	// interrupted, and the API can start runs.
	if err := mon.backups.Prepare(runCtx); err != nil {
		return err
	}
	// Drills likewise: a run still "running" was cut short by a crash (the next run wipes its
	// target), missed slots are recorded and caught up.
	if err := mon.drills.Prepare(runCtx); err != nil {
		return err
	}
	// If the engine stops by itself (its store failed), the whole server stops: serving a
	// status without monitoring would be a lie.
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	engineDone := make(chan error, 1)
	go func() {
		err := mon.engine.Run(runCtx)
		if runCtx.Err() == nil {
			stopServing()
		}
		engineDone <- err
	}()
	// Incidents and their notifications run beside the engine, never inside it: sending
	// never blocks a check. Both stop before the store closes.
	incidentsDone := make(chan struct{})
	go func() {
		defer close(incidentsDone)
		var wg sync.WaitGroup
		wg.Go(func() { _ = mon.incidents.Run(runCtx, mon.engine) })
		wg.Go(func() { _ = mon.delivery.Run(runCtx) })
		wg.Go(func() { _ = mon.status.Run(runCtx, mon.engine) })
		wg.Go(func() { _ = mon.export.Run(runCtx) })
		wg.Go(func() { _ = mon.maintenance.Run(runCtx) })
		wg.Go(func() { _ = mon.subs.Run(runCtx) })
		wg.Wait()
	}()
	defer func() { cancel(); <-incidentsDone }()
	// Backups run beside the engine too; runs in progress are cancelled and recorded before the
	// store closes.
	backupsDone := make(chan struct{})
	go func() {
		defer close(backupsDone)
		if err := mon.backups.Run(runCtx); err != nil {
			logger.Error("backups stopped", "err", err)
		}
	}()
	defer func() { cancel(); <-backupsDone }()
	drillsDone := make(chan struct{})
	go func() {
		defer close(drillsDone)
		if err := mon.drills.Run(runCtx); err != nil {
			logger.Error("drills stopped", "err", err)
		}
	}()
	defer func() { cancel(); <-drillsDone }()
	if watch {
		loop, err := rt.watch()
		if err != nil {
			logger.Warn("cannot watch the policy file; reload with SIGHUP instead", "err", err)
		} else {
			go loop(runCtx)
		}
	}
	go reloadOnSIGHUP(runCtx, rt)

	logger.Info("upkeep started", "version", versionString(), "policy", src.String(), "data", dir, "listen", pol.Server.Listen)
	fmt.Fprintf(e.stdout, "Upkeep is serving at %s (policy: %s, data: %s)\n", policy.DerivePublicURL(pol.Server.Listen), src, dir)
	err = serveUntilDone(serveCtx, logger, srv, ln, shutdownGrace)
	// The engine stops after the HTTP server, so that pings answered "OK" reach it; it flushes
	// its results and transitions before the store closes.
	cancel()
	if eerr := <-engineDone; eerr != nil && !errors.Is(eerr, context.Canceled) {
		return fmt.Errorf("monitoring engine: %w", eerr)
	}
	return err
}

// serveUntilDone serves until ctx ends, then shuts down gracefully: the listener closes at once,
// requests in flight get up to grace to finish.
func serveUntilDone(ctx context.Context, logger *slog.Logger, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still running after the grace period were cut off", "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func reloadOnSIGHUP(ctx context.Context, rt *reloader) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			rt.logger.Info("SIGHUP received; reloading the policy")
			_ = rt.Reload(ctx)
		}
	}
}
