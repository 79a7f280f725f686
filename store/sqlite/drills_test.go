package sqlite

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func TestDrillRuns(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

	if dest, err := db.LastDrillDestination(ctx, "d"); err != nil || dest != "" {
		t.Fatalf("no runs yet: %q %v", dest, err)
	}
	passed := upkeep.DrillRun{Drill: "d", Backup: "b", Destination: "onsite", Started: t0, MaxRTO: 15 * time.Minute, MaxRPO: time.Hour}
	if err := db.StartDrillRun(ctx, &passed); err != nil || passed.ID == 0 {
		t.Fatalf("start: %v id %d", err, passed.ID)
	}
	got, err := db.DrillRun(ctx, passed.ID)
	if err != nil || got.Status != upkeep.DrillRunning || !got.Finished.IsZero() {
		t.Fatalf("running run = %+v %v", got, err)
	}
	passed.Status, passed.Finished = upkeep.DrillPassed, t0.Add(2*time.Minute)
	passed.SnapshotID, passed.SnapshotTime = "k123", t0.Add(-time.Hour+time.Minute)
	passed.Fetch, passed.Restore, passed.Verify = 3*time.Second, 90*time.Second, 20*time.Second
	passed.RTO, passed.RPO = 113*time.Second, 59*time.Minute
	passed.Files, passed.Bytes = 12, 3456
	passed.Steps = []upkeep.DrillStep{{Kind: "sql", Passed: true, Duration: 20 * time.Second}}
	if err := db.FinishDrillRun(ctx, &passed); err != nil {
		t.Fatal(err)
	}
	got, err = db.DrillRun(ctx, passed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, passed) {
		t.Errorf("stored\n%+v\nwant\n%+v", got, passed)
	}

	crashed := upkeep.DrillRun{Drill: "d", Backup: "b", Destination: "offsite", Started: t0.Add(24 * time.Hour)}
	if err := db.StartDrillRun(ctx, &crashed); err != nil {
		t.Fatal(err)
	}
	if dest, _ := db.LastDrillDestination(ctx, "d"); dest != "offsite" {
		t.Errorf("last destination %q", dest)
	}
	n, err := db.MarkInterruptedDrillRuns(ctx, t0.Add(25*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("interrupted %d %v", n, err)
	}
	runs, err := db.DrillRuns(ctx, "d", 0)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %d %v", len(runs), err)
	}
	if r := runs[0]; r.ID != crashed.ID || r.Status != upkeep.DrillInterrupted || r.Reason != DrillInterrupted || !r.Finished.Equal(t0.Add(25*time.Hour)) {
		t.Errorf("crashed run = %+v", r)
	}
	if runs, _ := db.DrillRuns(ctx, "d", 1); len(runs) != 1 {
		t.Errorf("limit 1 gave %d", len(runs))
	}
	if _, err := db.DrillRun(ctx, 999); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	if err := db.FinishDrillRun(ctx, &upkeep.DrillRun{ID: 999, Drill: "x"}); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("finish missing run: %v", err)
	}
}

func TestDrillRunsBetween(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	day := func(d int) time.Time { return time.Date(2026, 10, d, 7, 0, 0, 0, time.UTC) }
	var ids []int64
	for _, r := range []upkeep.DrillRun{{Drill: "d", Started: day(1)}, {Drill: "d", Started: day(2)}, {Drill: "e", Started: day(2)}, {Drill: "d", Started: day(3)}} {
		if err := db.StartDrillRun(ctx, &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	runs, err := db.DrillRunsBetween(ctx, "d", day(2), day(3))
	if err != nil || len(runs) != 1 || runs[0].ID != ids[1] {
		t.Fatalf("runs = %+v, %v; want run %d only", runs, err, ids[1])
	}
	if runs, err := db.DrillRunsBetween(ctx, "d", day(1), day(4)); err != nil || len(runs) != 3 || runs[0].ID != ids[0] || runs[2].ID != ids[3] {
		t.Errorf("oldest first: %+v %v", runs, err)
	}
}

// TestMissedDrillRuns: a missed slot is stored with its slot and reason; LastDrillRuns gives the
// newest row and the newest real run of each drill; the destination rotation ignores misses.
func TestMissedDrillRuns(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	run := upkeep.DrillRun{Drill: "d", Backup: "b", Destination: "onsite", Started: t0, Trigger: upkeep.TriggerSchedule, Scheduled: t0}
	if err := db.StartDrillRun(ctx, &run); err != nil {
		t.Fatal(err)
	}
	run.Status, run.Finished = upkeep.DrillPassed, t0.Add(time.Minute)
	if err := db.FinishDrillRun(ctx, &run); err != nil {
		t.Fatal(err)
	}
	missed := upkeep.DrillRun{Drill: "d", Backup: "b", Started: t0.Add(24 * time.Hour), Scheduled: t0.Add(24 * time.Hour),
		Finished: t0.Add(50 * time.Hour), Reason: "Upkeep was not running"}
	if err := db.RecordMissedDrill(ctx, &missed); err != nil || missed.ID == 0 {
		t.Fatalf("missed: %v %d", err, missed.ID)
	}
	other := upkeep.DrillRun{Drill: "e", Backup: "b", Destination: "second", Started: t0}
	if err := db.StartDrillRun(ctx, &other); err != nil {
		t.Fatal(err)
	}
	last, lastRun, err := db.LastDrillRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := last["d"]; m.ID != missed.ID || m.Status != upkeep.DrillMissed || m.Trigger != upkeep.TriggerSchedule || !m.Scheduled.Equal(missed.Scheduled) ||
		!m.Finished.Equal(missed.Finished) || m.Reason != missed.Reason {
		t.Errorf("last of d = %+v", m)
	}
	if r := lastRun["d"]; r.ID != run.ID || r.Status != upkeep.DrillPassed || r.Trigger != upkeep.TriggerSchedule || !r.Scheduled.Equal(t0) {
		t.Errorf("last run of d = %+v", r)
	}
	if e := last["e"]; e.ID != other.ID || e.Trigger != upkeep.TriggerCLI || !e.Scheduled.IsZero() || len(last) != 2 || len(lastRun) != 2 {
		t.Errorf("last = %+v", last)
	}
	if dest, err := db.LastDrillDestination(ctx, "d"); err != nil || dest != "onsite" {
		t.Errorf("destination of the newest real run: %q %v", dest, err)
	}
}
