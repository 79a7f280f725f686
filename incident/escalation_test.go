package incident_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
)

const escalationPolicy = `
server: {public_url: "https://upkeep.example.com"}
services: [{name: api, title: Public API}]
monitors:
  - {name: api-a, service: api, http: {url: "http://localhost/a"}}
  - {name: api-b, service: api, http: {url: "http://localhost/b"}}
`

var defaultEscalation = esc("default", 30*time.Minute, step(0, "mail"), step(3*time.Minute, "sms"), step(15*time.Minute, "boss", "mail"))

func want(t *testing.T, what string, got []sent, w ...string) {
	t.Helper()
	g := summary(got)
	if len(g) == 0 && len(w) == 0 {
		return
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: sent %q, want %q", what, g, w)
	}
}

func TestEscalation(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, defaultEscalation)
	keys := map[string]int{}
	record := func(s []sent) []sent {
		for _, x := range s {
			keys[x.Event.Key]++
		}
		return s
	}

	// The outage began at t0 (first failed check) and was confirmed 2 minutes later.
	h.clock.Set(t0.Add(2 * time.Minute))
	opened := h.clock.Now()
	h.transition("api-a", upkeep.StateUp, upkeep.StateDown, t0)
	got := record(h.step())
	want(t, "at once", got, "mail down")
	ev := got[0].Event
	if ev.Incident.Title != "Public API is down" || ev.Monitor != "api-a" || ev.Incident.Impact != "major" ||
		!strings.HasPrefix(ev.Incident.AckURL, "https://upkeep.example.com/ack/") || ev.Incident.URL != "https://upkeep.example.com/api/v1/incidents/1" {
		t.Errorf("event = %+v", ev)
	}

	// A second monitor of the same service joins: nobody is paged again.
	h.transition("api-b", upkeep.StateUp, upkeep.StateDown, t0.Add(time.Minute))
	want(t, "second monitor", record(h.step()))

	h.clock.Set(opened.Add(3*time.Minute - time.Second))
	want(t, "just before step 2", record(h.step()))
	h.clock.Set(opened.Add(3 * time.Minute))
	want(t, "step 2", record(h.step()), "sms down")
	want(t, "step 2 again", record(h.step()))

	// Upkeep stops before step 3 and comes back after it fell due: step 3 runs once.
	h.restart()
	h.clock.Set(opened.Add(20 * time.Minute))
	want(t, "step 3 after restart", record(h.step()), "boss down", "mail down")
	h.restart()
	want(t, "step 3 after a second restart", record(h.step()))

	// Reminders every 30 minutes after the last step (15m), to everyone notified so far.
	h.clock.Set(opened.Add(45 * time.Minute))
	want(t, "reminder 1", record(h.step()), "boss reminder", "mail reminder", "sms reminder")
	h.clock.Set(opened.Add(74 * time.Minute))
	want(t, "before reminder 2", record(h.step()))
	h.clock.Set(opened.Add(75 * time.Minute))
	want(t, "reminder 2", record(h.step()), "boss reminder", "mail reminder", "sms reminder")
	// Three hours away: one reminder, not a burst.
	h.restart()
	h.clock.Set(opened.Add(4 * time.Hour))
	want(t, "reminder after a long stop", record(h.step()), "boss reminder", "mail reminder", "sms reminder")

	// Acknowledged: everyone notified hears it, and nothing more is escalated.
	if _, err := h.m.Acknowledge(t.Context(), 1, "alice"); err != nil {
		t.Fatal(err)
	}
	want(t, "ack", record(h.step()), "boss acknowledged", "mail acknowledged", "sms acknowledged")
	h.clock.Set(opened.Add(10 * time.Hour))
	want(t, "after ack", record(h.step()))

	// Recovery: one monitor is not enough; the second resolves it, everyone notified hears it.
	h.transition("api-a", upkeep.StateDown, upkeep.StateUp, opened.Add(10*time.Hour))
	want(t, "one recovered", record(h.step()))
	end := opened.Add(10*time.Hour + time.Minute)
	h.transition("api-b", upkeep.StateDown, upkeep.StateUp, end)
	want(t, "resolved", record(h.step()), "boss recovered", "mail recovered", "sms recovered")

	for k, n := range keys {
		if n != 1 {
			t.Errorf("key %s sent %d times", k, n)
		}
	}
	inc, err := h.db.Incident(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Open() || inc.Status != upkeep.StatusResolved || inc.Duration() != end.Sub(t0) || inc.AcknowledgedBy != "alice" {
		t.Errorf("incident = %+v (duration %s)", inc, inc.Duration())
	}
	if len(h.incidents()) != 1 {
		t.Errorf("incidents = %+v", h.incidents())
	}
	tl := inc.Timeline()
	if len(tl) < 8 || !strings.Contains(tl[0].Text, "api-a is down") || !strings.Contains(tl[len(tl)-1].Text, "resolved automatically") {
		t.Errorf("timeline = %+v", tl)
	}
}

