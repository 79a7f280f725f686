package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/upkeep-dev/upkeep/statuspage"
)

// StatusPage is the public status page (package statuspage).
type StatusPage interface {
	// Enabled reports whether the policy in force has a status_page; Public whether it is
	// served without a token.
	Enabled() bool
	Public() bool
	HandlePage() http.Handler
	HandleIncident() http.Handler
	HandleGroup() http.Handler
	HandleAPI() http.Handler
	HandleStatusBadge() http.Handler
	HandleUptimeBadge() http.Handler
	HandleRSS() http.Handler
	HandleAtom() http.Handler
	HandleLogo() http.Handler
	// Export renders the whole page as static files (upkeep status export).
	Export(ctx context.Context) ([]statuspage.File, error)
}

// statusOnly serves h when the policy has a status page (else 404), and asks for a token when
// the page is not public (status_page.public: false).
func statusOnly(sp StatusPage, logger *slog.Logger, store Store, now func() time.Time, h http.Handler) http.Handler {
	private := requireToken(logger, store, now, false, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !sp.Enabled():
			writeError(w, http.StatusNotFound, "the policy has no status_page")
		case sp.Public():
			h.ServeHTTP(w, r)
		default:
			private.ServeHTTP(w, r)
		}
	})
}
