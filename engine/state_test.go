package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// TestConfirmation feeds results 60 s apart to a monitor and checks the state after each one
// and the time each transition is dated at (as the index of the result it starts from).
func TestConfirmation(t *testing.T) {
	n := func(k int) policy.Confirmation { return policy.Confirmation{Count: k} }
	d := func(s string) policy.Confirmation {
		v, _ := time.ParseDuration(s)
		return policy.Confirmation{Duration: v}
	}
	// results: u up, g degraded, d down. want: the state after each result (U, G, D, ? unknown).
	// at: for each transition in order, the index of the result it is dated at.
	tests := []struct {
		name     string
		down, up policy.Confirmation
		start    upkeep.State
		results  string
		want     string
		at       []int
	}{
		{"first up is up at once", n(3), n(3), upkeep.StateUnknown, "u", "U", []int{0}},
		{"first failure needs down_after", n(2), n(1), upkeep.StateUnknown, "dd", "?D", []int{0}},
		{"first failure then up", n(2), n(1), upkeep.StateUnknown, "du", "?U", []int{1}},
		{"default: first failure", policy.Confirmation{}, policy.Confirmation{}, upkeep.StateUp, "du", "DU", []int{0, 1}},
		{"three failures", n(3), n(1), upkeep.StateUp, "ddd", "UUD", []int{0}},
		{"flapping never confirms down", n(2), n(1), upkeep.StateUp, "dudududu", "UUUUUUUU", nil},
		{"flapping never confirms up", n(1), n(2), upkeep.StateDown, "ududududu", "DDDDDDDDD", nil},
		{"up_after 2, then one failure", n(1), n(2), upkeep.StateDown, "uudu", "DUDD", []int{0, 2}},
		{"degraded then down: degraded run confirms degraded first", n(2), n(1), upkeep.StateUp, "gddd", "UGDD", []int{0, 1}},
		{"run of failures counts across a transition", n(3), n(1), upkeep.StateUp, "ggddd", "UUGGD", []int{0, 2}},
		{"degraded breaks a down run", n(2), n(1), upkeep.StateUp, "dgdg", "UGGG", []int{0}},
		{"down to degraded needs up_after", n(1), n(2), upkeep.StateDown, "ggu", "DGG", []int{0}},
		{"down to up skips degraded when up confirmed", n(1), n(2), upkeep.StateDown, "uu", "DU", []int{0}},
		{"down, mixed recovery: best confirmed wins", n(1), n(2), upkeep.StateDown, "gguu", "DGGU", []int{0, 2}},
		{"degraded to down", n(2), n(1), upkeep.StateDegraded, "dd", "GD", []int{0}},
		{"degraded recovers", n(2), n(1), upkeep.StateDegraded, "u", "U", []int{0}},
		{"duration 3m needs four results at 60s", d("3m"), n(1), upkeep.StateUp, "dddd", "UUUD", []int{0}},
		{"duration broken by a success", d("3m"), n(1), upkeep.StateUp, "dddudddd", "UUUUUUUD", []int{4}},
		{"up_after duration", n(1), d("2m"), upkeep.StateDown, "uuu", "DDU", []int{0}},
		{"unknown to degraded needs down_after", n(2), n(1), upkeep.StateUnknown, "gg", "?G", []int{0}},
	}
	letter := map[upkeep.State]byte{upkeep.StateUp: 'U', upkeep.StateDegraded: 'G', upkeep.StateDown: 'D', upkeep.StateUnknown: '?'}
	outcome := map[byte]upkeep.State{'u': upkeep.StateUp, 'g': upkeep.StateDegraded, 'd': upkeep.StateDown}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := confirmer{downAfter: tt.down, upAfter: tt.up}
			state := tt.start
			var got strings.Builder
			var at []int
			for i := range len(tt.results) {
				ti := t0.Add(time.Duration(i) * time.Minute)
				if to, when, ok := c.observe(state, outcome[tt.results[i]], ti); ok {
					state = to
					at = append(at, int(when.Sub(t0)/time.Minute))
				}
				got.WriteByte(letter[state])
			}
			if got.String() != tt.want {
				t.Errorf("states %s, want %s", got.String(), tt.want)
			}
			if len(at) != len(tt.at) {
				t.Fatalf("transitions dated at results %v, want %v", at, tt.at)
			}
			for i := range at {
				if at[i] != tt.at[i] {
					t.Errorf("transitions dated at results %v, want %v", at, tt.at)
				}
			}
		})
	}
}

func TestConfirmationIgnoresOlderResults(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := confirmer{}
	if _, _, ok := c.observe(upkeep.StateUp, upkeep.StateUp, t0); ok {
		t.Fatal("up while up is no transition")
	}
	if _, _, ok := c.observe(upkeep.StateUp, upkeep.StateDown, t0.Add(-time.Second)); ok {
		t.Fatal("a result older than the newest changed the state")
	}
	if _, _, ok := c.observe(upkeep.StatePaused, upkeep.StateDown, t0.Add(time.Second)); ok {
		t.Fatal("a paused monitor changed state")
	}
}

func TestCause(t *testing.T) {
	got := causeOf(upkeep.Result{Outcome: upkeep.StateDown, Error: "unexpected status", Code: 503, Latency: 120 * time.Millisecond})
	if got != "unexpected status (code 503, latency 120ms)" {
		t.Errorf("cause %q", got)
	}
	if got := causeOf(upkeep.Result{Outcome: upkeep.StateUp, Latency: time.Millisecond}); got != "check up (latency 1ms)" {
		t.Errorf("cause %q", got)
	}
}
