package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func TestBackupRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

	// A finished partial run with two destinations.
	id, err := db.StartBackupRun(ctx, upkeep.BackupRun{Job: "db", Trigger: upkeep.TriggerSchedule, Scheduled: t0, Start: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ok := upkeep.BackupDestinationResult{Destination: "onsite", Status: upkeep.BackupSucceeded, Snapshot: "k1", Start: t0.Add(time.Second),
		End: t0.Add(time.Minute), BytesRead: 1000, BytesAdded: 250, Files: 3, Forgotten: 1}
	bad := upkeep.BackupDestinationResult{Destination: "offsite", Status: upkeep.BackupFailed, Start: t0.Add(2 * time.Second), End: t0.Add(time.Minute), Error: "unreachable"}
	for _, d := range []upkeep.BackupDestinationResult{{Destination: "onsite", Status: upkeep.BackupRunning, Start: ok.Start}, ok, bad} {
		if err := db.RecordBackupDestination(ctx, id, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishBackupRun(ctx, id, upkeep.BackupPartial, t0.Add(time.Minute), "offsite: unreachable"); err != nil {
		t.Fatal(err)
	}
	// A missed slot, and a run that is still running when the process dies.
	if _, err := db.RecordMissedBackup(ctx, "db", t0.Add(24*time.Hour), t0.Add(30*time.Hour), "Upkeep was not running"); err != nil {
		t.Fatal(err)
	}
	crashed, err := db.StartBackupRun(ctx, upkeep.BackupRun{Job: "db", Trigger: upkeep.TriggerCLI, Start: t0.Add(30 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordBackupDestination(ctx, crashed, upkeep.BackupDestinationResult{Destination: "onsite", Status: upkeep.BackupRunning, Start: t0.Add(30 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	restart := t0.Add(31 * time.Hour)
	interrupted, err := db.InterruptBackupRuns(ctx, restart)
	if err != nil {
		t.Fatal(err)
	}
	if len(interrupted) != 1 || interrupted[0].ID != crashed || interrupted[0].Job != "db" {
		t.Fatalf("interrupted %+v", interrupted)
	}
	if again, _ := db.InterruptBackupRuns(ctx, restart); len(again) != 0 {
		t.Fatalf("interrupted twice: %+v", again)
	}

	runs, err := db.BackupRuns(ctx, "db", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("runs %+v", runs)
	}
	c, m, p := runs[0], runs[1], runs[2]
	if c.Status != upkeep.BackupFailed || c.Error != InterruptedError || !c.End.Equal(restart) || c.Trigger != upkeep.TriggerCLI ||
		len(c.Destinations) != 1 || c.Destinations[0].Status != upkeep.BackupFailed || c.Destinations[0].Error != InterruptedError {
		t.Errorf("crashed run %+v", c)
	}
	if m.Status != upkeep.BackupMissed || !m.Scheduled.Equal(t0.Add(24*time.Hour)) || m.Error != "Upkeep was not running" {
		t.Errorf("missed %+v", m)
	}
	if p.Status != upkeep.BackupPartial || !p.Scheduled.Equal(t0) || len(p.Destinations) != 2 || p.Destinations[0] != ok || p.Destinations[1] != bad {
		t.Errorf("partial run %+v", p)
	}
	if p.Destinations[0].DedupRatio() != 4 {
		t.Errorf("dedup ratio %v", p.Destinations[0].DedupRatio())
	}
	older, err := db.BackupRuns(ctx, "db", m.ID, 10)
	if err != nil || len(older) != 1 || older[0].ID != p.ID {
		t.Errorf("page: %+v %v", older, err)
	}
	last, lastRun, err := db.LastBackupRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 1 || last["db"].ID != c.ID || lastRun["db"].ID != c.ID {
		t.Errorf("last %+v / %+v", last, lastRun)
	}
	if _, err := db.BackupRun(ctx, 999); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("BackupRun(999) = %v", err)
	}
	if err := db.FinishBackupRun(ctx, 999, upkeep.BackupFailed, restart, ""); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("FinishBackupRun(999) = %v", err)
	}
}

// TestBackupRunsBetween selects runs by their slot (a manual run by its start), so a run late
// for a slot of the period still counts in it, and FirstBackupRunAt says since when the job ran.
func TestBackupRunsBetween(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	day := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, time.UTC) }
	if first, err := db.FirstBackupRunAt(ctx, "db"); err != nil || !first.IsZero() {
		t.Fatalf("no run yet: %v %v", first, err)
	}
	start := func(trigger upkeep.BackupTrigger, slot, at time.Time) int64 {
		id, err := db.StartBackupRun(ctx, upkeep.BackupRun{Job: "db", Trigger: trigger, Scheduled: slot, Start: at})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := start(upkeep.TriggerSchedule, day(1, 6), day(1, 6)) // Oct 1, before the span
	late := start(upkeep.TriggerCatchUp, day(2, 6), day(3, 1))    // slot Oct 2, started Oct 3
	manual := start(upkeep.TriggerManual, time.Time{}, day(4, 12))
	missed, err := db.RecordMissedBackup(ctx, "db", day(5, 6), day(5, 9), "not running")
	if err != nil {
		t.Fatal(err)
	}
	start(upkeep.TriggerSchedule, day(9, 6), day(9, 6)) // after the span
	if _, err := db.StartBackupRun(ctx, upkeep.BackupRun{Job: "other", Trigger: upkeep.TriggerSchedule, Scheduled: day(3, 6), Start: day(3, 6)}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordBackupDestination(ctx, late, upkeep.BackupDestinationResult{Destination: "onsite", Status: upkeep.BackupSucceeded, Start: day(3, 1), End: day(3, 2)}); err != nil {
		t.Fatal(err)
	}
	runs, err := db.BackupRunsBetween(ctx, "db", day(2, 0), day(9, 6))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != late || ids[1] != manual || ids[2] != missed {
		t.Fatalf("runs = %v, want [%d %d %d]", ids, late, manual, missed)
	}
	if d := runs[0].Destinations; len(d) != 1 || d[0].Destination != "onsite" || runs[2].Status != upkeep.BackupMissed {
		t.Errorf("runs = %+v", runs)
	}
	if first, err := db.FirstBackupRunAt(ctx, "db"); err != nil || !first.Equal(day(1, 6)) {
		t.Errorf("first run at %v %v, want %v (run %d)", first, err, day(1, 6), before)
	}
}

// TestBackupVerifications: verifications are stored when they start and end, listed newest
// first per job, and one left running by a crash is marked failed at the next start.
func TestBackupVerifications(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	v := upkeep.BackupVerification{Job: "db", Destination: "onsite", Trigger: upkeep.TriggerSchedule, Start: t0, ReadData: 0.1}
	if v.ID, err = db.StartBackupVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	v.Status, v.End, v.Snapshots, v.Objects, v.ReadFiles, v.ReadBytes = upkeep.VerifyIntact, t0.Add(time.Minute), 3, 40, 4, 5000
	if err := db.FinishBackupVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartBackupVerification(ctx, upkeep.BackupVerification{Job: "other", Destination: "onsite", Trigger: upkeep.TriggerCLI, Start: t0}); err != nil {
		t.Fatal(err)
	}
	running, err := db.StartBackupVerification(ctx, upkeep.BackupVerification{Job: "db", Destination: "offsite", Trigger: upkeep.TriggerCLI, Start: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishBackupVerification(ctx, upkeep.BackupVerification{ID: 999}); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("finishing an unknown verification: %v", err)
	}
	db.Close()

	// The next process: the running one was interrupted.
	db, err = Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.InterruptBackupVerifications(ctx, t0.Add(2*time.Hour)); err != nil || n != 2 {
		t.Fatalf("interrupted %d, %v; want 2 (db at offsite, other)", n, err)
	}
	got, err := db.BackupVerifications(ctx, "db", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []upkeep.BackupVerification{
		{ID: running, Job: "db", Destination: "offsite", Trigger: upkeep.TriggerCLI, Status: upkeep.VerifyFailed, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), Error: InterruptedError},
		v,
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("verifications\n got %+v\nwant %+v", got, want)
	}
	if got, err := db.BackupVerifications(ctx, "db", 1); err != nil || len(got) != 1 || got[0].ID != running {
		t.Errorf("limit 1: %+v %v", got, err)
	}
}
