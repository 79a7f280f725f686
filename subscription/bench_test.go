package subscription

import (
	"fmt"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// BenchmarkFanOut measures the fan-out of one incident update to 5,000 confirmed subscribers:
// one transaction that writes 5,000 outbox rows.
func BenchmarkFanOut(b *testing.B) {
	const n = 5000
	clock := &testClock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s, db := newTestService(b, clock)
	p := s.policy()
	p.StatusPage.Subscriptions.Email = &policy.SubscriptionEmail{Channel: "mail"}
	ctx := b.Context()
	for i := range n {
		sub := upkeep.Subscriber{Kind: upkeep.SubscriberEmail, Address: fmt.Sprintf("u%d@example.com", i), CreatedAt: clock.Now(), ConfirmedAt: clock.Now()}
		if _, err := db.AddSubscriber(ctx, &sub, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	var id int64
	if err := db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		inc := upkeep.Incident{Title: "Down", Status: upkeep.StatusInvestigating, Impact: upkeep.ImpactMajor, Services: []string{"api"}, StartedAt: clock.Now(), OpenedAt: clock.Now()}
		err := tx.InsertIncident(&inc)
		id = inc.ID
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
			return tx.AddUpdate(id, upkeep.IncidentUpdate{At: clock.Now(), Kind: upkeep.UpdateMessage, Status: upkeep.StatusInvestigating, Message: fmt.Sprint("update ", i)})
		}); err != nil {
			b.Fatal(err)
		}
		got, err := s.Step(ctx)
		if err != nil || got != n {
			b.Fatalf("Step = %d, %v; want %d", got, err, n)
		}
	}
}