func TestGroupingAndDependencies(t *testing.T) {
	doc := `
services:
  - {name: db}
  - {name: api, depends_on: [db]}
  - {name: web, depends_on: [api]}
  - {name: other}
monitors:
  - {name: db-1, service: db, http: {url: "http://localhost/"}}
  - {name: api-1, service: api, http: {url: "http://localhost/"}}
  - {name: api-2, service: api, http: {url: "http://localhost/"}}
  - {name: web-1, service: web, http: {url: "http://localhost/"}}
  - {name: other-1, service: other, http: {url: "http://localhost/"}}
  - {name: other-slow, service: other, http: {url: "http://localhost/"}, incident_on: degraded}
  - {name: lonely-1, http: {url: "http://localhost/"}}
  - {name: lonely-2, http: {url: "http://localhost/"}}
`
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, doc, t0, esc("default", 0, step(0, "mail")), esc("quiet", 0, step(0, "pager")))
	h.pol.Monitors[5].Escalation = "quiet"
	down := func(m string, at time.Duration) { h.transition(m, upkeep.StateUp, upkeep.StateDown, t0.Add(at)) }
	up := func(m string, at time.Duration) { h.transition(m, upkeep.StateDown, upkeep.StateUp, t0.Add(at)) }

	down("db-1", 0)
	down("api-1", time.Second)
	down("api-2", 2*time.Second)
	down("web-1", 3*time.Second)
	want(t, "root incident", h.step(), "mail down")
	down("lonely-1", 4*time.Second)
	down("lonely-2", 5*time.Second)
	want(t, "two monitors without a service", h.step(), "mail down", "mail down")
	// Degraded is no outage for a monitor with incident_on: down, and one for incident_on: degraded.
	h.transition("other-1", upkeep.StateUp, upkeep.StateDegraded, t0.Add(6*time.Second))
	want(t, "degraded, incident_on down", h.step())
	h.transition("other-slow", upkeep.StateUp, upkeep.StateDegraded, t0.Add(7*time.Second))
	want(t, "degraded, incident_on degraded", h.step(), "pager degraded")

	incs := h.incidents()
	titles := map[string]upkeep.Incident{}
	for _, inc := range incs {
		titles[inc.Title] = inc
	}
	root := titles["db is down"]
	if len(incs) != 4 || !reflect.DeepEqual(root.Services, []string{"db", "api", "web"}) || len(root.Monitors) != 4 {
		t.Fatalf("incidents = %+v", incs)
	}
	if _, ok := titles["lonely-1 is down"]; !ok {
		t.Errorf("no incident of its own for a monitor without a service: %+v", incs)
	}
	if inc := titles["other is degraded"]; inc.Impact != upkeep.ImpactMinor || inc.Escalation != "quiet" {
		t.Errorf("degraded incident = %+v", inc)
	}

	up("db-1", time.Minute)
	up("api-1", time.Minute)
	up("api-2", time.Minute)
	want(t, "partly recovered", h.step())
	up("web-1", 2*time.Minute)
	want(t, "recovered", h.step(), "mail recovered")
	inc, _ := h.db.Incident(t.Context(), root.ID)
	if inc.Open() || inc.Duration() != 2*time.Minute {
		t.Errorf("root incident = %+v", inc)
	}

	// Applying again (a restart, a second catch-up) changes nothing: the watermark holds.
	h.restart()
	want(t, "after restart", h.step())
	if n := len(h.incidents()); n != 4 {
		t.Errorf("%d incidents after restart, want 4", n)
	}
	// A new outage after resolution is a new incident.
	down("db-1", time.Hour)
	want(t, "new outage", h.step(), "mail down")
	if n := len(h.incidents()); n != 5 {
		t.Errorf("%d incidents, want 5", n)
	}
}

func TestOutboxRetries(t *testing.T) {
	if got := incident.Backoff(1, 0); got != 2500*time.Millisecond {
		t.Errorf("Backoff(1, 0) = %s", got)
	}
	if got := incident.Backoff(3, 0.5); got != 15*time.Second {
		t.Errorf("Backoff(3, 0.5) = %s", got)
	}
	if got := incident.Backoff(40, 0.999); got > 10*time.Minute || got < 9*time.Minute {
		t.Errorf("Backoff(40, .999) = %s", got)
	}

	doc := `
services: [{name: api}]
monitors: [{name: api-a, service: api, http: {url: "http://localhost/a"}}]
`
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, doc, t0, esc("default", 0, step(0, "mail", "sms", "missing")))
	h.rec.fail["mail"] = []error{errTemporary, errTemporary}
	h.rec.fail["sms"] = []error{fmt.Errorf("number invalid: %w", incident.ErrPermanent)}
	h.transition("api-a", upkeep.StateUp, upkeep.StateDown, t0)
	want(t, "first attempt", h.step())

	failed, err := h.db.Notifications(t.Context(), upkeep.DeliveryFailed, 0)
	if err != nil || len(failed) != 2 {
		t.Fatalf("failed = %+v, %v", failed, err)
	}
	for _, n := range failed {
		if n.Attempts != 1 || !(strings.Contains(n.LastError, "number invalid") || strings.Contains(n.LastError, "not defined")) {
			t.Errorf("failed notification = %+v", n)
		}
	}
	pending, _ := h.db.PendingNotifications(t.Context(), 10)
	if len(pending) != 1 || pending[0].Attempts != 1 || !pending[0].NextAttemptAt.Equal(t0.Add(2500*time.Millisecond)) || pending[0].LastError != errTemporary.Error() {
		t.Fatalf("pending = %+v", pending)
	}
	want(t, "before the retry is due", h.step())
	h.clock.Set(t0.Add(2500 * time.Millisecond))
	want(t, "second attempt fails", h.step())
	h.clock.Set(t0.Add(2500*time.Millisecond + 4999*time.Millisecond))
	want(t, "before the second retry", h.step())
	h.clock.Set(t0.Add(2500*time.Millisecond + 5*time.Second))
	want(t, "third attempt", h.step(), "mail down")
	sentN, _ := h.db.Notifications(t.Context(), upkeep.DeliverySent, 0)
	if len(sentN) != 1 || sentN[0].Attempts != 3 || sentN[0].LastError != "" {
		t.Errorf("sent = %+v", sentN)
	}
	want(t, "nothing left", h.step())
}

