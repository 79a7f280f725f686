package incident_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// pausingStore lets the test hold a read of the outbox after it was made, before the delivery
// loop sees it: the read can then be stale.
type pausingStore struct {
	*sqlite.DB
	pause  atomic.Bool
	paused chan struct{} // a read was made and waits
	resume chan struct{}
}

func (s *pausingStore) PendingNotifications(ctx context.Context, limit int) ([]upkeep.Notification, error) {
	ns, err := s.DB.PendingNotifications(ctx, limit)
	if s.pause.CompareAndSwap(true, false) {
		s.paused <- struct{}{}
		<-s.resume
	}
	return ns, err
}

// TestDeliveryDoesNotResendAStaleRead: a notification whose attempt ends while the delivery
// loop is reading the outbox shows as pending in that read; it must not be sent again.
// (Found by the outbox crash test in cmd/upkeep: repeats beyond the at-least-once window.)
func TestDeliveryDoesNotResendAStaleRead(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, escalationPolicy, t0, esc("default", 0, step(0, "mail")))
	h.transition("api-a", upkeep.StateUp, upkeep.StateDown, t0)
	if err := h.m.CatchUp(t.Context()); err != nil { // enqueues "mail down", sends nothing
		t.Fatal(err)
	}

	store := &pausingStore{DB: h.db, paused: make(chan struct{}), resume: make(chan struct{})}
	m := incident.NewManager(incident.Config{Store: store, Clock: h.clock})
	m.Apply(h.pol)
	var (
		mu      sync.Mutex
		sends   int
		inSend  = make(chan struct{}, 10)
		letSend = make(chan struct{})
	)
	d := incident.NewDelivery(m, incident.DeliveryConfig{Senders: func(string) (incident.Sender, bool) {
		return incident.SenderFunc(func(ctx context.Context, ev incident.Event) error {
			mu.Lock()
			sends++
			mu.Unlock()
			inSend <- struct{}{}
			<-letSend
			return nil
		}), true
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	<-inSend // the first read dispatched it; its send is under way
	store.pause.Store(true)
	d.Wake()
	<-store.paused // a second read shows it pending, and waits
	close(letSend)
	waitFor(t, "the notification marked sent", func() bool {
		ns, err := h.db.Notifications(t.Context(), upkeep.DeliverySent, 10)
		return err == nil && len(ns) == 1
	})
	time.Sleep(50 * time.Millisecond) // the worker forgets it is in flight
	store.resume <- struct{}{}        // the stale read goes on

	// Later reads see it sent; the stale one must not have sent it again.
	time.Sleep(300 * time.Millisecond)
	d.Wake()
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if sends != 1 {
		t.Errorf("the notification was sent %d times, want 1", sends)
	}
}
