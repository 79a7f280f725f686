package sqlite

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func TestSubscribers(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	sent := 0
	confirmMail := func(s upkeep.Subscriber) []upkeep.Notification {
		sent++
		return []upkeep.Notification{{Key: fmt.Sprintf("subscriber/%d/confirm/%d", s.ID, sent), Channel: "@subscribers-email", Event: "subscription_confirm"}}
	}

	a := upkeep.Subscriber{Kind: upkeep.SubscriberEmail, Address: "a@example.com", Services: []string{"api"}, CreatedAt: t0}
	existing, err := db.AddSubscriber(ctx, &a, 2, confirmMail)
	if err != nil || existing || a.ID == 0 {
		t.Fatalf("AddSubscriber = %v, %v, %+v", existing, err, a)
	}
	// The same address again: the stored row, and another confirmation mail.
	again := upkeep.Subscriber{Kind: upkeep.SubscriberEmail, Address: "a@example.com", CreatedAt: t0.Add(time.Minute)}
	existing, err = db.AddSubscriber(ctx, &again, 2, confirmMail)
	if err != nil || !existing || again.ID != a.ID {
		t.Fatalf("AddSubscriber again = %v, %v, %+v", existing, err, again)
	}
	// The cap on unconfirmed subscriptions.
	b := upkeep.Subscriber{Kind: upkeep.SubscriberEmail, Address: "b@example.com", CreatedAt: t0}
	if _, err := db.AddSubscriber(ctx, &b, 2, nil); err != nil {
		t.Fatal(err)
	}
	c := upkeep.Subscriber{Kind: upkeep.SubscriberEmail, Address: "c@example.com", CreatedAt: t0}
	if _, err := db.AddSubscriber(ctx, &c, 2, confirmMail); !errors.Is(err, upkeep.ErrConflict) {
		t.Fatalf("beyond the cap: %v", err)
	}
	if rows, _ := db.PendingNotifications(ctx, 10); len(rows) != 2 {
		t.Errorf("outbox after the refused one: %+v", rows)
	}

	got, err := db.ConfirmSubscriber(ctx, a.ID, []string{"api", "web"}, t0.Add(time.Hour))
	if err != nil || !got.Confirmed() || len(got.Services) != 2 {
		t.Fatalf("ConfirmSubscriber = %+v, %v", got, err)
	}
	// Unconfirmed ones expire; confirmed ones stay.
	if n, err := db.ExpireSubscribers(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("ExpireSubscribers = %d, %v", n, err)
	}
	if _, err := db.Subscriber(ctx, b.ID); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("expired subscriber: %v", err)
	}

	// The fan-out: updates after the watermark (which starts at the last update before 0007),
	// with the incident and whether each is the first.
	var inc upkeep.Incident
	err = db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		inc = upkeep.Incident{Title: "Down", Status: upkeep.StatusInvestigating, Impact: upkeep.ImpactMajor, Services: []string{"api"}, StartedAt: t0, OpenedAt: t0}
		if err := tx.InsertIncident(&inc); err != nil {
			return err
		}
		if err := tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: t0, Kind: upkeep.UpdateMessage, Status: upkeep.StatusInvestigating, Message: "Looking"}); err != nil {
			return err
		}
		return tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: t0, Kind: upkeep.UpdateEvent, Status: upkeep.StatusResolved, Message: "recovered"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.SubscriberTx(ctx, func(tx upkeep.SubscriberTx) error {
		mark, err := tx.Watermark()
		if err != nil || mark != 0 {
			t.Errorf("Watermark = %d, %v", mark, err)
		}
		ups, err := tx.UpdatesAfter(mark, 10)
		if err != nil {
			return err
		}
		if len(ups) != 2 || !ups[0].First || ups[1].First || ups[1].PrevStatus != upkeep.StatusInvestigating ||
			ups[0].Title != "Down" || len(ups[0].Services) != 1 || ups[0].Update.Message != "Looking" {
			t.Errorf("UpdatesAfter = %+v", ups)
		}
		subs, err := tx.Subscribers()
		if err != nil || len(subs) != 1 || subs[0].ID != a.ID {
			t.Errorf("Subscribers = %+v, %v", subs, err)
		}
		return tx.SetWatermark(ups[1].Update.ID)
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := db.RemoveSubscriber(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveSubscriber(ctx, a.ID); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	if key, err := db.SubscriptionKey(ctx); err != nil || len(key) != 32 {
		t.Errorf("SubscriptionKey = %x, %v", key, err)
	}
}
