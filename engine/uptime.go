package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Uptime is how a monitor spent a window of time [From, To). The six durations add up to
// To - From.
type Uptime struct {
	From, To time.Time
	Up       time.Duration
	// Degraded counts as available: a degraded service answers correctly, only slower than its
	// slow_after or closer to a limit (a certificate near expiry). Its users are served, so an
	// availability objective ("99.9%") is met; degraded time is reported separately so that it can
	// be seen and acted on before it turns into downtime.
	Degraded time.Duration
	Down     time.Duration
	Paused   time.Duration // paused by policy: neither available nor not
	// Maintenance is time inside maintenance windows: planned, so neither downtime nor
	// availability; left out of the fraction like paused time.
	Maintenance time.Duration
	// NoData is time without a confirmed state: Upkeep was not running (including after a
	// crash, from the session's last sign of life on), the monitor was new and had no result yet,
	// had been removed from the policy, or the window reaches into the future. It is never
	// counted as up.
	NoData time.Duration
}

// Fraction returns (Up + Degraded) / (Up + Degraded + Down), and false when that is undefined
// because the window holds no up, degraded or down time at all.
func (u Uptime) Fraction() (float64, bool) {
	avail := u.Up + u.Degraded
	total := avail + u.Down
	if total <= 0 {
		return 0, false
	}
	return float64(avail) / float64(total), true
}

// Uptime computes how monitor spent [from, to), exactly, from its stored transitions and the
// engine's sessions: time in each confirmed state counts while the engine was running; time
// when it was not (between sessions, after a crash) is no data, whatever the state was.
// Transitions confirmed in the last second may still be on their way to the store.
func (e *Engine) Uptime(ctx context.Context, monitor string, from, to time.Time) (Uptime, error) {
	if !from.Before(to) {
		return Uptime{}, fmt.Errorf("uptime of %q: empty window %s to %s", monitor, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	initial, err := e.store.StateAt(ctx, monitor, from)
	if err != nil {
		return Uptime{}, fmt.Errorf("uptime of %q: %w", monitor, err)
	}
	ts, err := e.store.Transitions(ctx, monitor, from, to)
	if err != nil {
		return Uptime{}, fmt.Errorf("uptime of %q: %w", monitor, err)
	}
	alive, err := e.store.SessionIntervals(ctx, from, to)
	if err != nil {
		return Uptime{}, fmt.Errorf("uptime of %q: %w", monitor, err)
	}
	now := e.clock.Now()
	e.mu.Lock()
	if !e.sessionStart.IsZero() && e.sessionEnd.IsZero() {
		alive = append(alive, upkeep.Interval{Start: e.sessionStart, End: now}) // the running session is alive until now
	}
	e.mu.Unlock()
	return computeUptime(from, to, now, initial, ts, alive), nil
}

// UptimeSpans computes Uptime for each of spans (which may overlap, in any order) with one
// read of the store for all of them: the status page's daily bars and uptime windows of a
// monitor cost three queries, not three per day.
func (e *Engine) UptimeSpans(ctx context.Context, monitor string, spans []upkeep.Interval) ([]Uptime, error) {
	if len(spans) == 0 {
		return nil, nil
	}
	from, to := spans[0].Start, spans[0].End
	for _, s := range spans {
		if !s.Start.Before(s.End) {
			return nil, fmt.Errorf("uptime of %q: empty window %s to %s", monitor, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339))
		}
		from, to = minTime(from, s.Start), maxTime(to, s.End)
	}
	initial, err := e.store.StateAt(ctx, monitor, from)
	if err != nil {
		return nil, fmt.Errorf("uptime of %q: %w", monitor, err)
	}
	ts, err := e.store.Transitions(ctx, monitor, from, to)
	if err != nil {
		return nil, fmt.Errorf("uptime of %q: %w", monitor, err)
	}
	alive, err := e.store.SessionIntervals(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("uptime of %q: %w", monitor, err)
	}
	now := e.clock.Now()
	e.mu.Lock()
	if !e.sessionStart.IsZero() && e.sessionEnd.IsZero() {
		alive = append(alive, upkeep.Interval{Start: e.sessionStart, End: now})
	}
	e.mu.Unlock()
	out := make([]Uptime, len(spans))
	for i, s := range spans {
		// The state at the span's start is the last transition before it, or the initial one.
		state := initial
		k, _ := slices.BinarySearchFunc(ts, s.Start, func(t upkeep.Transition, at time.Time) int {
			if t.At.After(at) {
				return 1
			}
			return -1
		})
		if k > 0 {
			state = ts[k-1].To
		}
		out[i] = computeUptime(s.Start, s.End, now, state, ts[k:], alive)
	}
	return out, nil
}

// computeUptime splits [from, to) by state (initial, then the transitions in order) and by
// liveness (the alive intervals, in any order, possibly overlapping); time after now and time
// outside every alive interval is no data.
func computeUptime(from, to, now time.Time, initial upkeep.State, ts []upkeep.Transition, alive []upkeep.Interval) Uptime {
	u := Uptime{From: from, To: to}
	alive = upkeep.MergeIntervals(alive, from, minTime(to, now))
	add := func(s upkeep.State, a, b time.Time) {
		if !a.Before(b) {
			return
		}
		covered := time.Duration(0)
		for _, iv := range alive {
			lo, hi := maxTime(a, iv.Start), minTime(b, iv.End)
			if lo.Before(hi) {
				covered += hi.Sub(lo)
			}
		}
		u.NoData += b.Sub(a) - covered
		switch s {
		case upkeep.StateUp:
			u.Up += covered
		case upkeep.StateDegraded:
			u.Degraded += covered
		case upkeep.StateDown:
			u.Down += covered
		case upkeep.StatePaused:
			u.Paused += covered
		case upkeep.StateMaintenance:
			u.Maintenance += covered
		default:
			u.NoData += covered
		}
	}
	state, at := initial, from
	for _, t := range ts {
		if t.At.Before(from) || !t.At.Before(to) {
			continue
		}
		add(state, at, t.At)
		state, at = t.To, t.At
	}
	add(state, at, to)
	return u
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
