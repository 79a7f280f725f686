package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/report"
)

// Reports is the stored history the reports are computed from (*sqlite.DB).
type Reports interface {
	report.ContinuitySource
}

// reportRequest is what a report request asks for: ?period=&service=&format=&tz=.
type reportRequest struct {
	pol      *policy.Policy
	services []report.Service
	period   report.Period
	format   string
}

// parseReportRequest reads and checks the query; on a bad one it writes the error and returns
// false. Anonymous requests (public) may only ask for the services the status page shows.
func parseReportRequest(w http.ResponseWriter, r *http.Request, rt Runtime, formats []string, public bool) (reportRequest, bool) {
	var req reportRequest
	req.pol = rt.Policy()
	if req.pol == nil {
		writeError(w, http.StatusServiceUnavailable, "no policy is loaded yet")
		return req, false
	}
	q := r.URL.Query()
	req.format = q.Get("format")
	if req.format == "" {
		req.format = "html"
	}
	if err := report.CheckFormat(req.format, formats); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return req, false
	}
	tz := q.Get("tz")
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		writeError(w, http.StatusBadRequest, "tz "+quoteName(tz)+": not a known time zone (use an IANA name such as Europe/Paris)")
		return req, false
	}
	if !q.Has("period") {
		writeError(w, http.StatusBadRequest, "the period parameter is required: a month (period=2026-10), a quarter (2026-Q4), a year (2026) or days (2026-10-01..2026-10-15)")
		return req, false
	}
	if req.period, err = report.ParsePeriod(q.Get("period"), loc); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return req, false
	}
	names := q["service"]
	if public {
		shown := req.pol.ShownServices()
		for _, n := range names {
			if !slices.Contains(shown, n) {
				writeError(w, http.StatusNotFound, "service "+quoteName(n)+" is not on the status page")
				return req, false
			}
		}
		if len(names) == 0 {
			names = shown
		}
	}
	if req.services, err = report.Services(req.pol, names); err != nil {
		writeError(w, http.StatusNotFound, "service "+err.Error())
		return req, false
	}
	return req, true
}

// handleSLAReport serves the SLA report (GET /reports/sla) of the services asked for, or of
// every service (public: of every service the status page shows).
func handleSLAReport(cfg Config, public bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := parseReportRequest(w, r, cfg.Runtime, report.Formats, public)
		if !ok {
			return
		}
		writeReport(w, r, cfg, req, "sla", func(ctx context.Context, buf *bytes.Buffer, now time.Time) error {
			out, err := report.ComputeAll(ctx, cfg.Reports, req.services, req.period, now)
			if err != nil {
				return err
			}
			return report.Write(buf, req.format, out)
		})
	})
}

// handleContinuityReport serves the continuity report (GET /reports/continuity).
func handleContinuityReport(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := parseReportRequest(w, r, cfg.Runtime, report.ContinuityFormats, false)
		if !ok {
			return
		}
		writeReport(w, r, cfg, req, "continuity", func(ctx context.Context, buf *bytes.Buffer, now time.Time) error {
			out, err := report.ComputeContinuity(ctx, cfg.Reports, req.pol, req.services, req.period, now)
			if err != nil {
				return err
			}
			return report.WriteContinuity(buf, req.format, now, out)
		})
	})
}

// writeReport renders a report completely before it answers, so a failure is a clean 500.
func writeReport(w http.ResponseWriter, r *http.Request, cfg Config, req reportRequest, kind string, render func(context.Context, *bytes.Buffer, time.Time) error) {
	var buf bytes.Buffer
	if err := render(r.Context(), &buf, cfg.Now()); err != nil {
		cfg.Logger.Error("computing a report", "report", kind, "period", req.period.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "the report could not be computed; see the server log for request "+requestID(r.Context()))
		return
	}
	h := w.Header()
	switch req.format {
	case "json":
		h.Set("Content-Type", "application/json; charset=utf-8")
	case "csv":
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+kind+"-"+req.period.Name+`.csv"`)
	default:
		h.Set("Content-Type", "text/html; charset=utf-8")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}

// slaAccess serves the SLA reports without a token when the policy makes them public
// (status_page.reports.public) and the request carries none, and asks for a token otherwise.
// A request with a token reports on every service, an anonymous one on those the page shows.
func slaAccess(cfg Config) http.Handler {
	anonymous := handleSLAReport(cfg, true)
	private := requireToken(cfg.Logger, cfg.Store, cfg.Now, true, handleSLAReport(cfg, false))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, token := bearerToken(r)
		if p := cfg.Runtime.Policy(); !token && p != nil && p.StatusPage.ReportsPublic() {
			anonymous.ServeHTTP(w, r)
			return
		}
		private.ServeHTTP(w, r)
	})
}
