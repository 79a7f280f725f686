package incident_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// fakeClock is moved by hand; its timers never fire (tests call CatchUp, Escalate and Flush).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) NewTimer(time.Duration) engine.Timer { return &fakeTimer{c: make(chan time.Time)} }

type fakeTimer struct{ c chan time.Time }

func (t *fakeTimer) C() <-chan time.Time      { return t.c }
func (t *fakeTimer) Stop() bool               { return true }
func (t *fakeTimer) Reset(time.Duration) bool { return true }

// recorder is a channel that records what it receives, by channel name.
type recorder struct {
	mu   sync.Mutex
	got  []sent
	fail map[string][]error // errors to return, per channel, in order
}

type sent struct {
	Channel string
	Event   incident.Event
}

func (r *recorder) senders(name string) (incident.Sender, bool) {
	if name == "missing" {
		return nil, false
	}
	return incident.SenderFunc(func(ctx context.Context, ev incident.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if errs := r.fail[name]; len(errs) > 0 {
			r.fail[name] = errs[1:]
			return errs[0]
		}
		r.got = append(r.got, sent{name, ev})
		return nil
	}), true
}

func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// summary lists "channel event" of each sent notification, sorted.
func summary(s []sent) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Channel+" "+x.Event.Kind)
	}
	slices.Sort(out)
	return out
}

var errTemporary = errors.New("503 try later")

type harness struct {
	t     *testing.T
	dir   string
	db    *sqlite.DB
	clock *fakeClock
	pol   *policy.Policy
	m     *incident.Manager
	d     *incident.Delivery
	rec   *recorder
}

// newHarness parses doc and adds escalations to it. (Escalations are added in Go so that the
// tests need no channel settings, which belong to the notify package.)
func newHarness(t *testing.T, doc string, start time.Time, escalations ...policy.Escalation) *harness {
	t.Helper()
	p, err := policy.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Escalations = escalations
	h := &harness{t: t, dir: filepath.Join(t.TempDir(), "data"), clock: &fakeClock{now: start}, pol: p, rec: &recorder{fail: map[string][]error{}}}
	h.open()
	return h
}

// open opens the store and starts a manager, as serve does after a restart.
func (h *harness) open() {
	db, err := sqlite.Open(h.t.Context(), h.dir, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	h.t.Cleanup(func() { _ = db.Close() })
	h.m = incident.NewManager(incident.Config{Store: db, Clock: h.clock})
	h.m.Apply(h.pol)
	h.d = incident.NewDelivery(h.m, incident.DeliveryConfig{Senders: h.rec.senders, Jitter: func() float64 { return 0 }})
}

func (h *harness) restart() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func (h *harness) transition(monitor string, from, to upkeep.State, at time.Time) {
	h.t.Helper()
	err := h.db.RecordMonitoring(h.t.Context(), nil, []upkeep.Transition{{Monitor: monitor, From: from, To: to, At: at, Cause: "test"}})
	if err != nil {
		h.t.Fatal(err)
	}
}

// step applies stored transitions, runs due escalation steps and sends what is due, at the
// clock's time, and returns what was sent.
func (h *harness) step() []sent {
	h.t.Helper()
	ctx := h.t.Context()
	if err := h.m.CatchUp(ctx); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.m.Escalate(ctx); err != nil {
		h.t.Fatal(err)
	}
	if err := h.d.Flush(ctx); err != nil {
		h.t.Fatal(err)
	}
	return h.rec.take()
}

func (h *harness) incidents() []upkeep.Incident {
	h.t.Helper()
	incs, err := h.db.Incidents(h.t.Context(), "", 100)
	if err != nil {
		h.t.Fatal(err)
	}
	return incs
}

func esc(name string, repeat time.Duration, steps ...policy.EscalationStep) policy.Escalation {
	return policy.Escalation{Name: name, Steps: steps, RepeatEvery: policy.Duration{Duration: repeat}}
}

func step(after time.Duration, channels ...string) policy.EscalationStep {
	return policy.EscalationStep{After: policy.Duration{Duration: after}, Notify: channels}
}
