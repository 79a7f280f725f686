package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
)

// Monitoring is the running monitoring engine, as the API sees it.
type Monitoring interface {
	Monitors() []engine.MonitorStatus
	Uptime(ctx context.Context, monitor string, from, to time.Time) (engine.Uptime, error)
}

// Heartbeats is the heartbeat service: the ping handler, and the URLs to show users.
type Heartbeats interface {
	Handler() http.Handler
	URLs(monitor string) (uuidURL, slugURL string)
}

// MonitorHistory reads a monitor's stored history.
type MonitorHistory interface {
	// ResultsFrom returns results of one location ("" for every location), newest first.
	ResultsFrom(ctx context.Context, monitor, location string, from, to time.Time, limit int) ([]upkeep.Result, error)
	Transitions(ctx context.Context, monitor string, from, to time.Time) ([]upkeep.Transition, error)
}

// uptimeWindows are the windows of the "uptime" object, by their JSON key.
var uptimeWindows = []struct {
	key string
	d   time.Duration
}{
	{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour},
	{"90d", 90 * 24 * time.Hour}, {"365d", 365 * 24 * time.Hour},
}

type resultJSON struct {
	Time      time.Time `json:"time"`
	Location  string    `json:"location"`
	OK        bool      `json:"ok"`
	Outcome   string    `json:"outcome"`
	LatencyMS float64   `json:"latency_ms"`
	Code      int       `json:"code,omitempty"`
	Error     string    `json:"error,omitempty"`
}

func resultFrom(r upkeep.Result) resultJSON {
	return resultJSON{
		Time: r.Time.UTC(), Location: r.Location, OK: r.Outcome == upkeep.StateUp, Outcome: string(r.Outcome),
		LatencyMS: float64(r.Latency.Microseconds()) / 1000, Code: r.Code, Error: r.Error,
	}
}

type monitorJSON struct {
	Name       string         `json:"name"`
	Service    string         `json:"service"`
	Kind       string         `json:"kind"`
	State      string         `json:"state"`
	Since      *time.Time     `json:"since"`
	LastResult *resultJSON    `json:"last_result"`
	Uptime     map[string]any `json:"uptime"` // fraction per window; null where there is no data
	// Window and RealState are set while the monitor is in maintenance: the window's title
	// and the state confirmed underneath.
	Window    string `json:"maintenance_window,omitempty"`
	RealState string `json:"real_state,omitempty"`
	// PingURLs are where a heartbeat's job pings (absolute, from server.public_url); only
	// behind the token, since the URL is the secret.
	PingURLs []string `json:"ping_urls,omitempty"`
}

func monitorFrom(ctx context.Context, cfg Config, s engine.MonitorStatus, now time.Time) (monitorJSON, error) {
	mon := cfg.Monitoring
	out := monitorJSON{Name: s.Name, Service: s.Service, Kind: s.Kind, State: string(s.State), Uptime: map[string]any{},
		Window: s.Window, RealState: string(s.Real)}
	if !s.Since.IsZero() {
		since := s.Since.UTC()
		out.Since = &since
	}
	if s.Last != nil {
		r := resultFrom(*s.Last)
		out.LastResult = &r
	}
	for _, w := range uptimeWindows {
		u, err := mon.Uptime(ctx, s.Name, now.Add(-w.d), now)
		if err != nil {
			return out, err
		}
		if f, ok := u.Fraction(); ok {
			out.Uptime[w.key] = f
		} else {
			out.Uptime[w.key] = nil
		}
	}
	if s.Kind == policy.KindHeartbeat && cfg.Heartbeats != nil {
		base := ""
		if p := cfg.Runtime.Policy(); p != nil {
			base = p.Server.PublicURL
		}
		uuidURL, slugURL := cfg.Heartbeats.URLs(s.Name)
		for _, u := range []string{uuidURL, slugURL} {
			if u != "" {
				out.PingURLs = append(out.PingURLs, base+u)
			}
		}
	}
	return out, nil
}

func handleMonitors(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := cfg.Now()
		list := cfg.Monitoring.Monitors()
		out := make([]monitorJSON, 0, len(list))
		for _, s := range list {
			m, err := monitorFrom(r.Context(), cfg, s, at)
			if err != nil {
				writeError(w, http.StatusServiceUnavailable, "computing uptime failed")
				return
			}
			out = append(out, m)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// findMonitor returns the status of the monitor named in the path, or writes a 404.
func findMonitor(w http.ResponseWriter, r *http.Request, mon Monitoring) (engine.MonitorStatus, bool) {
	name := r.PathValue("name")
	for _, s := range mon.Monitors() {
		if s.Name == name {
			return s, true
		}
	}
	writeError(w, http.StatusNotFound, "no monitor named "+quoteName(name))
	return engine.MonitorStatus{}, false
}

func quoteName(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func handleMonitor(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := findMonitor(w, r, cfg.Monitoring)
		if !ok {
			return
		}
		m, err := monitorFrom(r.Context(), cfg, s, cfg.Now())
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "computing uptime failed")
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
}

// timeRange reads ?from= and ?to= (RFC 3339, or a duration before now such as 24h); the
// default window is the last 24 hours.
func timeRange(r *http.Request, now time.Time) (from, to time.Time, err error) {
	parse := func(name string, def time.Time) (time.Time, error) {
		s := r.URL.Query().Get(name)
		if s == "" {
			return def, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return now.Add(-d), nil
		}
		return time.Time{}, errors.New("query parameter " + name + " must be an RFC 3339 time (2026-11-23T06:00:00Z) or a duration before now (24h)")
	}
	if from, err = parse("from", now.Add(-24*time.Hour)); err != nil {
		return
	}
	if to, err = parse("to", now); err != nil {
		return
	}
	if !from.Before(to) {
		err = errors.New("from must be before to")
	}
	return
}

func handleMonitorResults(mon Monitoring, hist MonitorHistory, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := findMonitor(w, r, mon)
		if !ok {
			return
		}
		from, to, err := timeRange(r, now())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		limit, err := intParam(r, "limit", 100, 1, 10000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		results, err := hist.ResultsFrom(r.Context(), s.Name, r.URL.Query().Get("location"), from, to, limit)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "reading results failed")
			return
		}
		out := make([]resultJSON, 0, len(results))
		for _, res := range results {
			out = append(out, resultFrom(res))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

type transitionJSON struct {
	At    time.Time `json:"at"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Cause string    `json:"cause"`
}

func handleMonitorTransitions(mon Monitoring, hist MonitorHistory, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := findMonitor(w, r, mon)
		if !ok {
			return
		}
		from, to := time.Time{}, now().Add(time.Second)
		if r.URL.Query().Has("from") || r.URL.Query().Has("to") {
			var err error
			if from, to, err = timeRange(r, now()); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		ts, err := hist.Transitions(r.Context(), s.Name, from, to)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "reading transitions failed")
			return
		}
		out := make([]transitionJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, transitionJSON{At: t.At.UTC(), From: string(t.From), To: string(t.To), Cause: t.Cause})
		}
		writeJSON(w, http.StatusOK, out)
	})
}
