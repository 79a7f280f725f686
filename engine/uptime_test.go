package engine

import (
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func tr(min int, from, to upkeep.State) upkeep.Transition {
	return upkeep.Transition{Monitor: "m", From: from, To: to, At: at(min)}
}

func TestComputeUptime(t *testing.T) {
	U, D, G, P, X := upkeep.StateUp, upkeep.StateDown, upkeep.StateDegraded, upkeep.StatePaused, upkeep.StateUnknown
	always := [][2]time.Time{{at(-1000), at(1000)}}
	tests := []struct {
		name                         string
		from, to                     int
		initial                      upkeep.State
		ts                           []upkeep.Transition
		alive                        [][2]time.Time
		up, deg, down, paused, nodat int // minutes
	}{
		{"all up", 0, 60, U, nil, always, 60, 0, 0, 0, 0},
		{"window cuts transitions", 10, 50, U, []upkeep.Transition{tr(0, X, U), tr(20, U, D), tr(30, D, G), tr(40, G, U), tr(55, U, D)}, always, 20, 10, 10, 0, 0},
		{"restart gap is no data", 0, 60, U, []upkeep.Transition{tr(10, U, D)},
			[][2]time.Time{{at(-5), at(20)}, {at(40), at(100)}}, 10, 0, 30, 0, 20},
		{"paused time is paused", 0, 60, U, []upkeep.Transition{tr(10, U, P), tr(30, P, X), tr(35, X, U)}, always, 35, 0, 0, 20, 5},
		{"future is no data", 0, 60, U, nil, [][2]time.Time{{at(-5), at(1000)}}, 30, 0, 0, 0, 30},
		{"overlapping sessions counted once", 0, 60, D, nil, [][2]time.Time{{at(0), at(30)}, {at(10), at(40)}}, 0, 0, 40, 0, 20},
		{"unknown is no data", 0, 60, X, []upkeep.Transition{tr(30, X, U)}, always, 30, 0, 0, 0, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := at(1000)
			if tt.name == "future is no data" {
				now = at(30)
			}
			u := computeUptime(at(tt.from), at(tt.to), now, tt.initial, tt.ts, tt.alive)
			m := time.Minute
			if u.Up != time.Duration(tt.up)*m || u.Degraded != time.Duration(tt.deg)*m || u.Down != time.Duration(tt.down)*m ||
				u.Paused != time.Duration(tt.paused)*m || u.NoData != time.Duration(tt.nodat)*m {
				t.Errorf("got up %s degraded %s down %s paused %s no data %s; want %d %d %d %d %d minutes",
					u.Up, u.Degraded, u.Down, u.Paused, u.NoData, tt.up, tt.deg, tt.down, tt.paused, tt.nodat)
			}
			if sum := u.Up + u.Degraded + u.Down + u.Paused + u.NoData; sum != u.To.Sub(u.From) {
				t.Errorf("durations add up to %s, window %s", sum, u.To.Sub(u.From))
			}
		})
	}
	if _, ok := (Uptime{NoData: time.Hour}).Fraction(); ok {
		t.Error("fraction defined without data")
	}
	if f, _ := (Uptime{Up: 3 * time.Hour, Degraded: time.Hour, Down: time.Hour, Paused: 5 * time.Hour}).Fraction(); f != 0.8 {
		t.Errorf("fraction %v, want 0.8", f)
	}
}

// TestUptimeAcrossRestart runs an engine, lets a monitor go down, stops the engine (cleanly),
// starts another on the same store an hour later, and also simulates a crash (a session that
// never ended): the outage stays open across the restart and the gaps are no data.
func TestUptimeAcrossRestart(t *testing.T) {
	db, _ := openStore(t)
	s := newScript()
	m := mon("api", 10*time.Second)
	h := start(t, db, s, t0, pol(m), Config{})
	h.runTo(t0.Add(10*time.Minute), 5*time.Second)
	s.set("api", upkeep.StateDown)
	h.runTo(t0.Add(20*time.Minute), 5*time.Second)
	downSince := h.state("api").Since
	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	stopped := t0.Add(20 * time.Minute)

	// A crashed session from 40 to 45 minutes: it never ended, its last sign of life at 45.
	id, err := db.StartSession(t.Context(), t0.Add(40*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(t.Context(), id, t0.Add(45*time.Minute)); err != nil {
		t.Fatal(err)
	}

	restart := t0.Add(80 * time.Minute)
	h2 := start(t, db, s, restart, pol(m), Config{})
	if st := h2.state("api"); st.State != upkeep.StateDown || !st.Since.Equal(downSince) {
		t.Fatalf("after restart %s since %s, want down since %s", st.State, st.Since, downSince)
	}
	h2.runTo(restart.Add(10*time.Minute), 5*time.Second)
	s.set("api", upkeep.StateUp)
	h2.runTo(restart.Add(20*time.Minute), 5*time.Second)
	upAgain := h2.state("api").Since

	u, err := h2.e.Uptime(t.Context(), "api", t0, restart.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	firstUp := mustFirst(t, h2, "api")
	wantUp := downSince.Sub(firstUp) + restart.Add(20*time.Minute).Sub(upAgain)
	wantDown := stopped.Sub(downSince) + 5*time.Minute + upAgain.Sub(restart)
	if u.Up != wantUp || u.Down != wantDown {
		t.Errorf("up %s down %s, want up %s down %s (no data %s)", u.Up, u.Down, wantUp, wantDown, u.NoData)
	}
	if gap := u.NoData; gap != firstUp.Sub(t0)+restart.Sub(stopped)-5*time.Minute {
		t.Errorf("no data %s, want the time before the first result plus the gaps", gap)
	}
	if u.Up+u.Degraded+u.Down+u.Paused+u.NoData != u.To.Sub(u.From) {
		t.Errorf("durations do not add up: %+v", u)
	}

	// a paused stretch
	pm := m
	pm.Paused = true
	if err := h2.e.Apply(t.Context(), pol(pm)); err != nil {
		t.Fatal(err)
	}
	pausedAt := h2.clock.Now()
	h2.runTo(pausedAt.Add(30*time.Minute), time.Minute)
	u, err = h2.e.Uptime(t.Context(), "api", pausedAt, pausedAt.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if u.Paused != 30*time.Minute {
		t.Errorf("paused %s, want 30m (%+v)", u.Paused, u)
	}
	if _, ok := u.Fraction(); ok {
		t.Error("a fully paused window has a fraction")
	}
	_ = policy.Monitor{}
}

func mustFirst(t *testing.T, h *harness, name string) time.Time {
	t.Helper()
	ts, err := h.db.Transitions(t.Context(), name, time.Time{}, time.Time{})
	if err != nil || len(ts) == 0 {
		t.Fatalf("transitions: %v %v", ts, err)
	}
	return ts[0].At
}