func TestAckToken(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, defaultEscalation)
	ctx := t.Context()
	tok, err := h.m.AckToken(ctx, 42, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := h.m.CheckAckToken(ctx, tok); err != nil || id != 42 {
		t.Errorf("CheckAckToken = %d, %v", id, err)
	}
	forged := []byte(tok)
	forged[3] ^= 1
	if _, err := h.m.CheckAckToken(ctx, string(forged)); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("forged token: %v", err)
	}
	if _, err := h.m.CheckAckToken(ctx, "short"); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("damaged token: %v", err)
	}
	h.clock.Set(t0.Add(time.Hour + time.Second))
	if _, err := h.m.CheckAckToken(ctx, tok); !errors.Is(err, incident.ErrInvalid) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	// The key survives a restart: old links keep working.
	h.clock.Set(t0)
	h.restart()
	if id, err := h.m.CheckAckToken(ctx, tok); err != nil || id != 42 {
		t.Errorf("after restart: %d, %v", id, err)
	}
}

func TestManualIncident(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, defaultEscalation)
	ctx := t.Context()
	if _, err := h.m.Open(ctx, incident.OpenRequest{Title: "x", Status: "broken"}); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if _, err := h.m.Open(ctx, incident.OpenRequest{Title: "x", Services: []string{"nope"}}); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("unknown service: %v", err)
	}
	inc, err := h.m.Open(ctx, incident.OpenRequest{Title: "Slow logins", Impact: upkeep.ImpactMinor, Services: []string{"api"}, Message: "looking", Author: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != upkeep.StatusInvestigating || inc.Automatic || len(inc.Updates) != 1 {
		t.Errorf("opened = %+v", inc)
	}
	if _, err := h.m.SetReport(ctx, inc.ID, incident.ReportRequest{Cause: "x"}); !errors.Is(err, incident.ErrState) {
		t.Errorf("report on an open incident: %v", err)
	}
	h.clock.Set(t0.Add(time.Hour))
	if inc, err = h.m.PostUpdate(ctx, inc.ID, incident.UpdateRequest{Status: upkeep.StatusIdentified, Message: "cache"}); err != nil || inc.Status != upkeep.StatusIdentified {
		t.Fatalf("update: %+v, %v", inc, err)
	}
	if inc, err = h.m.PostUpdate(ctx, inc.ID, incident.UpdateRequest{Status: upkeep.StatusResolved, Message: "fixed"}); err != nil || inc.Open() || inc.Duration() != time.Hour {
		t.Fatalf("resolve: %+v, %v", inc, err)
	}
	if _, err := h.m.PostUpdate(ctx, inc.ID, incident.UpdateRequest{Status: upkeep.StatusMonitoring}); !errors.Is(err, incident.ErrState) {
		t.Errorf("reopen: %v", err)
	}
	if _, err := h.m.Acknowledge(ctx, inc.ID, "x"); !errors.Is(err, incident.ErrState) {
		t.Errorf("ack resolved: %v", err)
	}
	inc, err = h.m.SetReport(ctx, inc.ID, incident.ReportRequest{Cause: "cache stampede", Measures: "flushed", Prevention: "jitter"})
	if err != nil || inc.Report == nil || len(inc.Report.Timeline) != 3 || !strings.Contains(inc.Report.Timeline[1].Text, "[identified] cache") {
		t.Fatalf("report: %+v, %v", inc.Report, err)
	}
	edited := []upkeep.TimelineEntry{{At: t0, Text: "edited"}}
	inc, err = h.m.SetReport(ctx, inc.ID, incident.ReportRequest{Cause: "c", Timeline: edited})
	if err != nil || !reflect.DeepEqual(inc.Report.Timeline, edited) {
		t.Errorf("edited timeline: %+v, %v", inc.Report, err)
	}
	want(t, "manual incidents page nobody", h.step())
}
