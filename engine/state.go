package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// Severity levels of results and of the states they confirm, best first.
const (
	levelUp = iota
	levelDegraded
	levelDown
	levels
)

var levelState = [levels]upkeep.State{upkeep.StateUp, upkeep.StateDegraded, upkeep.StateDown}

// level returns the severity of s; unknown and paused rank with up, so that leaving them for a
// worse state needs down_after like leaving up does.
func level(s upkeep.State) int {
	switch s {
	case upkeep.StateDegraded:
		return levelDegraded
	case upkeep.StateDown:
		return levelDown
	}
	return levelUp
}

// streak is a run of consecutive results.
type streak struct {
	n     int       // results in the run; 0 when there is none
	since time.Time // time of its first result
}

func (s *streak) extend(t time.Time) {
	if s.n == 0 {
		s.since = t
	}
	s.n++
}

// met reports whether the run confirms a change under c at time now.
func (s streak) met(c policy.Confirmation, now time.Time) bool {
	if s.n == 0 {
		return false
	}
	if c.Duration > 0 {
		return now.Sub(s.since) >= c.Duration
	}
	return s.n >= max(1, c.Count)
}

// confirmer applies the confirmation rules (see the package comment) to one monitor's results.
// atLeast[L] is the run of results at least as bad as level L, atMost[L] the run of results at
// most as bad as L.
type confirmer struct {
	downAfter, upAfter policy.Confirmation
	atLeast, atMost    [levels]streak
	last               time.Time // time of the newest result seen; older ones do not count
}

// reset forgets every run, as after a pause or a restart.
func (c *confirmer) reset() {
	c.atLeast = [levels]streak{}
	c.atMost = [levels]streak{}
}

// observe feeds a result with outcome o taken at t to a monitor in state cur. It reports the new
// state and the time of the change (the first result of the run that confirmed it) when the
// result confirms a change.
func (c *confirmer) observe(cur, o upkeep.State, t time.Time) (to upkeep.State, at time.Time, changed bool) {
	if cur == upkeep.StatePaused || t.Before(c.last) {
		return cur, time.Time{}, false
	}
	c.last = t
	lo := level(o)
	for l := range levels {
		if lo >= l {
			c.atLeast[l].extend(t)
		} else {
			c.atLeast[l] = streak{}
		}
		if lo <= l {
			c.atMost[l].extend(t)
		} else {
			c.atMost[l] = streak{}
		}
	}
	if cur == upkeep.StateUnknown && lo == levelUp {
		return upkeep.StateUp, t, true
	}
	lc := level(cur)
	for l := levelDown; l > lc; l-- { // the worst level that is confirmed wins
		if c.atLeast[l].met(c.downAfter, t) {
			return levelState[l], c.atLeast[l].since, true
		}
	}
	if cur == upkeep.StateUnknown {
		return cur, time.Time{}, false
	}
	for l := levelUp; l < lc; l++ { // the best level that is confirmed wins
		if c.atMost[l].met(c.upAfter, t) {
			return levelState[l], c.atMost[l].since, true
		}
	}
	return cur, time.Time{}, false
}

// causeOf describes the result that confirmed a transition: its error, code and latency.
func causeOf(r upkeep.Result) string {
	var b strings.Builder
	if r.Error != "" {
		b.WriteString(r.Error)
	} else {
		fmt.Fprintf(&b, "check %s", r.Outcome)
	}
	var details []string
	if r.Code != 0 {
		details = append(details, fmt.Sprintf("code %d", r.Code))
	}
	if r.Latency > 0 {
		details = append(details, "latency "+r.Latency.Round(time.Microsecond).String())
	}
	if r.Location != "" && r.Location != upkeep.LocalLocation {
		details = append(details, "from "+r.Location)
	}
	if len(details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(details, ", "))
	}
	return b.String()
}
