package engine

import (
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// alive is the interval from minute a to minute b.
func alive(a, b int) upkeep.Interval { return upkeep.Interval{Start: at(a), End: at(b)} }

func tr(min int, from, to upkeep.State) upkeep.Transition {
	return upkeep.Transition{Monitor: "m", From: from, To: to, At: at(min)}
}

func TestComputeUptime(t *testing.T) {
	U, D, G, P, X := upkeep.StateUp, upkeep.StateDown, upkeep.StateDegraded, upkeep.StatePaused, upkeep.StateUnknown
	always := []upkeep.Interval{alive(-1000, 1000)}
	tests := []struct {
		name                         string
		from, to                     int
		initial                      upkeep.State
		ts                           []upkeep.Transition
		alive                        []upkeep.Interval
		up, deg, down, paused, nodat int // minutes
	}{
		{"all up", 0, 60, U, nil, always, 60, 0, 0, 0, 0},
		{"window cuts transitions", 10, 50, U, []upkeep.Transition{tr(0, X, U), tr(20, U, D), tr(30, D, G), tr(40, G, U), tr(55, U, D)}, always, 20, 10, 10, 0, 0},
		{"restart gap is no data", 0, 60, U, []upkeep.Transition{tr(10, U, D)},
			[]upkeep.Interval{alive(-5, 20), alive(40, 100)}, 10, 0, 30, 0, 20},
		{"paused time is paused", 0, 60, U, []upkeep.Transition{tr(10, U, P), tr(30, P, X), tr(35, X, U)}, always, 35, 0, 0, 20, 5},
		{"future is no data", 0, 60, U, nil, []upkeep.Interval{alive(-5, 1000)}, 30, 0, 0, 0, 30},
		{"overlapping sessions counted once", 0, 60, D, nil, []upkeep.Interval{alive(0, 30), alive(10, 40)}, 0, 0, 40, 0, 20},
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
