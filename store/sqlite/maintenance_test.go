package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// TestRollUpMaintenance: results taken while the monitor was in a maintenance window count as
// checks and as maintenance, never as failures.
func TestRollUpMaintenance(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	var rs []upkeep.Result
	for m := range 60 { // one check a minute; down from minute 10 to 49
		o := upkeep.StateUp
		if m >= 10 && m < 50 {
			o = upkeep.StateDown
		}
		rs = append(rs, result("api", mt0.Add(time.Duration(m)*time.Minute), o, time.Millisecond))
	}
	ts := []upkeep.Transition{
		{Monitor: "api", From: upkeep.StateUnknown, To: upkeep.StateUp, At: mt0},
		{Monitor: "api", From: upkeep.StateUp, To: upkeep.StateMaintenance, At: mt0.Add(5 * time.Minute), Cause: "maintenance: upgrade"},
		{Monitor: "api", From: upkeep.StateMaintenance, To: upkeep.StateDown, At: mt0.Add(40 * time.Minute), Cause: "maintenance ended: upgrade"},
		{Monitor: "api", From: upkeep.StateDown, To: upkeep.StateUp, At: mt0.Add(50 * time.Minute)},
	}
	if err := db.RecordMonitoring(ctx, rs, ts); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RollUp(ctx, mt0.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, span := range []time.Duration{time.Hour, Day} {
		got, err := db.Rollups(ctx, "api", span, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		// Minutes 5-39 are maintenance (35 results, 30 of them down); 40-49 are failures.
		if len(got) != 1 || got[0].Checks != 60 || got[0].Maintenance != 35 || got[0].Failures != 10 {
			t.Errorf("%s rollup %+v, want 60 checks, 35 in maintenance, 10 failures", span, got)
		}
	}
}

func TestWindows(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	now := mt0
	w := upkeep.Window{Title: "Upgrade", Services: []string{"db"}, Notify: []string{"ops"}, NotifyBefore: 2 * time.Hour,
		Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}
	if err := db.InsertWindow(ctx, &w, now); err != nil {
		t.Fatal(err)
	}
	got, err := db.Window(ctx, 1)
	if err != nil || got.ID != "1" || got.Source != upkeep.WindowAdHoc || got.Title != "Upgrade" || got.NotifyBefore != 2*time.Hour ||
		len(got.Notify) != 1 || !got.Start.Equal(w.Start) || got.Monitors == nil && len(got.Monitors) != 0 {
		t.Fatalf("window %+v %v", got, err)
	}
	if _, err := db.Window(ctx, 2); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("missing window: %v", err)
	}
	active := upkeep.Window{Title: "Now", Monitors: []string{"api"}, Start: now, End: now.Add(time.Hour)}
	if err := db.InsertWindow(ctx, &active, now); err != nil {
		t.Fatal(err)
	}
	if list, err := db.Windows(ctx, time.Time{}, 0); err != nil || len(list) != 2 || list[0].ID != "1" {
		t.Errorf("list %+v %v: latest start first", list, err)
	}
	ended, err := db.EndWindow(ctx, 2, now.Add(10*time.Minute))
	if err != nil || !ended.End.Equal(now.Add(10*time.Minute)) {
		t.Errorf("end active: %+v %v", ended, err)
	}
	cancelled, err := db.EndWindow(ctx, 1, now.Add(10*time.Minute))
	if err != nil || cancelled.StateAt(now.Add(10*time.Minute)) != upkeep.WindowCancelled {
		t.Errorf("cancel upcoming: %+v %v", cancelled, err)
	}
	for _, id := range []int64{1, 2} {
		if _, err := db.EndWindow(ctx, id, now.Add(20*time.Minute)); !errors.Is(err, ErrWindowOver) {
			t.Errorf("end %d again: %v", id, err)
		}
	}
	if list, err := db.Windows(ctx, now.Add(15*time.Minute), 0); err != nil || len(list) != 1 || list[0].ID != "1" {
		t.Errorf("windows ending after the early end: %+v %v", list, err)
	}
}

// TestMaintenanceNotice: the outbox takes notifications without an incident.
func TestMaintenanceNotice(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	n := upkeep.Notification{Key: "maintenance/api/1/0/maintenance_started/ops", Channel: "ops", Event: upkeep.EventMaintenanceStarted,
		Payload: upkeep.NotificationPayload{Title: "Upgrade", Window: "1"}, CreatedAt: mt0, NextAttemptAt: mt0}
	for range 2 {
		err := db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
			_, err := tx.Enqueue(n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.PendingNotifications(ctx, 10)
	if err != nil || len(got) != 1 || got[0].Incident != 0 || got[0].Payload.Window != "1" {
		t.Errorf("pending %+v %v", got, err)
	}
}

// TestMigration0005KeepsOutbox upgrades a store holding a notification to the schema of 0005:
// the rebuilt outbox keeps it, and its key stays unique.
func TestMigration0005KeepsOutbox(t *testing.T) {
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := applyMigrations(t.Context(), conn, "m.db", migs[:4], testLogger(t)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO incidents (title, status, impact, automatic, started_at, opened_at, updated_at) VALUES ('x', 'investigating', 'major', 1, 1, 1, 1)`,
		`INSERT INTO outbox (key, incident, channel, event, step, payload, state, next_attempt_at, created_at) VALUES ('incident/1/step/0/ops/down', 1, 'ops', 'down', 0, '{}', 'sent', 1, 1)`,
	} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := applyMigrations(t.Context(), conn, "m.db", migs, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	var key string
	var incident int64
	if err := conn.QueryRowContext(t.Context(), "SELECT key, incident FROM outbox").Scan(&key, &incident); err != nil || incident != 1 {
		t.Errorf("after 0005: %s %d %v", key, incident, err)
	}
	if _, err := conn.ExecContext(t.Context(), `INSERT INTO outbox (key, incident, channel, event, step, payload, state, next_attempt_at, created_at)
		VALUES ('incident/1/step/0/ops/down', NULL, 'ops', 'down', 0, '{}', 'pending', 1, 1)`); err == nil {
		t.Error("a duplicate key was accepted after the rebuild")
	}
}
