package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

const resultsPolicy = `
agents: [{name: eu-west}, {name: us-east}]
monitors:
  - {name: api, http: {url: "http://localhost/a"}}
  - {name: web, http: {url: "http://localhost/b"}}
`

// resultsServer is the real handler on a real store with a policy that has agents; its clock
// is fixed at now.
type resultsServer struct {
	h     http.Handler
	db    *sqlite.DB
	token string
	now   time.Time
}

func newResultsServer(t testing.TB) *resultsServer {
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
	if err := db.CreateToken(context.Background(), upkeep.Token{Name: "agent", Prefix: upkeep.SecretPrefix(secret), CreatedAt: time.Now()}, upkeep.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("test.yaml", []byte(resultsPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := New(Config{Store: db, Runtime: fixedRuntime{p}, Monitoring: policyMonitors{p}, Now: func() time.Time { return now }})
	return &resultsServer{h: h, db: db, token: secret, now: now}
}

// policyMonitors is the monitoring engine as far as the results API needs it: the monitors of
// the policy, with no uptime.
type policyMonitors struct{ p *policy.Policy }

func (m policyMonitors) Monitors() []engine.MonitorStatus {
	var out []engine.MonitorStatus
	for _, pm := range m.p.Monitors {
		out = append(out, engine.MonitorStatus{Name: pm.Name})
	}
	return out
}

func (policyMonitors) Uptime(context.Context, string, time.Time, time.Time) (engine.Uptime, error) {
	return engine.Uptime{}, nil
}

func (s *resultsServer) get(path string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (s *resultsServer) post(body string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/results", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

type answer struct {
	Location  string `json:"location"`
	Accepted  int    `json:"accepted"`
	Duplicate int    `json:"duplicate"`
	Rejected  int    `json:"rejected"`
	Problems  []struct {
		Index int    `json:"index"`
		Key   string `json:"key"`
		Error string `json:"error"`
	} `json:"problems"`
	Detail string `json:"detail"`
}

func decodeAnswer(t *testing.T, body string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return a
}

func TestResultsBatch(t *testing.T) {
	s := newResultsServer(t)
	at := func(d time.Duration) string { return s.now.Add(d).Format(time.RFC3339Nano) }
	batch := fmt.Sprintf(`{"location": "eu-west", "results": [
		{"monitor": "api", "time": %q, "outcome": "up", "latency_ms": 12.5, "status": 200, "key": "k1"},
		{"monitor": "api", "time": %q, "outcome": "down", "error": "connection refused", "key": "k2"},
		{"monitor": "web", "time": %q, "outcome": "up", "key": "k3"},
		{"monitor": "api", "time": "yesterday", "outcome": "up", "key": "k4"},
		{"monitor": "nope", "time": %q, "outcome": "up"},
		{"monitor": "web", "time": %q, "outcome": "sideways"},
		{"monitor": "web", "time": %q, "outcome": "up", "colour": "blue"},
		{"monitor": "web", "time": %q, "outcome": "up"},
		{"monitor": "web", "time": %q, "outcome": "up"}
	]}`, at(-2*time.Minute), at(-time.Minute), at(-time.Minute), at(0), at(0), at(0), at(10*time.Minute), at(-30*24*time.Hour))

	code, body := s.post(batch)
	if code != http.StatusOK {
		t.Fatalf("first batch: %d %s", code, body)
	}
	a := decodeAnswer(t, body)
	if a.Location != "eu-west" || a.Accepted != 3 || a.Duplicate != 0 || a.Rejected != 6 {
		t.Errorf("first batch: %+v", a)
	}
	wantProblems := []string{
		`results[3].time: "yesterday" is not an RFC 3339 time`,
		`results[4].monitor: "nope" is not a monitor of the policy`,
		`results[5].outcome: "sideways" is not up, degraded or down`,
		`results[6].colour: unknown field`,
		`results[7].time: ` + at(10*time.Minute) + ` is 10m0s in the future`,
		`results[8].time: ` + at(-30*24*time.Hour) + ` is older than the raw history kept`,
	}
	for i, w := range wantProblems {
		if i >= len(a.Problems) || !strings.HasPrefix(a.Problems[i].Error, w) {
			t.Errorf("problem %d: got %+v, want it to start with %q", i, a.Problems, w)
		}
	}
	if len(a.Problems) > 0 && a.Problems[0].Key != "k4" {
		t.Errorf("the problem does not name the result's key: %+v", a.Problems[0])
	}

	// The agent did not get the answer and sends the batch again: nothing is doubled.
	code, body = s.post(batch)
	if a := decodeAnswer(t, body); code != http.StatusOK || a.Accepted != 0 || a.Duplicate != 3 || a.Rejected != 6 {
		t.Errorf("the same batch again: %d %+v", code, a)
	}

	// Stored under their location, beside the server's own results, which they do not replace.
	if err := s.db.RecordMonitoring(t.Context(), []upkeep.Result{{Monitor: "api", Time: s.now.Add(-time.Minute), Outcome: upkeep.StateUp}}, nil); err != nil {
		t.Fatal(err)
	}
	remote, err := s.db.ResultsFrom(t.Context(), "api", "eu-west", time.Time{}, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(remote) != 2 || remote[0].Outcome != upkeep.StateDown || remote[0].Error != "connection refused" || remote[1].Latency != 12500*time.Microsecond || remote[1].Code != 200 {
		t.Errorf("results from eu-west: %+v", remote)
	}
	local, err := s.db.ResultsFrom(t.Context(), "api", upkeep.LocalLocation, time.Time{}, time.Time{}, 10)
	if err != nil || len(local) != 1 {
		t.Errorf("local results: %+v, %v", local, err)
	}
	all, err := s.db.Results(t.Context(), "api", time.Time{}, time.Time{}, 10)
	if err != nil || len(all) != 3 {
		t.Errorf("every location: %+v, %v", all, err)
	}

	// The API shows them by location.
	for _, tc := range []struct {
		query string
		want  []string // locations, newest first
	}{
		{"?location=eu-west", []string{"eu-west", "eu-west"}},
		{"?location=local", []string{"local"}},
		{"?location=us-east", nil},
		{"", []string{"local", "eu-west", "eu-west"}}, // at the same time, local first
	} {
		code, body := s.get("/api/v1/monitors/api/results" + tc.query)
		var got []struct {
			Location string `json:"location"`
		}
		if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
			t.Fatalf("results%s: %d %s", tc.query, code, body)
		}
		var locs []string
		for _, g := range got {
			locs = append(locs, g.Location)
		}
		if strings.Join(locs, ",") != strings.Join(tc.want, ",") {
			t.Errorf("results%s: locations %q, want %q", tc.query, locs, tc.want)
		}
	}
}

func TestResultsBatchRefused(t *testing.T) {
	s := newResultsServer(t)
	ok := fmt.Sprintf(`{"monitor": "api", "time": %q, "outcome": "up"}`, s.now.Format(time.RFC3339))
	for _, tc := range []struct {
		name, body string
		code       int
		detail     string
	}{
		{"not JSON", `{"location": "eu-west", "results": [`, 400, "the JSON ends too early"},
		{"the server's own location", `{"location": "local", "results": [` + ok + `]}`, 400, `location: "local" is the server itself`},
		{"no location", `{"results": [` + ok + `]}`, 400, "location: missing"},
		{"not an agent", `{"location": "mars", "results": [` + ok + `]}`, 400, `location: "mars" is not an agent of the policy`},
		{"unknown field", `{"location": "eu-west", "results": [], "extra": 1}`, 400, "extra: unknown field"},
		{"no results", `{"location": "eu-west"}`, 400, "results: missing"},
		{"results not a list", `{"location": "eu-west", "results": 3}`, 400, "results: number where a list was expected"},
		{"too many", `{"location": "eu-west", "results": [` + strings.Repeat(ok+",", 1000) + ok + `]}`, 400, "results: 1001 results, at most 1000"},
		{"too large", `{"location": "eu-west", "results": [], "x": "` + strings.Repeat("a", 1<<20) + `"}`, 413, "larger than"},
		{"two values", `{"location": "eu-west", "results": []} {}`, 400, "unexpected data after the JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.post(tc.body)
			if a := decodeAnswer(t, body); code != tc.code || !strings.Contains(a.Detail, tc.detail) {
				t.Errorf("%d %s, want %d with %q", code, body, tc.code, tc.detail)
			}
		})
	}

	// Without a token the endpoint is like every other of /api/v1.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/results", strings.NewReader(`{"location": "eu-west", "results": []}`))
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", rec.Code)
	}
}

// FuzzResults serves arbitrary bodies through the real handler and store: the answer is a
// 2xx or a 4xx, never a 5xx (or a panic), and the counts add up.
func FuzzResults(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
	for _, seed := range []string{
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "` + now + `", "outcome": "up", "latency_ms": 3, "status": 200, "error": "", "key": "a"}]}`,
		`{"location": "us-east", "results": [{"monitor": "web", "time": "` + now + `", "outcome": "down", "error": "timeout"}, {"monitor": "api"}]}`,
		`{"location": "local", "results": []}`,
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "2026-11-23T12:00:00.123456789+02:00", "outcome": "degraded", "latency_ms": 1e300}]}`,
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "` + now + `", "outcome": "up", "status": -1}, null, 1, "x", []]}`,
		`{"location": 5}`,
		`[]`,
		``,
		`{"location": "eu-west", "results": [{"monitor": "\u0000", "time": "` + now + `", "outcome": "up", "key": "\ud800"}]}`,
	} {
		f.Add(seed)
	}
	s := newResultsServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		code, answerBody := s.post(body)
		if code >= 500 || code < 200 {
			t.Fatalf("%q: %d %s", body, code, answerBody)
		}
		if code == http.StatusOK {
			a := decodeAnswer(t, answerBody)
			if a.Accepted < 0 || a.Duplicate < 0 || a.Rejected != len(a.Problems) {
				t.Fatalf("%q: counts %+v", body, a)
			}
		}
	})
}
