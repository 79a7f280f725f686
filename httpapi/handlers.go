package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleReadyz answers 200 only when the store answers and a policy is in force.
func handleReadyz(store Store, rt Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if rt.Policy() == nil {
			writeError(w, http.StatusServiceUnavailable, "no policy loaded yet")
			return
		}
		if err := store.Ping(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, "the store does not answer")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upkeep</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1f24;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}a{color:#7cb7ff}}</style></head>
<body><h1>Upkeep is running</h1>
<p>Policy: {{.Policy}}. {{.Services}} service(s) declared.</p>
<ul><li><a href="/healthz">/healthz</a>: the process is alive</li>
<li><a href="/readyz">/readyz</a>: the store is open and a policy is in force</li>
<li><code>/api/v1/</code>: the API (needs a token: <code>upkeep token create NAME</code>)</li></ul>
<p><small>Upkeep {{.Version}}</small></p></body></html>
`))

// handleIndex is the status page when the policy has one, else a landing page.
func handleIndex(rt Runtime, version string, sp StatusPage, wrap func(http.Handler) http.Handler) http.Handler {
	var page http.Handler
	if sp != nil {
		page = wrap(sp.HandlePage())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if page != nil && sp.Enabled() {
			page.ServeHTTP(w, r)
			return
		}
		data := struct {
			Policy   string
			Services int
			Version  string
		}{Policy: "none loaded", Version: version}
		if p := rt.Policy(); p != nil {
			data.Policy = p.File
			data.Services = len(p.Services)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, data)
	})
}

type policyResponse struct {
	File     string    `json:"file"`
	Summary  string    `json:"summary"`
	LoadedAt time.Time `json:"loaded_at"`
	// Source is the policy as written: ${VAR} references are shown, never their values.
	Source string `json:"source"`
}

func handlePolicy(rt Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := rt.Policy()
		if p == nil {
			writeError(w, http.StatusServiceUnavailable, "no policy loaded yet")
			return
		}
		writeJSON(w, http.StatusOK, policyResponse{File: p.File, Summary: p.Summary(), LoadedAt: rt.LoadedAt().UTC(), Source: string(p.Source)})
	})
}

func handleReload(rt Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := rt.Reload(r.Context())
		var problems policy.Problems
		switch {
		case errors.As(err, &problems):
			resp := apiError{Error: "invalid_policy", Detail: "the new policy is invalid; the previous one stays in force"}
			for _, p := range problems {
				resp.Problems = append(resp.Problems, p.String())
			}
			writeJSON(w, http.StatusUnprocessableEntity, resp)
		case err != nil:
			writeError(w, http.StatusInternalServerError, err.Error())
		default:
			p := rt.Policy()
			writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded", "summary": p.Summary()})
		}
	})
}

func handleTokens(store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		toks, err := store.Tokens(r.Context())
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "listing tokens failed")
			return
		}
		if toks == nil {
			toks = []upkeep.Token{}
		}
		writeJSON(w, http.StatusOK, toks)
	})
}

type auditJSON struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Token      string    `json:"token"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	RequestID  string    `json:"request_id"`
	RemoteAddr string    `json:"remote_addr"`
}

// handleAudit pages through the audit log, newest first: ?limit=N (1-1000, default 100) and
// ?before=ID to continue after the last entry of the previous page.
func handleAudit(store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 100, 1, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		before, err := intParam(r, "before", 0, 0, 1<<62)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		entries, err := store.Audit(r.Context(), int64(before), limit)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "reading the audit log failed")
			return
		}
		out := make([]auditJSON, 0, len(entries))
		for _, e := range entries {
			out = append(out, auditFromEntry(e))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func auditFromEntry(e upkeep.AuditEntry) auditJSON {
	return auditJSON{ID: e.ID, Time: e.Time.UTC(), Token: e.Token, Method: e.Method, Path: e.Path, RequestID: e.RequestID, RemoteAddr: e.RemoteAddr}
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errors.New("query parameter " + name + " must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
	}
	return n, nil
}
