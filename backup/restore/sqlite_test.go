package restore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
	"github.com/upkeep-dev/upkeep/backup/restore"
	"github.com/upkeep-dev/upkeep/backup/source"
)

func sqliteOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", tool.SQLiteDSN(path, "_pragma=busy_timeout(60000)", "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSQLiteUnderConcurrentWrites backs up a database while writers keep committing transactions
// that each add one row to two tables: the restored copy passes integrity_check and holds both
// tables at the same count (one moment of the database, not a mix).
func TestSQLiteUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	db := sqliteOpen(t, path)
	if _, err := db.Exec("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var commits atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var writeErr error
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				err := func() error {
					tx, err := db.Begin()
					if err != nil {
						return err
					}
					defer tx.Rollback()
					for _, table := range []string{"a", "b"} {
						if _, err := tx.Exec("INSERT INTO " + table + " (v) VALUES (randomblob(2000))"); err != nil {
							return err
						}
					}
					return tx.Commit()
				}()
				if err != nil {
					mu.Lock()
					writeErr = err
					mu.Unlock()
					return
				}
				commits.Add(1)
			}
		})
	}
	for commits.Load() < 300 { // the copy starts while the writers are busy
		runtime.Gosched()
	}

	streams, err := source.SQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	b, names := take(t, streams)
	after := commits.Load()
	stop.Store(true)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("a writer failed during the backup: %v", writeErr)
	}
	if len(names) != 1 || names[0] != "app.db" {
		t.Fatalf("streams %v", names)
	}

	target := filepath.Join(dir, "restored", "app.db")
	if err := os.Mkdir(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := restore.SQLite(ctx, target, names, b.open, restore.Options{}); err != nil {
		t.Fatal(err)
	}
	r := sqliteOpen(t, target)
	var check string
	var na, nb int64
	if err := r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	if err := r.QueryRow("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").Scan(&na, &nb); err != nil {
		t.Fatal(err)
	}
	if na != nb || na < 300 {
		t.Fatalf("restored a=%d b=%d rows (writers had committed %d when the copy ended)", na, nb, after)
	}
	t.Logf("copied %d bytes holding %d transactions while writers committed (%d by the end of the copy)", len(b["app.db"]), na, after)
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left next to the target: %v", leftovers)
	}
}

func TestSQLiteRestoreRefusesAndForces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	db := sqliteOpen(t, src)
	if _, err := db.Exec("CREATE TABLE t (x); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	streams, err := source.SQLite(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	b, names := take(t, streams)

	target := filepath.Join(dir, "target.db")
	old := sqliteOpen(t, target)
	if _, err := old.Exec("CREATE TABLE old (y); INSERT INTO old VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if err := restore.SQLite(ctx, target, names, b.open, restore.Options{}); !errors.Is(err, restore.ErrNotEmpty) {
		t.Fatalf("restore over a database: %v, want ErrNotEmpty", err)
	}
	// A stale -wal of the old database must not be replayed into the restored one.
	if err := os.WriteFile(target+"-wal", []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	// And the temporary file of a restore that was killed goes too.
	leftover := filepath.Join(dir, ".target.db.restore-12345")
	if err := os.WriteFile(leftover, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := restore.SQLite(ctx, target, names, b.open, restore.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the leftover of a killed restore is still there: %v", err)
	}
	var x int
	if err := sqliteOpen(t, target).QueryRow("SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("restored x = %d, %v", x, err)
	}

	// Not a database: refused, and the target is left as it was.
	junk := backup{"target.db": []byte("definitely not sqlite")}
	err = restore.SQLite(ctx, target, []string{"target.db"}, junk.open, restore.Options{Force: true})
	if err == nil {
		t.Fatal("restored junk")
	}
	if err := sqliteOpen(t, target).QueryRow("SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after the refused restore x = %d, %v", x, err)
	}
	if _, err := source.SQLite(ctx, filepath.Join(dir, "missing.db")); err == nil {
		t.Error("backup of a missing database succeeded")
	}
}
