package httpapi

import (
	"context"
	"errors"
	"net/http"
)

// statusExport is the answer of GET /api/v1/status/export: every file of the static export.
type statusExport struct {
	Files any `json:"files"`
}

// handleStatusExport renders the status page as static files for upkeep status export.
func handleStatusExport(sp StatusPage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sp.Enabled() {
			writeError(w, http.StatusNotFound, "the policy has no status_page")
			return
		}
		files, err := sp.Export(r.Context())
		if err != nil {
			if errors.Is(r.Context().Err(), context.Canceled) {
				return
			}
			writeError(w, http.StatusServiceUnavailable, "the status page cannot be exported right now: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, statusExport{Files: files})
	})
}
