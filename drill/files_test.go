package drill

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// sourceTree writes a small tree to back up.
func sourceTree(t *testing.T) string {
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, filepath.Join(src, "a.txt"), "alpha\n")
	writeFile(t, filepath.Join(src, "sub", "b.txt"), strings.Repeat("bravo ", 1000))
	writeFile(t, filepath.Join(src, "sub", "deeper", "c.bin"), "\x00\x01\x02charlie")
	// Files written just now may share the snapshot's second; date them back so that they count
	// as unchanged since the backup.
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(src, func(p string, _ fs.DirEntry, _ error) error { return os.Chtimes(p, old, old) })
	return src
}

func filesDrill(dir string, steps ...policy.VerifyStep) *policy.Drill {
	return &policy.Drill{
		Name: "files-drill", Backup: "files-job",
		Into:   policy.DrillTarget{Path: &policy.PathTarget{Dir: dir, Wipe: true}},
		Verify: steps, Keep: true,
	}
}

func sample(p policy.Percent) policy.VerifyStep {
	return policy.VerifyStep{Files: &policy.FilesVerify{Sample: p}}
}

// A files backup restored into a directory that held other files: the directory holds exactly
// the snapshot afterwards, the checks pass, and the run is recorded with its measurements.
func TestFilesDrillPasses(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	src := sourceTree(t)
	snap := f.backupFiles(src)

	dir := filepath.Join(t.TempDir(), "target")
	writeFile(t, filepath.Join(dir, "stale.txt"), "left over from the last drill")
	d := filesDrill(dir, sample(100), policy.VerifyStep{Command: `test "$(cat "$UPKEEP_RESTORED_PATH/a.txt")" = alpha && test "$UPKEEP_DRILL" = files-drill`})
	d.MaxRTO, d.MaxRPO = policy.Duration{Duration: time.Hour}, policy.Duration{Duration: time.Hour}

	run, err := f.runner.Run(t.Context(), d, "")
	if err != nil {
		t.Fatalf("drill failed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.txt")); !os.IsNotExist(err) {
		t.Errorf("the target was not wiped: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sub", "b.txt")); err != nil || len(b) != 6000 {
		t.Errorf("restored b.txt: %d bytes, %v", len(b), err)
	}
	if run.Status != upkeep.DrillPassed || run.SnapshotID != snap.ID || run.Destination != "onsite" || run.Files != 3 || len(run.Steps) != 2 {
		t.Errorf("run = %+v", run)
	}
	if run.RTO <= 0 || run.RTO < run.Fetch+run.Restore || run.RPO != run.Started.Sub(snap.Time) {
		t.Errorf("rto %s (fetch %s restore %s verify %s), rpo %s (snapshot %s, start %s)", run.RTO, run.Fetch, run.Restore, run.Verify, run.RPO, snap.Time, run.Started)
	}
	stored, err := f.store.DrillRuns(t.Context(), "files-drill", 0)
	if err != nil || len(stored) != 1 || stored[0].Status != upkeep.DrillPassed || len(stored[0].Steps) != 2 || !stored[0].Steps[1].Passed {
		t.Errorf("stored %+v %v", stored, err)
	}
}

// Without keep the restored tree is removed after the drill.
func TestFilesDrillCleansUp(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	dir := filepath.Join(t.TempDir(), "target")
	d := filesDrill(dir, sample(5))
	d.Keep = false
	if _, err := f.runner.Run(t.Context(), d, ""); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("target after the drill: %v %v", entries, err)
	}
}

// A byte changed in a restored file (or in the live file it came from, with its time kept) is
// found by a files check that samples every file.
func TestFilesDrillFindsChangedByte(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	src := sourceTree(t)
	f.backupFiles(src)
	dir := filepath.Join(t.TempDir(), "target")

	t.Run("restored copy", func(t *testing.T) {
		f.runner.afterRestore = func(dir string) { flipByte(t, filepath.Join(dir, "sub", "b.txt")) }
		defer func() { f.runner.afterRestore = nil }()
		_, err := f.runner.Run(t.Context(), filesDrill(dir, sample(100)), "")
		wantFailure(t, err, "verify", "files check: restored sub/b.txt differs from the snapshot")
	})
	t.Run("live source", func(t *testing.T) {
		flipByte(t, filepath.Join(src, "sub", "deeper", "c.bin"))
		_, err := f.runner.Run(t.Context(), filesDrill(dir, sample(100)), "")
		wantFailure(t, err, "verify", "sub/deeper/c.bin differs from the live file")
		// A file modified since the backup is expected to differ.
		now := time.Now()
		os.Chtimes(filepath.Join(src, "sub", "deeper", "c.bin"), now, now)
		if _, err := f.runner.Run(t.Context(), filesDrill(dir, sample(100)), ""); err != nil {
			t.Errorf("a file changed after the backup failed the drill: %v", err)
		}
	})
}

