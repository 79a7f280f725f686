package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/ingest"
)

// ResultStore stores the results remote agents send.
type ResultStore interface {
	// StoreResults stores results and returns how many were new; the others were stored
	// already (same monitor, location and time).
	StoreResults(ctx context.Context, results []upkeep.Result) (int, error)
}

type resultsAnswer struct {
	Location  string           `json:"location"`
	Accepted  int              `json:"accepted"`
	Duplicate int              `json:"duplicate"`
	Rejected  int              `json:"rejected"`
	Problems  []ingest.Problem `json:"problems"`
}

// handleResults takes a batch of results from a remote agent (POST /api/v1/results). They are
// stored and shown with their location, but do not drive the monitors' states: deciding across
// locations (quorum) is later work.
func handleResults(log *slog.Logger, store ResultStore, rt Runtime, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := rt.Policy()
		if p == nil {
			writeError(w, http.StatusServiceUnavailable, "no policy in force")
			return
		}
		agents := make(map[string]bool, len(p.Agents))
		for _, a := range p.Agents {
			agents[a.Name] = true
		}
		monitors := make(map[string]bool, len(p.Monitors))
		for _, m := range p.Monitors {
			monitors[m.Name] = true
		}
		b, err := ingest.Decode(http.MaxBytesReader(w, r.Body, ingest.MaxBody), ingest.Checks{
			Agent:     func(name string) bool { return agents[name] },
			Monitor:   func(name string) bool { return monitors[name] },
			Now:       now(),
			Retention: p.Server.History.Raw.Duration,
		})
		var be *ingest.Error
		switch {
		case errors.As(err, &be) && be.TooLarge:
			writeError(w, http.StatusRequestEntityTooLarge, be.Error())
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		results := make([]upkeep.Result, len(b.Results))
		for i, res := range b.Results {
			results[i] = res.Result
		}
		added, err := store.StoreResults(r.Context(), results)
		if err != nil {
			log.Error("storing an agent's results failed", "location", b.Location, "results", len(results), "err", err)
			writeError(w, http.StatusServiceUnavailable, "storing the results failed; send the batch again later")
			return
		}
		if len(b.Problems) > 0 {
			log.Warn("results refused", "location", b.Location, "refused", len(b.Problems), "first", b.Problems[0].Error)
		}
		problems := b.Problems
		if problems == nil {
			problems = []ingest.Problem{}
		}
		writeJSON(w, http.StatusOK, resultsAnswer{
			Location: b.Location, Accepted: added, Duplicate: len(results) - added, Rejected: len(b.Problems), Problems: problems,
		})
	})
}
