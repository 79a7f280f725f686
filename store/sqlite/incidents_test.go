package sqlite

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func TestIncidentsAndOutbox(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	// Transitions are read in id order across monitors, from a watermark.
	err := db.RecordMonitoring(ctx, nil, []upkeep.Transition{
		{Monitor: "a", From: upkeep.StateUp, To: upkeep.StateDown, At: t0, Cause: "boom"},
		{Monitor: "b", From: upkeep.StateUp, To: upkeep.StateDown, At: t0.Add(time.Second), Cause: "bang"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := db.TransitionsAfter(ctx, 0, 10)
	if err != nil || len(ts) != 2 || ts[0].Monitor != "a" || ts[1].Monitor != "b" || ts[1].ID <= ts[0].ID || ts[0].Cause != "boom" {
		t.Fatalf("TransitionsAfter = %+v, %v", ts, err)
	}
	if more, _ := db.TransitionsAfter(ctx, ts[1].ID, 10); len(more) != 0 {
		t.Errorf("after the last: %+v", more)
	}

	var first, second upkeep.Incident
	var added []bool
	err = db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		added = nil
		if err := tx.SetWatermark(ts[1].ID); err != nil {
			return err
		}
		first = upkeep.Incident{Title: "a down", Status: upkeep.StatusInvestigating, Impact: upkeep.ImpactMajor,
			Services: []string{"api"}, Automatic: true, StartedAt: t0, OpenedAt: t0,
			Monitors: []upkeep.IncidentMonitor{{Monitor: "a", Service: "api", State: upkeep.StateDown, Failing: true, Since: t0}}}
		if err := tx.InsertIncident(&first); err != nil {
			return err
		}
		second = upkeep.Incident{Title: "manual", Status: upkeep.StatusIdentified, Impact: upkeep.ImpactMinor, StartedAt: t0, OpenedAt: t0,
			ResolvedAt: t0.Add(time.Hour)}
		if err := tx.InsertIncident(&second); err != nil {
			return err
		}
		if err := tx.AddUpdate(first.ID, upkeep.IncidentUpdate{At: t0, Kind: upkeep.UpdateEvent, Status: upkeep.StatusInvestigating, Message: "a is down"}); err != nil {
			return err
		}
		for range 2 {
			ok, err := tx.Enqueue(upkeep.Notification{Key: "k1", Incident: first.ID, Channel: "mail", Event: upkeep.EventDown,
				Payload: upkeep.NotificationPayload{Title: "a down", At: t0}})
			if err != nil {
				return err
			}
			added = append(added, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 || !added[0] || added[1] {
		t.Errorf("enqueue the same key twice: added %v, want [true false]", added)
	}
	err = db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		wm, err := tx.Watermark()
		if err != nil || wm != ts[1].ID {
			t.Errorf("watermark = %d, %v", wm, err)
		}
		open, err := tx.OpenIncidents()
		if err != nil || len(open) != 1 || open[0].ID != first.ID || len(open[0].Monitors) != 1 || !open[0].Monitors[0].Failing {
			t.Errorf("open incidents = %+v, %v", open, err)
		}
		ch, err := tx.NotifiedChannels(first.ID)
		if err != nil || len(ch) != 1 || ch[0] != "mail" {
			t.Errorf("notified = %v, %v", ch, err)
		}
		return tx.SetReport(second.ID, upkeep.IncidentReport{Cause: "disk", Timeline: []upkeep.TimelineEntry{{At: t0, Text: "x"}}})
	})
	if err != nil {
		t.Fatal(err)
	}

	list, err := db.Incidents(ctx, "", 10)
	if err != nil || len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("Incidents = %+v, %v", list, err)
	}
	if resolved, _ := db.Incidents(ctx, "resolved", 10); len(resolved) != 1 || resolved[0].Report == nil || resolved[0].Report.Cause != "disk" {
		t.Errorf("resolved = %+v", resolved)
	}
	got, err := db.Incident(ctx, first.ID)
	if err != nil || len(got.Updates) != 1 || got.Services[0] != "api" || !got.Automatic || !got.StartedAt.Equal(t0) {
		t.Errorf("Incident = %+v, %v", got, err)
	}
	if _, err := db.Incident(ctx, 999); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("missing incident: %v", err)
	}

	pending, err := db.PendingNotifications(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Payload.Title != "a down" {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	n := pending[0]
	if err := db.MarkRetry(ctx, n.ID, 1, t0.Add(time.Minute), "timeout"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, n.ID, t0, 2, "refused"); err != nil {
		t.Fatal(err)
	}
	failed, err := db.Notifications(ctx, upkeep.DeliveryFailed, 0)
	if err != nil || len(failed) != 1 || failed[0].LastError != "refused" || failed[0].Attempts != 2 {
		t.Errorf("failed = %+v, %v", failed, err)
	}
	if p, _ := db.PendingNotifications(ctx, 10); len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
	key, err := db.AckKey(ctx)
	if err != nil || len(key) != 32 {
		t.Errorf("ack key = %x, %v", key, err)
	}
}

// TestIncidentsBetween returns the incidents open at some time of the span: one that ended
// before it or started after it is left out, one still open is in.
func TestIncidentsBetween(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	day := func(d int) time.Time { return time.Date(2026, 10, d, 12, 0, 0, 0, time.UTC) }
	ids := map[string]int64{}
	err := db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		for _, inc := range []upkeep.Incident{
			{Title: "ended before", StartedAt: day(1), ResolvedAt: day(2)},
			{Title: "across the start", StartedAt: day(2), ResolvedAt: day(4)},
			{Title: "inside", StartedAt: day(5), ResolvedAt: day(6), Services: []string{"api"}},
			{Title: "still open", StartedAt: day(7)},
			{Title: "after", StartedAt: day(20), ResolvedAt: day(21)},
		} {
			inc.Status, inc.Impact, inc.OpenedAt = upkeep.StatusInvestigating, upkeep.ImpactMajor, inc.StartedAt
			if err := tx.InsertIncident(&inc); err != nil {
				return err
			}
			ids[inc.Title] = inc.ID
		}
		return tx.SetReport(ids["inside"], upkeep.IncidentReport{Cause: "disk full"})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.IncidentsBetween(ctx, day(3), day(10))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, inc := range got {
		titles = append(titles, inc.Title)
	}
	if strings.Join(titles, ",") != "across the start,inside,still open" {
		t.Fatalf("incidents = %q", titles)
	}
	if got[1].Report == nil || got[1].Report.Cause != "disk full" || got[1].Services[0] != "api" {
		t.Errorf("inside = %+v", got[1])
	}
}
