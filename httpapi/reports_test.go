package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// reportsServer serves the reports of a store in which api's monitor web was down 2h on
// Oct 10, 2026 while Upkeep ran all month, with policy doc; it returns the server and a token.
func reportsServer(t *testing.T, doc string) (*httptest.Server, string) {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	secret, _ := upkeep.NewTokenSecret()
	if err := db.CreateToken(ctx, upkeep.Token{Name: "auditor", Prefix: upkeep.SecretPrefix(secret), CreatedAt: time.Now()}, upkeep.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	oct := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, time.UTC) }
	id, err := db.StartSession(ctx, oct(1, 0))
	if err == nil {
		err = db.EndSession(ctx, id, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	}
	if err == nil {
		err = db.RecordMonitoring(ctx, nil, []upkeep.Transition{
			{Monitor: "web", To: upkeep.StateUp, At: oct(1, 0)},
			{Monitor: "web", To: upkeep.StateDown, At: oct(10, 1)},
			{Monitor: "web", To: upkeep.StateUp, At: oct(10, 3)},
			{Monitor: "admin", To: upkeep.StateUp, At: oct(1, 0)},
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC) }
	srv := httptest.NewServer(New(Config{Logger: slog.New(slog.DiscardHandler), Store: db, Runtime: fixedRuntime{p}, Reports: db, Now: now}))
	t.Cleanup(srv.Close)
	return srv, secret
}

const reportsPolicy = `
services: [{name: api, objectives: {availability: "99.9%", rto: 15m}}, {name: internal}]
monitors:
  - {name: web, service: api, http: {url: "http://127.0.0.1:1/"}, every: 1m}
  - {name: admin, service: internal, http: {url: "http://127.0.0.1:1/admin"}, every: 1m}
status_page: {services: [api]}
`

// get sends a GET with the token (none when empty) and returns the status, the content type
// and the body.
func get(t *testing.T, url, token string) (int, string, string) {
	t.Helper()
	code, h, body := exchange(t, "GET", url, token, "")
	return code, h.Get("Content-Type"), body
}

// reportServices returns the services of a JSON report document.
func reportServices(t *testing.T, body string) []string {
	t.Helper()
	var doc struct {
		Reports []struct {
			Service string `json:"service"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, r := range doc.Reports {
		out = append(out, r.Service)
	}
	return out
}

func TestReportsNeedATokenByDefault(t *testing.T) {
	srv, token := reportsServer(t, reportsPolicy)
	for _, path := range []string{"/reports/sla?period=2026-10", "/reports/continuity?period=2026-10"} {
		if code, _, body := get(t, srv.URL+path, ""); code != http.StatusUnauthorized || !strings.Contains(body, "Authorization: Bearer") {
			t.Errorf("%s without a token: %d %s", path, code, body)
		}
	}

	code, ctype, body := get(t, srv.URL+"/reports/sla?period=2026-10&service=api&format=json", token)
	if code != 200 || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("sla json: %d %s %s", code, ctype, body)
	}
	// 744h measured, 2h down: 0.1% allows 2678.4 s; the budget is overrun by 4521.6 s.
	var sla struct {
		Reports []struct {
			Down      float64 `json:"down_seconds"`
			Remaining float64 `json:"budget_remaining_seconds"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(body), &sla); err != nil || len(sla.Reports) != 1 || sla.Reports[0].Down != 7200 || sla.Reports[0].Remaining != -4521.6 {
		t.Errorf("sla = %+v %v", sla, err)
	}
	if code, _, body := get(t, srv.URL+"/reports/sla?period=2026-10&format=json", token); code != 200 || strings.Join(reportServices(t, body), ",") != "api,internal" {
		t.Errorf("with a token every service: %d %s", code, body)
	}
	code, ctype, body = get(t, srv.URL+"/reports/sla?period=2026-10-10..2026-10-10&service=api&format=csv", token)
	if code != 200 || ctype != "text/csv; charset=utf-8" || !strings.Contains(body, "api,2026-10-10,") {
		t.Errorf("sla csv: %d %s %s", code, ctype, body)
	}
	if code, ctype, body := get(t, srv.URL+"/reports/sla?period=2026-Q4", token); code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "@media print") {
		t.Errorf("sla html (the default): %d %s", code, ctype)
	}

	code, _, body = get(t, srv.URL+"/reports/continuity?period=2026-10&format=json&service=api", token)
	if code != 200 || !strings.Contains(body, `"status": "missed"`) || !strings.Contains(body, "RTO objective 15m0s: not measured") {
		t.Errorf("continuity: %d %s", code, body)
	}
	if code, ctype, body := get(t, srv.URL+"/reports/continuity?period=2026-10", token); code != 200 || !strings.HasPrefix(ctype, "text/html") || strings.Count(body, `<section class="service">`) != 2 {
		t.Errorf("continuity html: %d %s", code, ctype)
	}

	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/reports/sla?period=2026-13", 400, `period \"2026-13\": not a period (use a month 2026-10`},
		{"/reports/sla", 400, "the period parameter is required"},
		{"/reports/sla?period=2026-10&tz=Mars/Olympus", 400, `tz \"Mars/Olympus\": not a known time zone`},
		{"/reports/sla?period=2026-10&format=pdf", 400, `format \"pdf\": use html, json or csv`},
		{"/reports/continuity?period=2026-10&format=csv", 400, `format \"csv\": use html or json`},
		{"/reports/continuity?period=last+month", 400, `period \"last month\"`},
		{"/reports/sla?period=2026-10&service=nope", 404, `service \"nope\": no such service in the policy (services: api, internal)`},
	} {
		if code, _, body := get(t, srv.URL+c.path, token); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.path, code, body, c.code, c.want)
		}
	}
}

func TestPublicSLAReports(t *testing.T) {
	srv, token := reportsServer(t, strings.Replace(reportsPolicy, "services: [api]}", "services: [api], reports: {public: true}}", 1))
	// Anonymous: the services the status page shows, and no other.
	code, _, body := get(t, srv.URL+"/reports/sla?period=2026-10&format=json", "")
	if code != 200 || strings.Join(reportServices(t, body), ",") != "api" {
		t.Errorf("public report: %d %s", code, body)
	}
	if code, _, body := get(t, srv.URL+"/reports/sla?period=2026-10&service=internal", ""); code != 404 || !strings.Contains(body, `service \"internal\" is not on the status page`) {
		t.Errorf("a hidden service: %d %s", code, body)
	}
	if code, _, body := get(t, srv.URL+"/reports/sla?period=nope", ""); code != 400 || !strings.Contains(body, `period \"nope\"`) {
		t.Errorf("public bad period: %d %s", code, body)
	}
	// With a token: every service. A wrong token is refused, not served as anonymous.
	if code, _, body := get(t, srv.URL+"/reports/sla?period=2026-10&service=internal&format=json", token); code != 200 || strings.Join(reportServices(t, body), ",") != "internal" {
		t.Errorf("with a token: %d %s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/reports/sla?period=2026-10", "upk_wrong"); code != 401 {
		t.Errorf("a wrong token: %d", code)
	}
	// The continuity report stays private.
	if code, _, _ := get(t, srv.URL+"/reports/continuity?period=2026-10", ""); code != 401 {
		t.Errorf("public continuity report: %d", code)
	}
}
