package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxCaller
)

// caller is filled in by requireToken and read by logRequests, which runs outside it: a
// context value set downstream is not visible upstream, a shared pointer is.
type caller struct{ token string }

// requestID returns the request's id (from X-Request-Id when the client sent a sane one).
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, id)))
	})
}

// saneRequestID accepts client-chosen ids that are short and printable, so they can be logged
// and stored without escaping.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request. It logs the path without the query string: queries
// may carry signed links or keys, which must not reach logs.
func logRequests(logger *slog.Logger, now func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		rec := &statusRecorder{ResponseWriter: w}
		who := &caller{}
		r = r.WithContext(context.WithValue(r.Context(), ctxCaller, who))
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		level := slog.LevelDebug // probes and pages are frequent; the API is logged at info
		if strings.HasPrefix(r.URL.Path, "/api/") {
			level = slog.LevelInfo
		}
		if rec.status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", now().Sub(start)),
			slog.String("remote", r.RemoteAddr),
			slog.String("request_id", requestID(r.Context())),
		}
		if who.token != "" {
			attrs = append(attrs, slog.String("token", who.token))
		}
		logger.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}

// recoverPanics turns a panic in a handler into a 500 JSON error. The stack goes to the log for
// the developers, never to the client.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.Error("handler panicked", "path", r.URL.Path, "request_id", requestID(r.Context()),
				"panic", v, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error; see the server log for request "+requestID(r.Context()))
		}()
		next.ServeHTTP(w, r)
	})
}

// requireToken authenticates requests with "Authorization: Bearer <token>". With audit, it
// writes the audit entry before the request is handled: an API action that cannot be audited is
// refused. (Metrics scrapes are authenticated but not audited: they are not actions.)
func requireToken(logger *slog.Logger, store Store, now func() time.Time, audit bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		secret, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="upkeep"`)
			writeError(w, http.StatusUnauthorized, "missing \"Authorization: Bearer <token>\" header; create a token with `upkeep token create NAME`")
			return
		}
		tok, err := store.ActiveTokenByHash(r.Context(), upkeep.HashToken(secret))
		if errors.Is(err, upkeep.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="upkeep", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "the token is unknown or revoked")
			return
		}
		if err != nil {
			logger.Error("looking up API token", "err", err)
			writeError(w, http.StatusServiceUnavailable, "the store is not available")
			return
		}
		at := now()
		if !audit {
			store.TouchToken(tok.Name, at)
			next.ServeHTTP(w, r)
			return
		}
		if _, err := store.AppendAudit(r.Context(), upkeep.AuditEntry{
			Time:       at,
			Token:      tok.Name,
			Method:     r.Method,
			Path:       r.URL.Path,
			RequestID:  requestID(r.Context()),
			RemoteAddr: r.RemoteAddr,
		}); err != nil {
			logger.Error("writing audit entry", "err", err)
			writeError(w, http.StatusServiceUnavailable, "the audit log could not be written, so the request was not handled")
			return
		}
		store.TouchToken(tok.Name, at)
		if c, ok := r.Context().Value(ctxCaller).(*caller); ok {
			c.token = tok.Name
		}
		next.ServeHTTP(w, r)
	})
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	secret = strings.TrimSpace(secret)
	return secret, secret != ""
}
