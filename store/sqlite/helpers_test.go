package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// testLogger writes the store's log records to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openTestDB opens a store in a fresh directory and closes it when the test ends.
func openTestDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "data"), testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// createItems creates a scratch table for writer tests.
func createItems(t testing.TB, db *DB) {
	t.Helper()
	err := db.Write(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE items (n INTEGER PRIMARY KEY, note TEXT NOT NULL DEFAULT '')")
		return err
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
}

// insertItem returns a write function inserting item n.
func insertItem(n int) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO items (n) VALUES (?)", n)
		return err
	}
}

// items returns the numbers in the items table.
func items(t testing.TB, db *DB) map[int]bool {
	t.Helper()
	rows, err := db.Reader().QueryContext(t.Context(), "SELECT n FROM items")
	if err != nil {
		t.Fatalf("read items: %v", err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[n] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// holdWriter occupies the writer goroutine with a write that waits until release is called, so
// that the writes queued meanwhile form the next batch together. release waits for the holding
// write to commit.
func holdWriter(t testing.TB, db *DB) (release func()) {
	t.Helper()
	running := make(chan struct{})
	unblock := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- db.Write(context.Background(), func(*sql.Tx) error {
			close(running)
			<-unblock
			return nil
		})
	}()
	<-running
	return func() {
		close(unblock)
		if err := <-result; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitQueued waits until n writes wait in the queue.
func waitQueued(t testing.TB, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for db.Stats().QueueDepth < n {
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d, waited for %d", db.Stats().QueueDepth, n)
		}
		time.Sleep(time.Millisecond)
	}
}
