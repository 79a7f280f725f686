package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func send(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	code, _, b := exchange(t, method, url, token, body)
	return code, b
}

// exchange sends a request with the token (none when empty) and returns the status, the
// response's headers and its body.
func exchange(t *testing.T, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestIncidentsAPI(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	secret, _ := upkeep.NewTokenSecret()
	if err := db.CreateToken(ctx, upkeep.Token{Name: "alice", Prefix: upkeep.SecretPrefix(secret), CreatedAt: time.Now()}, upkeep.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("t.yaml", []byte("server: {public_url: 'http://status.test'}\nservices: [{name: api}]\nmonitors: [{name: api-a, service: api, http: {url: 'http://x/'}}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Escalations = []policy.Escalation{{Name: "default", Steps: []policy.EscalationStep{{Notify: []string{"mail"}}}}}
	m := incident.NewManager(incident.Config{Store: db})
	m.Apply(p)
	srv := httptest.NewServer(New(Config{Logger: slog.New(slog.DiscardHandler), Store: db, Runtime: fixedRuntime{p}, Incidents: m}))
	t.Cleanup(srv.Close)
	u := srv.URL

	if code, _ := send(t, "GET", u+"/api/v1/incidents", "", ""); code != 401 {
		t.Errorf("without a token: %d", code)
	}
	code, body := send(t, "POST", u+"/api/v1/incidents", secret, `{"title": "Slow logins", "impact": "minor", "services": ["api"], "message": "looking"}`)
	if code != 201 || !strings.Contains(body, `"author": "alice"`) || !strings.Contains(body, `"status": "investigating"`) {
		t.Fatalf("open: %d %s", code, body)
	}
	for _, bad := range []string{`{"title": ""}`, `{"title": "x", "status": "on fire"}`, `{"title": "x", "services": ["nope"]}`, `{"title": "x", "colour": "red"}`, `not json`} {
		if code, body := send(t, "POST", u+"/api/v1/incidents", secret, bad); code != 400 || !strings.Contains(body, `"error": "bad_request"`) {
			t.Errorf("open %s: %d %s", bad, code, body)
		}
	}
	// An automatic incident, opened by a monitor.
	if err := db.RecordMonitoring(ctx, nil, []upkeep.Transition{{Monitor: "api-a", From: upkeep.StateUp, To: upkeep.StateDown, At: time.Now(), Cause: "HTTP 503"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	code, body = send(t, "GET", u+"/api/v1/incidents?state=open", secret, "")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 2 || list[0]["id"].(float64) != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ := send(t, "GET", u+"/api/v1/incidents?state=maybe", secret, ""); code != 400 {
		t.Errorf("bad state: %d", code)
	}
	if code, _ := send(t, "GET", u+"/api/v1/incidents/99", secret, ""); code != 404 {
		t.Errorf("missing: %d", code)
	}
	if code, body := send(t, "GET", u+"/api/v1/notifications?state=pending", secret, ""); code != 200 || !strings.Contains(body, `"key": "incident/2/step/0/mail/down"`) {
		t.Errorf("notifications: %d %s", code, body)
	}

	// The acknowledgement link: GET shows a form and changes nothing; POST acknowledges.
	tok, err := m.AckToken(ctx, 2, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	code, body = send(t, "GET", u+"/ack/"+tok, "", "")
	if code != 200 || !strings.Contains(body, `<form method="post">`) || !strings.Contains(body, "api is down") {
		t.Errorf("ack page: %d %s", code, body)
	}
	if inc, _ := m.Get(ctx, 2); inc.Acknowledged() {
		t.Error("GET acknowledged the incident")
	}
	if code, body = send(t, "POST", u+"/ack/"+tok, "", ""); code != 200 || !strings.Contains(body, "Acknowledged") {
		t.Errorf("ack: %d %s", code, body)
	}
	if inc, _ := m.Get(ctx, 2); inc.AcknowledgedBy != "ack link" {
		t.Errorf("acknowledged by %q", inc.AcknowledgedBy)
	}
	if code, _ = send(t, "POST", u+"/ack/"+tok[:len(tok)-2]+"xx", "", ""); code != 404 {
		t.Errorf("forged link: %d", code)
	}

	// Updates, acknowledgement through the API, resolution, report.
	if code, body = send(t, "POST", u+"/api/v1/incidents/1/ack", secret, ""); code != 200 || !strings.Contains(body, `"acknowledged_by": "alice"`) {
		t.Errorf("ack: %d %s", code, body)
	}
	if code, body = send(t, "PUT", u+"/api/v1/incidents/1/report", secret, `{"cause": "x"}`); code != 409 {
		t.Errorf("report on an open incident: %d %s", code, body)
	}
	if code, body = send(t, "POST", u+"/api/v1/incidents/1/updates", secret, `{"status": "resolved", "message": "fixed"}`); code != 201 || !strings.Contains(body, `"duration_seconds"`) {
		t.Errorf("resolve: %d %s", code, body)
	}
	code, body = send(t, "PUT", u+"/api/v1/incidents/1/report", secret, `{"cause": "cache", "measures": "flushed", "prevention": "jitter"}`)
	if code != 200 || !regexp.MustCompile(`"report": \{\s+"cause": "cache"`).MatchString(body) || !strings.Contains(body, "[resolved] fixed (alice)") {
		t.Errorf("report: %d %s", code, body)
	}
	code, body = send(t, "PUT", u+"/api/v1/incidents/1/report", secret, `{"cause": "cache", "timeline": [{"at": "2026-03-01T10:00:00Z", "text": "edited"}]}`)
	if code != 200 || !strings.Contains(body, `"text": "edited"`) {
		t.Errorf("edited report: %d %s", code, body)
	}
}
