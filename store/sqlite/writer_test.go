package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentWritesAllCommitted(t *testing.T) {
	db := openTestDB(t)
	createItems(t, db)
	const producers, each = 64, 40
	var wg sync.WaitGroup
	errs := make(chan error, producers*each)
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if err := db.Write(t.Context(), insertItem(p*each+i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Write: %v", err)
	}
	got := items(t, db)
	if len(got) != producers*each {
		t.Errorf("%d rows, want %d", len(got), producers*each)
	}
	s := db.Stats()
	t.Logf("stats: %+v", s)
	if s.Writes != producers*each+1 || s.Failed != 0 {
		t.Errorf("stats %+v: want %d writes, 0 failed", s, producers*each+1)
	}
	if s.MaxBatchSize <= 1 || s.Batches >= s.Writes {
		t.Errorf("stats %+v: writes were not batched", s)
	}
}

func TestQueuedWritesShareOneBatch(t *testing.T) {
	db := openTestDB(t)
	createItems(t, db)
	release := holdWriter(t, db)
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := db.Write(t.Context(), insertItem(i)); err != nil {
				t.Errorf("Write: %v", err)
			}
		})
	}
	waitQueued(t, db, n)
	batches := db.Stats().Batches
	release()
	wg.Wait()
	s := db.Stats()
	if s.Batches != batches+2 || s.LastBatchSize != n || s.MaxBatchSize != n {
		t.Errorf("stats %+v: want the %d queued writes committed in one batch after the holding one", s, n)
	}
	if len(items(t, db)) != n {
		t.Errorf("rows missing")
	}
}

func TestFailingWriteRollsBackOnlyItself(t *testing.T) {
	db := openTestDB(t)
	createItems(t, db)
	errOwn := errors.New("rejected by the write itself")
	fns := []func(*sql.Tx) error{
		insertItem(1),
		func(tx *sql.Tx) error { // changes something, then fails
			if err := insertItem(2)(tx); err != nil {
				return err
			}
			return errOwn
		},
		insertItem(3),
		func(tx *sql.Tx) error { // changes something, then panics
			if err := insertItem(4)(tx); err != nil {
				return err
			}
			panic("boom")
		},
		insertItem(5),
		func(tx *sql.Tx) error { // leaves rows open, then panics
			rows, err := tx.Query("SELECT n FROM items")
			if err != nil {
				return err
			}
			rows.Next()
			_, _ = tx.Exec("INSERT INTO items (n) VALUES (6)")
			var p *int
			return errors.New(string(rune(*p))) // nil dereference: a runtime error panic
		},
		insertItem(7),
		insertItem(1), // duplicate of the first: SQLite's own error
		insertItem(9),
	}
	errs := runInOneBatch(t, db, fns)

	for i, want := range []error{nil, errOwn, nil, nil, nil, nil, nil, nil, nil} {
		if want != nil && !errors.Is(errs[i], want) {
			t.Errorf("write %d: err = %v, want %v", i, errs[i], want)
		}
	}
	for _, i := range []int{0, 2, 4, 6, 8} {
		if errs[i] != nil {
			t.Errorf("write %d: err = %v, want nil", i, errs[i])
		}
	}
	for _, i := range []int{3, 5} {
		if errs[i] == nil || !strings.Contains(errs[i].Error(), "panicked") {
			t.Errorf("write %d (panics): err = %v, want a panic error", i, errs[i])
		}
	}
	var rte runtime.Error
	if !errors.As(errs[5], &rte) {
		t.Errorf("write 5: the runtime error is not wrapped: %v", errs[5])
	}
	if errs[7] == nil || !strings.Contains(errs[7].Error(), "UNIQUE") {
		t.Errorf("write 7 (duplicate): err = %v, want a UNIQUE constraint error", errs[7])
	}
	got := items(t, db)
	for n, want := range map[int]bool{1: true, 2: false, 3: true, 4: false, 5: true, 6: false, 7: true, 9: true} {
		if got[n] != want {
			t.Errorf("row %d present = %v, want %v", n, got[n], want)
		}
	}
	if s := db.Stats(); s.LastBatchSize != len(fns) {
		t.Errorf("stats %+v: the writes did not share one batch", s)
	}
	// The writer keeps working.
	if err := db.Write(t.Context(), insertItem(10)); err != nil {
		t.Errorf("Write after failures: %v", err)
	}
}

// A write function that ends the shared transaction must not take the others' changes with it,
// nor commit them early: it gets an error, and the writes before it run again.
func TestWriteThatEndsTheTransaction(t *testing.T) {
	for name, end := range map[string]func(*sql.Tx) error{
		"tx.Commit":        func(tx *sql.Tx) error { return tx.Commit() },
		"tx.Rollback":      func(tx *sql.Tx) error { return tx.Rollback() },
		"COMMIT statement": func(tx *sql.Tx) error { _, err := tx.Exec("COMMIT"); return err },
		"ROLLBACK statement": func(tx *sql.Tx) error {
			_, err := tx.Exec("ROLLBACK")
			return err
		},
		"RELEASE of the savepoint": func(tx *sql.Tx) error { _, err := tx.Exec("RELEASE " + savepoint); return err },
	} {
		t.Run(name, func(t *testing.T) {
			db := openTestDB(t)
			createItems(t, db)
			var calls [3]atomic.Int32
			counted := func(i int, fn func(*sql.Tx) error) func(*sql.Tx) error {
				return func(tx *sql.Tx) error { calls[i].Add(1); return fn(tx) }
			}
			errs := runInOneBatch(t, db, []func(*sql.Tx) error{
				counted(0, insertItem(1)),
				counted(1, func(tx *sql.Tx) error {
					if err := insertItem(2)(tx); err != nil {
						return err
					}
					_ = end(tx)
					return nil
				}),
				counted(2, insertItem(3)),
			})
			if errs[0] != nil || errs[2] != nil {
				t.Errorf("bystanders: errs %v, %v, want nil", errs[0], errs[2])
			}
			if errs[1] == nil {
				t.Errorf("the write that ended the transaction got no error")
			}
			got := items(t, db)
			if !got[1] || got[2] || !got[3] {
				t.Errorf("rows %v, want 1 and 3 only", got)
			}
			if calls[0].Load() != 2 || calls[1].Load() != 1 || calls[2].Load() != 1 {
				t.Errorf("calls %d %d %d, want 2 1 1 (the write before the culprit runs again)", calls[0].Load(), calls[1].Load(), calls[2].Load())
			}
			if s := db.Stats(); s.Retried != 1 {
				t.Errorf("stats %+v, want 1 retried", s)
			}
		})
	}
}