// Every restored file is compared with the snapshot's record of it, not only the totals: two
// files whose sizes changed by as much in opposite directions fail the check whatever the sample.
func TestFilesDrillComparesEachFileWithTheManifest(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	src := sourceTree(t)
	f.backupFiles(src)
	dir := filepath.Join(t.TempDir(), "target")
	f.runner.afterRestore = func(dir string) {
		appendTo := func(name, data string) {
			fh, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if _, err := fh.WriteString(data); err != nil {
				t.Fatal(err)
			}
		}
		appendTo("a.txt", "!")
		if err := os.Truncate(filepath.Join(dir, "sub", "deeper", "c.bin"), 9); err != nil { // 10 bytes before
			t.Fatal(err)
		}
	}
	_, err := f.runner.Run(t.Context(), filesDrill(dir, sample(1)), "")
	wantFailure(t, err, "verify", "files check: restored a.txt holds 7 bytes, the snapshot 6")

	// A link where the snapshot has a file.
	f.runner.afterRestore = func(dir string) {
		b := filepath.Join(dir, "sub", "b.txt")
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../a.txt", b); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { f.runner.afterRestore = nil }()
	_, err = f.runner.Run(t.Context(), filesDrill(dir, sample(1)), "")
	wantFailure(t, err, "verify", "files check: restored sub/b.txt is a symbolic link, the snapshot has a file")
}

// flipByte changes one byte of a file and keeps its modification time.
func flipByte(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(path, b, fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

func wantFailure(t *testing.T, err error, phase, reason string) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("want a failure in %s (%s), got %v", phase, reason, err)
	}
	if f.Phase != phase || !strings.Contains(f.Reason, reason) {
		t.Errorf("failure %q, want phase %s with %q", f, phase, reason)
	}
}

// A damaged object in the destination fails the restore: the drill reads from the destination,
// not from a cache that still holds the good copy.
func TestFilesDrillCorruptedRepository(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	dir := filepath.Join(t.TempDir(), "target")
	// A first drill passes (and would have filled any cache).
	if _, err := f.runner.Run(t.Context(), filesDrill(dir, sample(100)), ""); err != nil {
		t.Fatal(err)
	}
	repoDir := f.job.Repos["onsite"].Destination.Path
	damaged := 0
	filepath.WalkDir(repoDir, func(p string, e fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(repoDir, p) // 'p' blobs hold file contents
		if err == nil && e.Type().IsRegular() && strings.HasPrefix(rel, "p") {
			damage(t, p)
			damaged++
		}
		return nil
	})
	if damaged == 0 {
		t.Fatal("no pack objects found in the repository")
	}
	run, err := f.runner.Run(t.Context(), filesDrill(dir, sample(100)), "")
	wantFailure(t, err, "restore", "")
	if run == nil || run.Status != upkeep.DrillFailed || run.Reason == "" {
		t.Errorf("run = %+v", run)
	}
	t.Logf("reason: %s", run.Reason)
}

// damage flips every bit of the first half of a file: a repository object that rotted. (One
// flipped byte may land in a pack's padding, which nothing reads.)
func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) / 2 {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A destination whose repository is gone fails the drill at fetch, and nothing is created there.
func TestFilesDrillDestinationGone(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	repoDir := f.job.Repos["onsite"].Destination.Path
	if err := os.RemoveAll(repoDir); err != nil {
		t.Fatal(err)
	}
	_, err := f.runner.Run(t.Context(), filesDrill(filepath.Join(t.TempDir(), "target")), "")
	wantFailure(t, err, "fetch", `backup destination "onsite": repository not found at `+repoDir+` (was it deleted? the directory does not exist)`)
	if _, err := os.Stat(repoDir); !os.IsNotExist(err) {
		t.Errorf("the drill created something at the destination: %v", err)
	}
	// A directory that holds something else than the repository.
	writeFile(t, filepath.Join(repoDir, "README"), "moved elsewhere")
	_, err = f.runner.Run(t.Context(), filesDrill(filepath.Join(t.TempDir(), "target")), "")
	wantFailure(t, err, "fetch", `backup destination "onsite": repository not found at `+repoDir+` (was it deleted?)`)
	if entries, _ := os.ReadDir(repoDir); len(entries) != 1 {
		t.Errorf("the drill wrote to the destination: %v", entries)
	}
}

// RTO and RPO beyond max_rto and max_rpo fail the drill; the measurements are recorded.
func TestFilesDrillObjectives(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	dir := filepath.Join(t.TempDir(), "target")

	t.Run("rto", func(t *testing.T) {
		f.clock.step = time.Minute // every reading of the clock is a minute later
		defer func() { f.clock.step = 0 }()
		d := filesDrill(dir, sample(100))
		d.MaxRTO = policy.Duration{Duration: 2 * time.Minute}
		run, err := f.runner.Run(t.Context(), d, "")
		wantFailure(t, err, "rto", "more than max_rto 2m")
		if run.RTO <= 2*time.Minute {
			t.Errorf("rto %s", run.RTO)
		}
	})
	t.Run("rpo", func(t *testing.T) {
		f.clock.offset = 3 * time.Hour // the backups stopped three hours ago
		d := filesDrill(dir, sample(100))
		d.MaxRPO = policy.Duration{Duration: time.Hour}
		run, err := f.runner.Run(t.Context(), d, "")
		wantFailure(t, err, "rpo", "old (from ")
		if run.RPO < 3*time.Hour {
			t.Errorf("rpo %s", run.RPO)
		}
		stored, _ := f.store.DrillRun(t.Context(), run.ID)
		if stored.Status != upkeep.DrillFailed || stored.RPO != run.RPO.Truncate(time.Millisecond) || !strings.HasPrefix(stored.Reason, "rpo: the restored data is 3h") {
			t.Errorf("stored %+v", stored)
		}
	})
}

// snapshot: -1h restores the newest snapshot at least an hour old, and fails clearly when
// there is none.
func TestFilesDrillPointInTime(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	d := filesDrill(filepath.Join(t.TempDir(), "target"))
	d.Snapshot = policy.DrillSnapshot{Before: time.Hour}
	_, err := f.runner.Run(t.Context(), d, "")
	wantFailure(t, err, "fetch", "no snapshot to restore: none of backup files-job's 1 snapshots was taken before")
	f.clock.offset = 2 * time.Hour
	if _, err := f.runner.Run(t.Context(), d, ""); err != nil {
		t.Errorf("two hours later: %v", err)
	}
}

// Without a destination in the policy, successive drills restore from each destination in turn.
func TestFilesDrillEachDestinationInTurn(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles, "onsite", "offsite")
	f.backupFiles(sourceTree(t))
	d := filesDrill(filepath.Join(t.TempDir(), "target"), sample(100))
	var got []string
	for range 3 {
		run, err := f.runner.Run(t.Context(), d, "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, run.Destination)
	}
	if strings.Join(got, ",") != "onsite,offsite,onsite" {
		t.Errorf("destinations %v", got)
	}
}

// A directory not marked wipe: true is never wiped, even by a drill built without the policy.
func TestFilesDrillRefusesUnmarkedTarget(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	dir := filepath.Join(t.TempDir(), "precious")
	writeFile(t, filepath.Join(dir, "keep.txt"), "do not delete")
	d := filesDrill(dir)
	d.Into.Path.Wipe = false
	_, err := f.runner.Run(t.Context(), d, "")
	wantFailure(t, err, "restore", "is not marked wipe: true")
	if _, err := os.Stat(filepath.Join(dir, "keep.txt")); err != nil {
		t.Errorf("the unmarked directory was touched: %v", err)
	}
}

// A command target gets the restored files in UPKEEP_RESTORED_PATH; a failing command fails the
// restore with its output.
func TestCommandTargetDrill(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	copied := filepath.Join(t.TempDir(), "copied.txt")
	d := &policy.Drill{
		Name: "cmd-drill", Backup: "files-job",
		Into:   policy.DrillTarget{Command: &policy.CommandTarget{Run: `cp "$UPKEEP_RESTORED_PATH/sub/b.txt" ` + copied}},
		Verify: []policy.VerifyStep{sample(100), {Command: "test -s " + copied}},
	}
	if _, err := f.runner.Run(t.Context(), d, ""); err != nil {
		t.Fatalf("drill failed: %v", err)
	}
	d.Into.Command.Run = "echo no space left >&2; exit 3"
	_, err := f.runner.Run(t.Context(), d, "")
	wantFailure(t, err, "restore", "exit status 3: no space left")
}

// A drill still going at its timeout is cancelled and failed, saying so.
func TestDrillTimeout(t *testing.T) {
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.backupFiles(sourceTree(t))
	d := filesDrill(filepath.Join(t.TempDir(), "target"), policy.VerifyStep{Command: "exec sleep 60"})
	d.Timeout = policy.Duration{Duration: 2 * time.Second}
	run, err := f.runner.Run(t.Context(), d, "")
	// On a slow machine the timeout may strike before the verify step: any phase will do.
	var fl *Failure
	if !errors.As(err, &fl) || !strings.Contains(fl.Reason, "timed out after 2s") {
		t.Errorf("want a timeout, got %v", err)
	}
	if run.Status != upkeep.DrillFailed {
		t.Errorf("run %+v", run)
	}
}
