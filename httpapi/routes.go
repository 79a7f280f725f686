package httpapi

import "net/http"

// addRoutes is the whole HTTP surface of Upkeep in one place.
func addRoutes(mux *http.ServeMux, cfg Config) {
	statusPage := func(h http.Handler) http.Handler {
		return statusOnly(cfg.StatusPage, cfg.Logger, cfg.Store, cfg.Now, h)
	}
	// Public: probes and the landing page.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(cfg.Store, cfg.Runtime))
	mux.Handle("GET /{$}", handleIndex(cfg.Runtime, cfg.Version, cfg.StatusPage, statusPage))
	// Heartbeat pings (Healthchecks.io protocol): public, the uuid or ping key is the secret.
	if cfg.Heartbeats != nil {
		mux.Handle("/ping/", cfg.Heartbeats.Handler())
	}
	// One-click acknowledgement links: public, the signed token is the secret.
	if cfg.Incidents != nil {
		mux.Handle("GET /ack/{token}", handleAck(cfg.Incidents))
		mux.Handle("POST /ack/{token}", handleAck(cfg.Incidents))
	}
	// Status page subscriptions: public, the signed tokens of the links are the secret.
	if s := cfg.Subscriptions; s != nil {
		mux.Handle("GET /subscribe", s.SubscribeForm())
		mux.Handle("POST /subscribe", s.Subscribe())
		mux.Handle("GET /subscribe/confirm/{token}", s.ConfirmPage())
		mux.Handle("POST /subscribe/confirm/{token}", s.Confirm())
		mux.Handle("GET /unsubscribe/{token}", s.UnsubscribePage())
		mux.Handle("POST /unsubscribe/{token}", s.Unsubscribe())
	}

	// The status page (status_page in the policy): public unless status_page.public is false.
	if sp := cfg.StatusPage; sp != nil {
		mux.Handle("GET /status", statusPage(sp.HandlePage()))
		mux.Handle("GET /status/logo", statusPage(sp.HandleLogo()))
		mux.Handle("GET /status/groups/{index}", statusPage(sp.HandleGroup()))
		mux.Handle("GET /incidents/{id}", statusPage(sp.HandleIncident()))
		mux.Handle("GET /api/v2/{doc...}", statusPage(sp.HandleAPI()))
		mux.Handle("GET /badge/{service}/status.svg", statusPage(sp.HandleStatusBadge()))
		mux.Handle("GET /badge/{service}/uptime.svg", statusPage(sp.HandleUptimeBadge()))
		mux.Handle("GET /history.rss", statusPage(sp.HandleRSS()))
		mux.Handle("GET /history.atom", statusPage(sp.HandleAtom()))
	}

	// Reports: the SLA reports public or token-only per status_page.reports.public, the
	// continuity report for token holders.
	if cfg.Reports != nil {
		mux.Handle("GET /reports/sla", slaAccess(cfg))
		mux.Handle("GET /reports/continuity", requireToken(cfg.Logger, cfg.Store, cfg.Now, true, handleContinuityReport(cfg)))
	}

	// Token-protected API. Everything under /api/v1/ passes through requireToken, including
	// unknown paths, so the API's shape is not visible without a token. Unknown paths and wrong
	// methods get the mux's own 404 and 405 (with Allow), which jsonErrors turns into JSON.
	api := http.NewServeMux()
	api.Handle("GET /api/v1/policy", handlePolicy(cfg.Runtime))
	api.Handle("POST /api/v1/reload", handleReload(cfg.Runtime))
	api.Handle("GET /api/v1/tokens", handleTokens(cfg.Store))
	api.Handle("GET /api/v1/audit", handleAudit(cfg.Store))
	if cfg.Monitoring != nil {
		api.Handle("GET /api/v1/monitors", handleMonitors(cfg))
		api.Handle("GET /api/v1/monitors/{name}", handleMonitor(cfg))
		api.Handle("GET /api/v1/monitors/{name}/results", handleMonitorResults(cfg.Monitoring, cfg.Store, cfg.Now))
		api.Handle("GET /api/v1/monitors/{name}/transitions", handleMonitorTransitions(cfg.Monitoring, cfg.Store, cfg.Now))
	}
	// Results from remote agents: stored and shown, not (yet) deciding monitor states.
	api.Handle("POST /api/v1/results", handleResults(cfg.Logger, cfg.Store, cfg.Runtime, cfg.Now))
	if cfg.Incidents != nil {
		api.Handle("GET /api/v1/incidents", handleIncidents(cfg.Incidents))
		api.Handle("POST /api/v1/incidents", handleOpenIncident(cfg.Incidents))
		api.Handle("GET /api/v1/incidents/{id}", handleIncident(cfg.Incidents))
		api.Handle("POST /api/v1/incidents/{id}/updates", handleIncidentUpdate(cfg.Incidents))
		api.Handle("POST /api/v1/incidents/{id}/ack", handleIncidentAck(cfg.Incidents))
		api.Handle("PUT /api/v1/incidents/{id}/report", handleIncidentReport(cfg.Incidents))
		api.Handle("GET /api/v1/notifications", handleNotifications(cfg.Incidents))
	}
	if cfg.DrillHistory != nil {
		api.Handle("GET /api/v1/drills", handleDrills(cfg))
		api.Handle("GET /api/v1/drills/{name}/runs", handleDrillRuns(cfg.Runtime, cfg.DrillHistory))
		api.Handle("GET /api/v1/drills/{name}/runs/{id}", handleDrillRun(cfg.Runtime, cfg.DrillHistory))
		if cfg.Drills != nil {
			api.Handle("POST /api/v1/drills/{name}/run", handleStartDrill(cfg.Drills))
		}
	}
	if cfg.Backups != nil {
		api.Handle("GET /api/v1/backups", handleBackups(cfg))
		api.Handle("GET /api/v1/backups/{job}/runs", handleBackupRuns(cfg.Backups, cfg.BackupHistory))
		api.Handle("GET /api/v1/backups/{job}/runs/{id}", handleBackupRun(cfg.Backups, cfg.BackupHistory))
		api.Handle("GET /api/v1/backups/{job}/snapshots", handleBackupSnapshots(cfg.Backups))
		api.Handle("GET /api/v1/backups/{job}/verifications", handleBackupVerifications(cfg.Backups, cfg.BackupHistory))
		api.Handle("POST /api/v1/backups/{job}/run", handleStartBackup(cfg.Backups))
		api.Handle("POST /api/v1/backups/{job}/verify", handleStartVerify(cfg.Backups))
	}
	if cfg.Maintenance != nil {
		api.Handle("GET /api/v1/maintenance", handleMaintenanceList(cfg.Maintenance, cfg.Now))
		api.Handle("POST /api/v1/maintenance", handleMaintenanceCreate(cfg.Maintenance, cfg.Now))
		api.Handle("GET /api/v1/maintenance/{id}", handleMaintenanceGet(cfg.Maintenance, cfg.Now))
		api.Handle("POST /api/v1/maintenance/{id}/end", handleMaintenanceEnd(cfg.Maintenance, cfg.Now))
	}
	if cfg.StatusPage != nil {
		api.Handle("GET /api/v1/status/export", handleStatusExport(cfg.StatusPage))
	}
	if s := cfg.Subscriptions; s != nil {
		api.Handle("GET /api/v1/subscribers", handleSubscribers(s))
		api.Handle("POST /api/v1/subscribers", handleSubscriberCreate(s))
		api.Handle("DELETE /api/v1/subscribers/{id}", handleSubscriberDelete(s))
	}
	mux.Handle("/api/v1/", requireToken(cfg.Logger, cfg.Store, cfg.Now, true, api))

	// Prometheus metrics: public unless server.metrics_auth asks for a token.
	mux.Handle("GET /metrics", handleMetrics(cfg))
}
