package incident_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// subscriber hands out channels that the test can drop, like the engine drops a slow consumer.
type subscriber struct {
	mu   sync.Mutex
	subs []chan upkeep.Transition
}

func (s *subscriber) Subscribe(int) (<-chan upkeep.Transition, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan upkeep.Transition, 1)
	s.subs = append(s.subs, ch)
	return ch, func() {}
}

// drop closes the current subscription without delivering anything.
func (s *subscriber) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.subs[len(s.subs)-1])
}

func (s *subscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunCatchesUp runs the manager and the delivery workers as serve does: transitions stored
// while the subscription was dropped are still applied, and the workers deliver.
func TestRunCatchesUp(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, defaultEscalation)
	// Stored before Run starts (a crash before it was applied).
	h.transition("api-a", upkeep.StateUp, upkeep.StateDown, t0)

	ctx, cancel := context.WithCancel(t.Context())
	sub := &subscriber{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = h.m.Run(ctx, sub) }()
	go func() { defer wg.Done(); _ = h.d.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	waitFor(t, "the first page", func() bool { return h.rec.count() == 1 })
	// The subscription is dropped while the monitor recovers: the manager subscribes again
	// and reads the transition from the store. (Its resubscribe pause uses the clock's timer,
	// which the fake clock never fires; the channel wakes it.)
	waitFor(t, "a subscription", func() bool { return sub.count() == 1 })
	h.transition("api-a", upkeep.StateDown, upkeep.StateUp, t0.Add(time.Minute))
	sub.drop()
	waitFor(t, "the recovery notice", func() bool {
		incs := h.incidents()
		return len(incs) == 1 && !incs[0].Open()
	})
	waitFor(t, "the recovery notice sent", func() bool { return h.rec.count() == 2 })
	got := summary(h.rec.take())
	if len(got) != 2 || got[0] != "mail down" || got[1] != "mail recovered" {
		t.Errorf("sent %q", got)
	}
}
