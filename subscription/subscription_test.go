package subscription

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// testClock is a clock that moves only when told; its timers are real (the tests here do not wait).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *testClock) NewTimer(d time.Duration) engine.Timer { return engine.RealClock{}.NewTimer(d) }

func newTestService(t testing.TB, clock engine.Clock) (*Service, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := New(Config{Store: db, Clock: clock})
	s.Apply(&policy.Policy{Server: policy.Server{PublicURL: "https://status.example.com/"},
		Services:   []policy.Service{{Name: "api"}, {Name: "web"}},
		StatusPage: &policy.StatusPage{Subscriptions: &policy.Subscriptions{Webhooks: true}}})
	return s, db
}

func TestLinks(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s, _ := newTestService(t, clock)
	ctx := t.Context()
	u, err := s.confirmURL(ctx, 7, []string{"api", "web"}, clock.Now())
	if err != nil || !strings.HasPrefix(u, "https://status.example.com/subscribe/confirm/") {
		t.Fatalf("confirmURL = %s, %v", u, err)
	}
	tok := strings.TrimPrefix(u, "https://status.example.com/subscribe/confirm/")
	got, err := s.verify(ctx, tok, purposeConfirm)
	if err != nil || got.id != 7 || strings.Join(got.services, ",") != "api,web" {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	// Another purpose, a changed payload or signature, and an expired link are all refused alike.
	if _, err := s.verify(ctx, tok, purposeUnsubscribe); !errors.Is(err, errBadToken) {
		t.Errorf("confirm token as unsubscribe: %v", err)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	forged := b64.EncodeToString([]byte("c|8|9999999999|")) + "." + sig
	for _, bad := range []string{forged, payload + ".AAAA", "", "x.y", tok + "x"} {
		if _, err := s.verify(ctx, bad, purposeConfirm); !errors.Is(err, errBadToken) {
			t.Errorf("verify(%q) = %v", bad, err)
		}
	}
	clock.Advance(ConfirmValidity)
	if _, err := s.verify(ctx, tok, purposeConfirm); !errors.Is(err, errBadToken) {
		t.Errorf("an expired confirmation link: %v", err)
	}
	// Unsubscribe links do not expire.
	u, _ = s.unsubscribeURL(ctx, 7)
	clock.Advance(365 * 24 * time.Hour)
	if got, err := s.verify(ctx, strings.TrimPrefix(u, "https://status.example.com/unsubscribe/"), purposeUnsubscribe); err != nil || got.id != 7 {
		t.Errorf("unsubscribe link a year later: %+v, %v", got, err)
	}
}

func TestPublicEvent(t *testing.T) {
	upd := func(kind string, st upkeep.IncidentStatus, prev upkeep.IncidentStatus, first bool, msg string) upkeep.PublicUpdate {
		return upkeep.PublicUpdate{Update: upkeep.IncidentUpdate{Kind: kind, Status: st, Message: msg}, PrevStatus: prev, First: first}
	}
	for _, c := range []struct {
		u          upkeep.PublicUpdate
		event, msg string
	}{
		{upd(upkeep.UpdateMessage, upkeep.StatusInvestigating, "", true, "Looking"), EventIncidentOpened, "Looking"},
		// Upkeep's own entries never show their text (a monitor's error is internal).
		{upd(upkeep.UpdateEvent, upkeep.StatusInvestigating, "", true, "api-health down: 10.0.0.3 refused"), EventIncidentOpened, "We are investigating a problem."},
		{upd(upkeep.UpdateEvent, upkeep.StatusInvestigating, upkeep.StatusInvestigating, false, "escalated to step 2"), "", ""},
		{upd(upkeep.UpdateEvent, upkeep.StatusInvestigating, upkeep.StatusInvestigating, false, "acknowledged by ops"), "", ""},
		{upd(upkeep.UpdateMessage, upkeep.StatusIdentified, upkeep.StatusInvestigating, false, "Found it"), EventIncidentUpdated, "Found it"},
		{upd(upkeep.UpdateEvent, upkeep.StatusResolved, upkeep.StatusMonitoring, false, "all monitors up"), EventIncidentResolved, "The problem is resolved."},
		{upd(upkeep.UpdateMessage, upkeep.StatusResolved, upkeep.StatusResolved, false, "Postmortem soon"), EventIncidentUpdated, "Postmortem soon"},
	} {
		if ev, msg := publicEvent(c.u); ev != c.event || msg != c.msg {
			t.Errorf("publicEvent(%+v) = %q, %q; want %q, %q", c.u.Update, ev, msg, c.event, c.msg)
		}
	}
}

func TestInputChecks(t *testing.T) {
	for in, want := range map[string]string{"Alice@Example.COM": "alice@example.com", " bob@example.org ": "bob@example.org"} {
		if got, ok := parseAddress(in); !ok || got != want {
			t.Errorf("parseAddress(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "alice", "Alice <alice@example.com>", "a@localhost", "a@b.c\r\nBcc: x@y.z", "a@@b.com"} {
		if got, ok := parseAddress(in); ok {
			t.Errorf("parseAddress(%q) = %q, accepted", in, got)
		}
	}
	for _, u := range []string{"https://hooks.example.com/x", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x"} {
		if err := checkWebhookURL(u); err != nil {
			t.Errorf("checkWebhookURL(%s) = %v", u, err)
		}
	}
	for _, u := range []string{"http://example.com/x", "ftp://example.com", "/relative", "https://user:pw@example.com/"} {
		if err := checkWebhookURL(u); !errors.Is(err, ErrInvalid) {
			t.Errorf("checkWebhookURL(%s) = %v", u, err)
		}
	}
	if m := Mask("alice@example.com"); strings.Contains(m, "lice") || strings.Contains(m, "example") {
		t.Errorf("Mask = %s", m)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, time.Hour)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	first, second, third := l.allow("a", t0), l.allow("a", t0), l.allow("a", t0.Add(time.Minute))
	if !first || !second || third {
		t.Errorf("three requests within the hour: allowed %v, %v, %v; want true, true, false", first, second, third)
	}
	if !l.allow("b", t0) {
		t.Error("another key was limited")
	}
	if !l.allow("a", t0.Add(time.Hour)) {
		t.Error("still limited an hour later")
	}
}
