package statuspage_test

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/statuspage"
)

// flipping is the engine with api-b's state under the test's control: each flip is a
// transition at a later time, and changes the version at once, as the engine's does.
type flipping struct {
	statuspage.Monitoring
	mu    sync.Mutex
	seq   int
	state upkeep.State
	extra atomic.Uint64
}

func sinceOf(seq int) time.Time { return now.Add(time.Duration(seq) * time.Second) }

func (f *flipping) flip() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	if f.state == upkeep.StateDown {
		f.state = upkeep.StateDegraded
	} else {
		f.state = upkeep.StateDown
	}
	f.extra.Add(1)
	return f.seq
}

func (f *flipping) current() (int, upkeep.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq, f.state
}

func (f *flipping) Monitors() []engine.MonitorStatus {
	ms := f.Monitoring.Monitors()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range ms {
		if ms[i].Name == "api-b" && f.seq > 0 {
			ms[i].State, ms[i].Since = f.state, sinceOf(f.seq)
		}
	}
	return ms
}

func (f *flipping) Version() uint64 { return f.Monitoring.Version() + f.extra.Load() }

// apiState reads api's status and updated_at from components.json.
func apiState(t *testing.T, f *fixture) (string, time.Time) {
	t.Helper()
	var doc struct {
		Components []struct {
			ID, Status string
			UpdatedAt  time.Time `json:"updated_at"`
		}
	}
	if err := json.Unmarshal([]byte(f.get(t, "/api/v2/components.json", 200)), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Components {
		if c.ID == "api" {
			return c.Status, c.UpdatedAt
		}
	}
	t.Fatal("no api component")
	return "", time.Time{}
}

func TestCacheNeverOlderThanLastTransition(t *testing.T) {
	var fl *flipping
	f := newFixture(t, func(m statuspage.Monitoring) statuspage.Monitoring { fl = &flipping{Monitoring: m}; return fl })

	// Right after each transition, every response shows it: api-a is down, so api-b down makes
	// api a major outage, api-b degraded a partial one.
	for range 20 {
		fl.flip()
		_, st := fl.current()
		want, banner := "partial_outage", "Partial System Outage"
		if st == upkeep.StateDown {
			want, banner = "major_outage", "Major System Outage"
		}
		if got, _ := apiState(t, f); got != want {
			t.Fatalf("after api-b went %s, components.json says %s", st, got)
		}
		if page := f.get(t, "/", 200); !strings.Contains(page, banner) {
			t.Fatalf("after api-b went %s, the page does not say %q", st, banner)
		}
		if badge := f.get(t, "/badge/api/status.svg", 200); !strings.Contains(badge, map[string]string{"major_outage": "Major outage", "partial_outage": "Partial outage"}[want]) {
			t.Fatalf("after api-b went %s, the badge says %s", st, badge)
		}
	}

	// Under concurrent transitions, a response is never older than the transition that
	// preceded the request.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				fl.flip()
				time.Sleep(time.Millisecond) // pacing, so that readers get a turn; nothing is timed
			}
		}
	})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for range 10 {
				before, _ := fl.current()
				_, updated := apiState(t, f)
				if updated.Before(sinceOf(before)) {
					t.Errorf("a response shows api as of %s, older than the transition at %s before the request", updated, sinceOf(before))
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	wg.Wait()
}

func TestCacheFollowsIncidentChanges(t *testing.T) {
	f := newFixture(t, nil)
	before := f.get(t, "/incidents/3", 200)
	if strings.Contains(before, "Rolling back") {
		t.Fatal("update shown before it was posted")
	}
	if _, err := f.inc.PostUpdate(t.Context(), 3, incident.UpdateRequest{Status: upkeep.StatusIdentified, Message: "Rolling back the deploy."}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/incidents/3", "/", "/api/v2/incidents/unresolved.json", "/history.atom"} {
		if body := f.get(t, path, 200); !strings.Contains(body, "Rolling back the deploy.") {
			t.Errorf("%s does not show the new update", path)
		}
	}
	if body := f.get(t, "/api/v2/incidents/unresolved.json", 200); !strings.Contains(body, `"status":"identified"`) {
		t.Errorf("unresolved.json: %s", body)
	}
}

// TestHistoryFollowsTransitions: Run rebuilds the history of a monitor's service when one of
// its transitions is stored.
func TestHistoryFollowsTransitions(t *testing.T) {
	f := newFixture(t, nil)
	if d := f.get(t, "/", 200); !strings.Contains(d, "Mar 10, 2026: 95.83% uptime, 30 minutes down") {
		t.Fatalf("today before: %s", d)
	}
	sub := &fakeSubscriber{ch: make(chan upkeep.Transition, 1)}
	ctx := t.Context()
	go func() { _ = f.page.Run(ctx, sub) }()
	// api-a recovers at now-10m (stored), then the clock moves to now: 20 minutes down.
	t1 := upkeep.Transition{Monitor: "api-a", From: upkeep.StateDown, To: upkeep.StateUp, At: now.Add(-10 * time.Minute), Cause: "ok"}
	if err := f.db.RecordMonitoring(ctx, nil, []upkeep.Transition{t1}); err != nil {
		t.Fatal(err)
	}
	sub.ch <- t1
	for {
		if d := f.get(t, "/", 200); strings.Contains(d, "Mar 10, 2026: 97.22% uptime, 20 minutes down") {
			break
		}
		time.Sleep(10 * time.Millisecond) // waiting for Run, not timing it
	}
}

type fakeSubscriber struct{ ch chan upkeep.Transition }

func (s *fakeSubscriber) Subscribe(int) (<-chan upkeep.Transition, func()) { return s.ch, func() {} }
