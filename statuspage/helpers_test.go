package statuspage_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/httpapi"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/statuspage"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// now is the tests' present: a Tuesday noon. day(n) is midnight n days before.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func day(n int) time.Time { return now.Truncate(24*time.Hour).AddDate(0, 0, -n) }

// fixedClock is an engine.Clock that stands still at a settable time.
type fixedClock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *fixedClock { c := &fixedClock{}; c.t.Store(&t); return c }

func (c *fixedClock) Now() time.Time                        { return *c.t.Load() }
func (c *fixedClock) NewTimer(d time.Duration) engine.Timer { return timer{time.NewTimer(d)} }

type timer struct{ t *time.Timer }

func (t timer) C() <-chan time.Time        { return t.t.C }
func (t timer) Stop() bool                 { return t.t.Stop() }
func (t timer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// secret is a credential in a check URL and an error message: no public output may contain it.
const secret = "s3cr3t-pw"

const testPolicy = `
server: {public_url: "https://status.example.com"}
services:
  - {name: web, title: Website}
  - {name: api, title: Public API, description: The REST API}
  - {name: db, title: Database}
monitors:
  - {name: web-home, service: web, http: {url: "https://www.example.com/"}}
  - {name: api-a, service: api, http: {url: "https://api.example.com/a", headers: {Authorization: "Bearer ` + secret + `"}}}
  - {name: api-b, service: api, http: {url: "https://api.example.com/b"}}
  - {name: internal, http: {url: "https://internal.example.com/"}}
status_page:
  title: Example status
  description: Status of Example's services.
  history_days: 14
  show_response_times: true
  services: [web]
  groups: [{name: Backend, services: [api, db]}]
`

// fixture is a store with two weeks of history, the engine and incident manager reading it,
// and the status page served by the real HTTP handler.
type fixture struct {
	db    *sqlite.DB
	eng   *engine.Engine
	inc   *incident.Manager
	page  *statuspage.Page
	pol   *policy.Policy
	clock *fixedClock
	srv   *httptest.Server
}

type runtime struct{ p *policy.Policy }

func (r runtime) Policy() *policy.Policy       { return r.p }
func (r runtime) LoadedAt() time.Time          { return now }
func (r runtime) Reload(context.Context) error { return nil }

func parsePolicy(t testing.TB, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("t.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newFixture writes the history:
//   - sessions: day 10 00:00 to day 3 00:00, then day 2 00:00 to beyond now (day 3 has no data);
//   - web-home: up from day 10, down on day 5 10:00-10:30;
//   - api-a: up from day 10, down since now-30m; api-b: up from day 10 (api: partial outage);
//   - internal (no service): down since day 1, with the secret in the cause;
//   - daily rollups of web-home with latencies on days 9 and 8;
//
// then lets the incident manager open and resolve the automatic incidents, and declares a
// manual one on web (resolved, with a report).
func newFixture(t *testing.T, wrap func(statuspage.Monitoring) statuspage.Monitoring) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	pol := parsePolicy(t, testPolicy)
	if _, err := db.MonitorIDs(ctx, []string{"web-home", "api-a", "api-b", "internal"}); err != nil {
		t.Fatal(err)
	}
	s1, _ := db.StartSession(ctx, day(10))
	if err := db.EndSession(ctx, s1, day(3)); err != nil {
		t.Fatal(err)
	}
	s2, _ := db.StartSession(ctx, day(2))
	if err := db.EndSession(ctx, s2, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	X, U, D := upkeep.StateUnknown, upkeep.StateUp, upkeep.StateDown
	tr := func(m string, from, to upkeep.State, at time.Time, cause string) upkeep.Transition {
		return upkeep.Transition{Monitor: m, From: from, To: to, At: at, Cause: cause}
	}
	ts := []upkeep.Transition{
		tr("web-home", X, U, day(10), "ok"), tr("api-a", X, U, day(10), "ok"), tr("api-b", X, U, day(10), "ok"),
		tr("web-home", U, D, day(5).Add(10*time.Hour), "connection refused"),
		tr("web-home", D, U, day(5).Add(10*time.Hour+30*time.Minute), "ok"),
		tr("internal", X, D, day(1), "dial postgres://admin:"+secret+"@10.0.0.5/app: refused"),
		tr("api-a", U, D, now.Add(-30*time.Minute), "HTTP 503 from https://probe:"+secret+"@api.example.com/a"),
	}
	if err := db.RecordMonitoring(ctx, nil, ts); err != nil {
		t.Fatal(err)
	}
	// Results on days 9 and 8 give web-home's daily rollups (latency 100 and 300 ms medians).
	var rs []upkeep.Result
	for d, lat := range map[int]time.Duration{9: 100 * time.Millisecond, 8: 300 * time.Millisecond} {
		for i := range 10 {
			rs = append(rs, upkeep.Result{Monitor: "web-home", Location: upkeep.LocalLocation, Time: day(d).Add(time.Duration(i) * time.Hour),
				Latency: lat + time.Duration(i)*time.Millisecond, Outcome: U})
		}
	}
	if err := db.RecordMonitoring(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RollUp(ctx, now); err != nil {
		t.Fatal(err)
	}

	clock := newClock(now)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	eng := engine.New(engine.Config{Store: db, Clock: clock, Logger: logger})
	if err := eng.Apply(ctx, pol); err != nil {
		t.Fatal(err)
	}
	inc := incident.NewManager(incident.Config{Store: db, Clock: clock, Logger: logger})
	inc.Apply(pol)
	if err := inc.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	clock.t.Store(ptr(day(4).Add(9 * time.Hour)))
	manual, err := inc.Open(ctx, incident.OpenRequest{Title: "Slow logins", Services: []string{"web"}, Message: "Logins take a minute.", Author: "alice-token"})
	if err != nil {
		t.Fatal(err)
	}
	clock.t.Store(ptr(day(4).Add(10 * time.Hour)))
	if _, err := inc.PostUpdate(ctx, manual.ID, incident.UpdateRequest{Status: upkeep.StatusResolved, Message: "Logins are fast again.", Author: "alice-token"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inc.SetReport(ctx, manual.ID, incident.ReportRequest{Cause: "A full session table.", Measures: "Emptied it.", Prevention: "Expiry job."}); err != nil {
		t.Fatal(err)
	}
	clock.t.Store(ptr(now))

	var mon statuspage.Monitoring = eng
	if wrap != nil {
		mon = wrap(eng)
	}
	page := statuspage.New(statuspage.Config{Monitoring: mon, Rollups: db, Incidents: inc, Maintenance: windows{}, Logger: logger, Now: clock.Now})
	page.Apply(pol)
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: db, Runtime: runtime{pol}, StatusPage: page, Logger: logger, Now: clock.Now}))
	t.Cleanup(srv.Close)
	return &fixture{db: db, eng: eng, inc: inc, page: page, pol: pol, clock: clock, srv: srv}
}

func ptr[T any](v T) *T { return &v }

// get fetches path and returns the body, failing the test unless the status is want.
func (f *fixture) get(t testing.TB, path string, want int) string {
	t.Helper()
	return getBody(t, f.srv.URL+path, want)
}

// getBody fetches url and returns the body, failing the test unless the status is want.
func getBody(t testing.TB, url string, want int) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d: %s", url, res.StatusCode, want, b)
	}
	return string(b)
}

func httpTestServer(t testing.TB, cfg httpapi.Config) string {
	srv := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(srv.Close)
	return srv.URL
}

// windows are the fixture's maintenance windows: one active on a monitor of api, one upcoming on
// db, one over, and one on the monitor without a service (not public).
type windows struct{}

func (windows) Version() uint64 { return 0 }

func (windows) List(context.Context, string, int) ([]upkeep.Window, error) {
	return []upkeep.Window{
		{ID: "switch", Title: "Switch upgrade", Description: "Short interruptions.", Monitors: []string{"api-b"}, Notify: []string{"ops-mail"},
			Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
		{ID: "db-move", Title: "Database move", Services: []string{"db"}, Start: now.Add(48 * time.Hour), End: now.Add(50 * time.Hour)},
		{ID: "old", Title: "Old work", Services: []string{"web"}, Start: now.Add(-50 * time.Hour), End: now.Add(-48 * time.Hour)},
		{ID: "secret-box", Title: "Internal box", Monitors: []string{"internal"}, Start: now, End: now.Add(time.Hour)},
	}, nil
}
