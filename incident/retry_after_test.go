package incident_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/notify"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// limitedReceiver is a webhook receiver that answers 429 with Retry-After to the first
// requests (as many as refuse) and 204 to the others, and records when each request came.
type limitedReceiver struct {
	mu         sync.Mutex
	refuse     int
	retryAfter string
	times      []time.Time
	keys       []string
}

func (r *limitedReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, time.Now())
	r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
	if r.refuse > 0 {
		r.refuse--
		w.Header().Set("Retry-After", r.retryAfter)
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *limitedReceiver) requests() ([]time.Time, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times...), append([]string(nil), r.keys...)
}

// webhookSenders sends every channel's notifications to url with the notify package's real
// webhook sender.
func webhookSenders(t *testing.T, url string) func(string) (incident.Sender, bool) {
	t.Helper()
	s, err := notify.New("hook", policy.Channel{Webhook: &policy.WebhookChannel{URL: url, Method: http.MethodPost}}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return func(string) (incident.Sender, bool) {
		return incident.SenderFunc(func(ctx context.Context, ev incident.Event) error {
			return s.Send(ctx, notify.Event{Kind: ev.Kind, Key: ev.Key, At: ev.At, Monitor: ev.Monitor,
				Incident: notify.Incident{ID: strconv.FormatInt(ev.Incident.ID, 10), Title: ev.Incident.Title}})
		}), true
	}
}

// TestDeliveryHonoursRetryAfter: a provider that answers 429 with Retry-After is not tried
// again before the time it asked for, even when the backoff would come sooner, and a wait
// beyond MaxRetryAfter is capped.
func TestDeliveryHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "120", 120 * time.Second},
		{"shorter than the backoff", "1", incident.Backoff(1, 0)},
		{"a day, capped", "86400", incident.MaxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &limitedReceiver{refuse: 1, retryAfter: tc.header}
			srv := httptest.NewServer(rcv)
			defer srv.Close()

			t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			h := newHarness(t, escalationPolicy, t0, esc("default", 0, step(0, "hook")))
			h.d = incident.NewDelivery(h.m, incident.DeliveryConfig{
				Senders: webhookSenders(t, srv.URL), RetryAfter: notify.RetryAfter, Jitter: func() float64 { return 0 },
			})
			h.transition("api-a", upkeep.StateUp, upkeep.StateDown, t0)
			h.step()
			if times, _ := rcv.requests(); len(times) != 1 {
				t.Fatalf("%d requests, want 1 (refused)", len(times))
			}
			ns, err := h.db.Notifications(t.Context(), upkeep.DeliveryPending, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != 1 || !ns[0].NextAttemptAt.Equal(t0.Add(tc.want)) {
				t.Fatalf("pending = %+v, want one to be tried at %s", ns, t0.Add(tc.want))
			}

			h.clock.Set(t0.Add(tc.want - time.Millisecond))
			h.step()
			if times, _ := rcv.requests(); len(times) != 1 {
				t.Fatalf("tried again %s after a 429 asking for %s", tc.want-time.Millisecond, tc.header)
			}
			h.clock.Set(t0.Add(tc.want))
			h.step()
			times, keys := rcv.requests()
			if len(times) != 2 || keys[0] != keys[1] {
				t.Fatalf("requests %d with keys %q, want the same notification tried a second time", len(times), keys)
			}
			sent, err := h.db.Notifications(t.Context(), upkeep.DeliverySent, 10)
			if err != nil || len(sent) != 1 || sent[0].Attempts != 2 {
				t.Fatalf("sent = %+v, %v; want one sent at the second attempt", sent, err)
			}
		})
	}
}

// TestDeliveryPausesTheChannelOnRetryAfter: after a 429 with Retry-After, the running delivery
// sends nothing more to that channel until the wait is over, not only not the refused one.
func TestDeliveryPausesTheChannelOnRetryAfter(t *testing.T) {
	rcv := &limitedReceiver{refuse: 1, retryAfter: "1"}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	db, m := outage(t, "a", "b")
	d := incident.NewDelivery(m, incident.DeliveryConfig{Senders: webhookSenders(t, srv.URL), RetryAfter: notify.RetryAfter, Parallel: 1})

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "both pages sent", func() bool {
		ns, err := db.Notifications(t.Context(), upkeep.DeliverySent, 10)
		return err == nil && len(ns) == 2
	})
	times, keys := rcv.requests()
	if len(times) != 3 {
		t.Fatalf("%d requests (%q), want 3: refused, then both pages", len(times), keys)
	}
	for i := 1; i < 3; i++ {
		if wait := times[i].Sub(times[0]); wait < time.Second {
			t.Errorf("request %d (%s) came %s after the 429 that asked for 1s", i+1, keys[i], wait)
		}
	}
}

// outage opens a store and an incident manager whose policy pages channel "hook" at once, and
// records the given monitors going down together: one incident each (monitors without a
// service have their own), one page each, pending in the outbox.
func outage(t *testing.T, monitors ...string) (*sqlite.DB, *incident.Manager) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := incident.NewManager(incident.Config{Store: db})
	doc := "monitors:\n"
	for _, name := range monitors {
		doc += fmt.Sprintf("  - {name: %s, http: {url: \"http://localhost/%s\"}}\n", name, name)
	}
	p, err := policy.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Escalations = []policy.Escalation{esc("default", 0, step(0, "hook"))}
	m.Apply(p)
	now := time.Now()
	var ts []upkeep.Transition
	for _, name := range monitors {
		ts = append(ts, upkeep.Transition{Monitor: name, From: upkeep.StateUp, To: upkeep.StateDown, At: now, Cause: "test"})
	}
	if err := db.RecordMonitoring(t.Context(), nil, ts); err != nil {
		t.Fatal(err)
	}
	if err := m.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db, m
}
