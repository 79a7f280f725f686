package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

type fixedRuntime struct{ p *policy.Policy }

func (f fixedRuntime) Policy() *policy.Policy           { return f.p }
func (f fixedRuntime) LoadedAt() time.Time              { return time.Unix(1700000000, 0) }
func (f fixedRuntime) Reload(ctx context.Context) error { return nil }

// newTestServer serves the real handler on a real store; it returns the server and a valid token.
func newTestServer(t *testing.T, wrap func(Store) Store) (*httptest.Server, string, *bytes.Buffer) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	secret, err := upkeep.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(context.Background(), upkeep.Token{Name: "t", Prefix: upkeep.SecretPrefix(secret), CreatedAt: time.Now()}, upkeep.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("test.yaml", []byte("services: [{name: api}]\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var store Store = db
	if wrap != nil {
		store = wrap(db)
	}
	logs := &bytes.Buffer{}
	srv := httptest.NewServer(New(Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Store: store, Runtime: fixedRuntime{p}, Version: "test"}))
	t.Cleanup(srv.Close)
	return srv, secret, logs
}

func call(t *testing.T, method, url, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp, m
}

func TestErrorsAreJSONEverywhere(t *testing.T) {
	srv, token, _ := newTestServer(t, nil)
	for _, tc := range []struct {
		method, path, token string
		code                int
	}{
		{"GET", "/no/such/page", "", 404},
		{"POST", "/healthz", "", 405},
		{"GET", "/api/v1/audit?limit=0", token, 400},
		{"GET", "/api/v1/audit?limit=abc", token, 400},
		{"PUT", "/api/v1/tokens", token, 405},
		{"GET", "/api/v1/tokens", "", 401},
	} {
		resp, body := call(t, tc.method, srv.URL+tc.path, tc.token)
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || body["error"] == nil || body["detail"] == nil {
			t.Errorf("%s %s: not a JSON error: %v %v", tc.method, tc.path, resp.Header.Get("Content-Type"), body)
		}
	}
}

func TestRequestIDAndLogs(t *testing.T) {
	srv, token, logs := newTestServer(t, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/tokens?secret=dont-log-me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Request-Id", "abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("request id echoed as %q", got)
	}
	req.Header.Set("X-Request-Id", "bad id with spaces")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("unsafe request id kept: %q", got)
	}
	l := logs.String()
	if !strings.Contains(l, "request_id=abc-123") || !strings.Contains(l, "token=t") {
		t.Errorf("request log lacks id or token name:\n%s", l)
	}
	if strings.Contains(l, "dont-log-me") || strings.Contains(l, token) {
		t.Errorf("a secret reached the log:\n%s", l)
	}
}

// failingAudit is a store whose audit log cannot be written (a full disk, say).
type failingAudit struct{ Store }

func (failingAudit) AppendAudit(context.Context, upkeep.AuditEntry) (int64, error) {
	return 0, errors.New("disk full")
}

func TestRequestRefusedWhenAuditCannotBeWritten(t *testing.T) {
	srv, token, _ := newTestServer(t, func(s Store) Store { return failingAudit{s} })
	resp, body := call(t, "GET", srv.URL+"/api/v1/tokens", token)
	if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "service_unavailable" {
		t.Fatalf("status %d, body %v", resp.StatusCode, body)
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	logs := &bytes.Buffer{}
	h := recoverPanics(slog.New(slog.NewTextHandler(logs, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "goroutine") || !strings.Contains(rec.Body.String(), `"internal_server_error"`) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Error("the panic is not logged")
	}
}

func TestAuditPaging(t *testing.T) {
	srv, token, _ := newTestServer(t, nil)
	for range 5 {
		call(t, "GET", srv.URL+"/api/v1/tokens", token)
	}
	get := func(q string) []auditJSON {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/audit"+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []auditJSON
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := get("?limit=3")
	if len(first) != 3 || first[0].ID <= first[1].ID {
		t.Fatalf("first page: %+v", first)
	}
	// The request reading the audit log is itself the newest entry.
	if first[0].Path != "/api/v1/audit" || first[1].Path != "/api/v1/tokens" {
		t.Errorf("newest entries: %+v", first[:2])
	}
	next := get("?limit=3&before=" + strconv.FormatInt(first[2].ID, 10))
	if len(next) != 3 || next[0].ID >= first[2].ID {
		t.Fatalf("second page: %+v", next)
	}
}
