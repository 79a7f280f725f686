package heartbeat

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

const (
	backupUUID = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
	pingKey    = "k3y-0f-the-project"
)

// testPolicy has a period heartbeat with a fixed UUID, a cron heartbeat in a zone with daylight
// saving time and a slug of its own, and one with a generated UUID.
const testPolicy = `
server: {ping_key: "${PING_KEY}"}
monitors:
  - {name: backup, heartbeat: {period: 1h, grace: 10m, uuid: ` + backupUUID + `}}
  - {name: nightly, heartbeat: {cron: "0 6 * * *", tz: Europe/Berlin, grace: 1h, slug: nightly-export}}
  - {name: hourly, heartbeat: {cron: "0 * * * *", tz: Europe/Berlin, grace: 5m}}
`

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// ingester records what the service ingests.
type ingester struct {
	mu      sync.Mutex
	results []upkeep.Result
}

func (in *ingester) Ingest(r upkeep.Result) {
	in.mu.Lock()
	in.results = append(in.results, r)
	in.mu.Unlock()
}

// take returns the results ingested since the last call.
func (in *ingester) take() []upkeep.Result {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.results
	in.results = nil
	return out
}

// env is a test's service with its store, clock, engine stand-in and HTTP server.
type env struct {
	t   *testing.T
	dir string
	db  *sqlite.DB
	clk *clock
	in  *ingester
	svc *Service
	pol *policy.Policy
	srv *httptest.Server
}

func parsePolicy(t testing.TB, doc, key string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("test.yaml", []byte(doc), func(name string) (string, bool) {
		if name == "PING_KEY" && key != "" {
			return key, true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newEnv starts a service on a fresh store at start, with testPolicy applied.
func newEnv(t *testing.T, start time.Time) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "data"), clk: &clock{t: start}}
	e.pol = parsePolicy(t, testPolicy, pingKey)
	e.open()
	t.Cleanup(e.close)
	return e
}

// open opens the store and starts a new service on it, as after a restart.
func (e *env) open() {
	e.t.Helper()
	db, err := sqlite.Open(context.Background(), e.dir, testLogger(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	e.db, e.in = db, &ingester{}
	e.svc = New(db, e.in, testLogger(e.t), e.clk.Now)
	if err := e.svc.Apply(context.Background(), e.pol); err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ping/", e.svc.Handler())
	e.srv = httptest.NewServer(mux)
}

// close stops the server and closes the store.
func (e *env) close() {
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			e.t.Errorf("close store: %v", err)
		}
		e.db = nil
	}
}

// restart closes everything and opens it again on the same store.
func (e *env) restart() {
	e.close()
	e.open()
}

// do sends a request and returns the status and body of the answer.
func (e *env) do(method, path, body string) (int, string, http.Header) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "upkeep-test/1")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// ping sends a GET that must be answered OK.
func (e *env) ping(path string) {
	e.t.Helper()
	if status, body, _ := e.do(http.MethodGet, path, ""); status != http.StatusOK || body != "OK" {
		e.t.Fatalf("GET %s = %d %q", path, status, body)
	}
}

// evaluator returns the evaluator of the named monitor of the policy.
func (e *env) evaluator(name string) Evaluator {
	e.t.Helper()
	for _, m := range e.pol.Monitors {
		if m.Name == name {
			ev, err := e.svc.Evaluator(m)
			if err != nil {
				e.t.Fatal(err)
			}
			return ev
		}
	}
	e.t.Fatalf("no monitor %q", name)
	return nil
}

// pings returns the stored pings of monitor, oldest first.
func (e *env) pings(monitor string) []sqlite.Ping {
	e.t.Helper()
	ps, err := e.db.Pings(context.Background(), monitor, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
		ps[i], ps[j] = ps[j], ps[i]
	}
	return ps
}
