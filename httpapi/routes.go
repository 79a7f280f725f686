package httpapi

import "net/http"

// addRoutes is the whole HTTP surface of Upkeep in one place.
func addRoutes(mux *http.ServeMux, cfg Config) {
	// Public: probes and the landing page.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(cfg.Store, cfg.Runtime))
	mux.Handle("GET /{$}", handleIndex(cfg.Runtime, cfg.Version))

	// Token-protected API. Everything under /api/v1/ passes through requireToken, including
	// unknown paths, so the API's shape is not visible without a token. Unknown paths and wrong
	// methods get the mux's own 404 and 405 (with Allow), which jsonErrors turns into JSON.
	api := http.NewServeMux()
	api.Handle("GET /api/v1/policy", handlePolicy(cfg.Runtime))
	api.Handle("POST /api/v1/reload", handleReload(cfg.Runtime))
	api.Handle("GET /api/v1/tokens", handleTokens(cfg.Store))
	api.Handle("GET /api/v1/audit", handleAudit(cfg.Store))
	mux.Handle("/api/v1/", requireToken(cfg.Logger, cfg.Store, cfg.Now, api))
}
