package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
)

// apiError is the body of every error response: {"error": "...", "detail": "..."}.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
	// Problems lists policy problems when a reload was refused.
	Problems []string `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing useful to do
}

func writeError(w http.ResponseWriter, code int, detail string) {
	writeJSON(w, code, apiError{Error: errorName(code), Detail: detail})
}

// errorName is the short machine-readable name of a status code: "not_found", "unauthorized".
func errorName(code int) string {
	text := http.StatusText(code)
	if text == "" {
		return "error"
	}
	return strings.ReplaceAll(strings.ToLower(text), " ", "_")
}

// jsonErrors turns the plain-text errors that net/http writes by itself (405 from the mux,
// 400 for a malformed request) into the JSON error shape, so clients see one format only.
func jsonErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&plainErrorRewriter{ResponseWriter: w, r: r}, r)
	})
}

type plainErrorRewriter struct {
	http.ResponseWriter
	r         *http.Request
	rewriting bool
	wrote     bool
}

func (p *plainErrorRewriter) WriteHeader(code int) {
	if p.wrote {
		return
	}
	p.wrote = true
	ct := p.Header().Get("Content-Type")
	if code >= 400 && strings.HasPrefix(ct, "text/plain") {
		p.rewriting = true
		detail := http.StatusText(code)
		switch code {
		case http.StatusNotFound:
			detail = "no such page or endpoint: " + p.r.URL.Path
		case http.StatusMethodNotAllowed:
			detail = p.r.Method + " is not allowed on " + p.r.URL.Path
			if allow := p.Header().Get("Allow"); allow != "" {
				detail += " (allowed: " + allow + ")"
			}
		}
		p.Header().Del("Content-Length")
		writeJSON(p.ResponseWriter, code, apiError{Error: errorName(code), Detail: detail})
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *plainErrorRewriter) Write(b []byte) (int, error) {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	if p.rewriting {
		return len(b), nil // the JSON body replaced the plain text
	}
	return p.ResponseWriter.Write(b)
}

func (p *plainErrorRewriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