// An interrupted statement (its context cancelled mid-way) can make SQLite roll back the whole
// batch transaction: the other writes of the batch must still be committed, or told they were not.
func TestInterruptedStatementInBatch(t *testing.T) {
	db := openTestDB(t)
	createItems(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	go func() {
		<-started
		cancel()
	}()
	errs := runInOneBatch(t, db, []func(*sql.Tx) error{
		insertItem(1),
		func(tx *sql.Tx) error {
			close(started)
			// Long enough to be interrupted: a few million rows.
			_, err := tx.ExecContext(ctx, `INSERT INTO items (n)
				WITH RECURSIVE c(x) AS (SELECT 1000 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT x FROM c`)
			return err
		},
		insertItem(3),
	})
	if errs[1] == nil {
		t.Fatalf("the interrupted write succeeded; make it longer")
	}
	got := items(t, db)
	for _, i := range []int{0, 2} {
		n := i + 1
		if (errs[i] == nil) != got[n] {
			t.Errorf("write %d: err %v but row present = %v", i, errs[i], got[n])
		}
	}
	if len(got) > 2 {
		t.Errorf("%d rows: the interrupted write left rows behind", len(got))
	}
	t.Logf("interrupted: %v; stats %+v", errs[1], db.Stats())
}

func TestWriteContextDoneBeforeItRuns(t *testing.T) {
	db := openTestDB(t)
	createItems(t, db)
	release := holdWriter(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	var ran atomic.Bool
	result := make(chan error, 1)
	go func() {
		result <- db.Write(ctx, func(tx *sql.Tx) error { ran.Store(true); return insertItem(1)(tx) })
	}()
	waitQueued(t, db, 1)
	cancel()
	err := <-result
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write: err = %v, want context.Canceled", err)
	}
	release()
	if err := db.Write(t.Context(), insertItem(2)); err != nil {
		t.Fatal(err)
	}
	if ran.Load() || items(t, db)[1] {
		t.Error("the abandoned write ran")
	}
	if err := db.Write(ctx, insertItem(3)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a done context: err = %v", err)
	}
}

func TestWriterSurvivesGoexit(t *testing.T) {
	db := openTestDB(t)
	createItems(t, db)
	err := db.Write(t.Context(), func(tx *sql.Tx) error {
		if err := insertItem(1)(tx); err != nil {
			return err
		}
		runtime.Goexit()
		return nil
	})
	if err == nil {
		t.Error("Write that called Goexit: no error")
	}
	if err := db.Write(t.Context(), insertItem(2)); err != nil {
		t.Fatalf("Write after Goexit: %v", err)
	}
	if got := items(t, db); got[1] || !got[2] {
		t.Errorf("rows %v, want 2 only", got)
	}
}

func TestCloseFlushesQueuedWrites(t *testing.T) {
	dir := t.TempDir()
	db := openIn(t, dir, testLogger(t))
	createItems(t, db)
	release := holdWriter(t, db)
	const nSync, nAsync = 50, 50
	var wg sync.WaitGroup
	for i := range nSync {
		wg.Go(func() {
			if err := db.Write(t.Context(), insertItem(i)); err != nil {
				t.Errorf("Write: %v", err)
			}
		})
	}
	for i := range nAsync {
		db.WriteAsync(insertItem(nSync + i))
	}
	waitQueued(t, db, nSync+nAsync)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	// Close refuses new writes at once, before the queued ones are done.
	for !errors.Is(db.Ping(t.Context()), ErrClosed) {
		time.Sleep(time.Millisecond)
	}
	if err := db.Write(t.Context(), insertItem(-1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write during Close: err = %v, want ErrClosed", err)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	if err := db.Write(t.Context(), insertItem(-2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: err = %v, want ErrClosed", err)
	}
	db.WriteAsync(insertItem(-3)) // logged and dropped, no panic
	if err := db.Ping(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close: err = %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	db = openIn(t, dir, testLogger(t))
	defer db.Close()
	if got := items(t, db); len(got) != nSync+nAsync {
		t.Errorf("%d rows after reopening, want %d", len(got), nSync+nAsync)
	}
}

func TestWriteNilFunction(t *testing.T) {
	db := openTestDB(t)
	if err := db.Write(t.Context(), nil); err == nil {
		t.Error("Write(nil): no error")
	}
	db.WriteAsync(nil) // logged, no panic
}

// runInOneBatch runs fns as concurrent writes queued behind a held writer, so that they form one
// batch in this order, and returns their results.
func runInOneBatch(t *testing.T, db *DB, fns []func(*sql.Tx) error) []error {
	t.Helper()
	release := holdWriter(t, db)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = db.Write(context.Background(), fn) })
		waitQueued(t, db, i+1) // keeps the order
	}
	release()
	wg.Wait()
	return errs
}
