package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func TestOpenCreatesSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "upkeep-data")
	db, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()

	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := db.SchemaVersion(), len(migs); got != want {
		t.Errorf("SchemaVersion = %d, want %d", got, want)
	}
	if got, want := db.Path(), filepath.Join(dir, "upkeep.db"); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
	if _, err := os.Stat(db.Path()); err != nil {
		t.Errorf("database file: %v", err)
	}
	if len(db.InstanceID()) != 32 {
		t.Errorf("InstanceID = %q, want 32 hex digits", db.InstanceID())
	}
	for _, table := range []string{"meta", "tokens", "audit"} {
		var n int
		err := db.Reader().QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("table %s: count %d, err %v", table, n, err)
		}
	}
	var mode string
	if err := db.Reader().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	id, version := db.InstanceID(), db.SchemaVersion()
	if _, err := db.AppendAudit(t.Context(), auditEntry("GET", "/api/v1/tokens")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(db.Path() + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WAL file left after Close (stat: %v)", err)
	}

	for range 2 {
		db, err = Open(t.Context(), dir, testLogger(t))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if db.InstanceID() != id || db.SchemaVersion() != version {
			t.Errorf("reopened: instance %q version %d, want %q %d", db.InstanceID(), db.SchemaVersion(), id, version)
		}
		entries, err := db.Audit(t.Context(), 0, 10)
		if err != nil || len(entries) != 1 {
			t.Errorf("audit after reopen: %d entries, err %v", len(entries), err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "upkeep-data")
	db, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	known := db.SchemaVersion()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// What a newer Upkeep would leave behind.
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(t.Context(), dir, testLogger(t))
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("Open of a newer schema: err = %v, want *SchemaTooNewError", err)
	}
	if tooNew.Version != 99 || tooNew.Known != known {
		t.Errorf("SchemaTooNewError = %+v", tooNew)
	}
	want := "store " + filepath.Join(dir, "upkeep.db") + " has schema version 99 but this Upkeep knows only up to " +
		strconv.Itoa(known) + ": it was written by a newer Upkeep; run that version or restore a backup of the data directory"
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	after, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("refused Open changed the database file")
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "upkeep.db"), bytes.Repeat([]byte("not sqlite "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), dir, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "upkeep.db")) {
		t.Fatalf("Open of a non-database: err = %v, want an error naming the file", err)
	}
}

func TestDataDirectoryPermissions(t *testing.T) {
	t.Run("created 0700", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "upkeep-data")
		db := openIn(t, dir, testLogger(t))
		defer db.Close()
		for _, d := range []string{dir, filepath.Dir(dir)} {
			info, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o700 {
				t.Errorf("%s: mode %#o, want 0700", d, perm)
			}
		}
	})
	t.Run("existing open directory kept, with a warning", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		db := openIn(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))
		defer db.Close()
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o755 {
			t.Errorf("mode changed to %#o", perm)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "chmod 700") {
			t.Errorf("no warning about the directory's permissions in:\n%s", logs.String())
		}
	})
	t.Run("path is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(t.Context(), file, testLogger(t)); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("Open on a file: err = %v", err)
		}
	})
}

func TestOpenPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my data?#%20&x=1")
	db := openIn(t, dir, testLogger(t))
	if _, err := db.AppendAudit(t.Context(), auditEntry("GET", "/")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "upkeep.db" {
		t.Errorf("directory holds %v, want only upkeep.db", entries)
	}
}

func TestEmbeddedMigrationsAreNumbered(t *testing.T) {
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migs {
		if m.version != i+1 {
			t.Errorf("migration %s has version %d, want %d", m.name, m.version, i+1)
		}
	}
}

func TestLoadMigrationsRejectsBadNumbering(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("CREATE TABLE x (a INTEGER);")}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"migrations/0001_a.sql": file, "migrations/0003_c.sql": file},
		"duplicate": {"migrations/0001_a.sql": file, "migrations/0001_b.sql": file},
		"no zero":   {"migrations/0000_a.sql": file},
		"bad name":  {"migrations/1_a.sql": file},
		"empty":     {},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

func TestMigrationsApplyInOrder(t *testing.T) {
	// A later migration may rebuild a table that others refer to: foreign keys are checked at the
	// end of each migration, not statement by statement.
	migs := []migration{
		{1, "0001_a.sql", "CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id)); INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);"},
		{2, "0002_b.sql", "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO parent_new SELECT id, 'x' FROM parent; DROP TABLE parent; ALTER TABLE parent_new RENAME TO parent;"},
		{3, "0003_c.sql", "INSERT INTO child VALUES (2, 99);"}, // breaks a foreign key: refused
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
	logger := testLogger(t)

	v, err := applyMigrations(t.Context(), conn, "m.db", migs[:2], logger)
	if err != nil || v != 2 {
		t.Fatalf("apply 1-2: version %d, err %v", v, err)
	}
	v, err = applyMigrations(t.Context(), conn, "m.db", migs, logger)
	if err == nil || !strings.Contains(err.Error(), "0003_c.sql") {
		t.Fatalf("apply 3: version %d, err %v; want an error naming 0003_c.sql", v, err)
	}
	if v, _ := userVersion(t.Context(), conn); v != 2 {
		t.Errorf("after failed migration: version %d, want 2", v)
	}
	var fk int
	if err := conn.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d (%v) after migrations, want 1", fk, err)
	}
	_, err = applyMigrations(t.Context(), conn, "m.db", migs[:1], logger)
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Errorf("older binary: err = %v, want *SchemaTooNewError", err)
	}
}

func openIn(t *testing.T, dir string, logger *slog.Logger) *DB {
	t.Helper()
	db, err := Open(t.Context(), dir, logger)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
