package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"modernc.org/sqlite"
)

const (
	// maxBatch bounds one transaction, so a flood of writes still commits (and answers) in steps.
	maxBatch = 512
	// queueCapacity is how many writes may wait for the writer; beyond it Write and WriteAsync
	// wait for room (back pressure instead of unbounded memory).
	queueCapacity = 8 * maxBatch
	// maxAttempts bounds how often a write is run again because another write in its batch broke
	// the transaction.
	maxAttempts = 3
	// savepoint wraps each write function inside the batch transaction.
	savepoint = "upkeep_write"
)

// States of a request, changed with compare-and-swap: the writer takes a queued request, or its
// caller abandons it (context done) first; whichever comes second sees the other's mark.
const (
	queued int32 = iota
	taken
	abandoned
)

type request struct {
	ctx   context.Context // the caller's; context.Background() for WriteAsync
	fn    func(*sql.Tx) error
	done  chan error // capacity 1; nil for WriteAsync, whose errors are logged
	state atomic.Int32

	// Used by the writer goroutine only.
	attempts int  // times its batch was rolled back because of another write
	answered bool // the caller has its result
}

// writer is the state of the writer goroutine. Only that goroutine touches it, except conn during
// Open and Close (before the goroutine starts and after it has stopped).
type writer struct {
	conn *sql.Conn // the writer pool's only connection, kept for the life of the DB
	// committing is true while the writer commits a batch. The commit hook on conn vetoes every
	// other commit, so a write function cannot commit the shared transaction behind the writer's
	// back (tx.Commit or a COMMIT statement): SQLite turns such a commit into a rollback. Thanks to
	// that, a batch whose transaction broke is known to have been rolled back as a whole.
	committing atomic.Bool
	carry      []*request // to run first in the next batch
	batch      []*request // the batch being run, to answer if the goroutine dies
	tx         *sql.Tx    // its transaction
}

// WriterStats describes the work of the writer goroutine since Open.
type WriterStats struct {
	Batches       uint64 // transactions committed
	Writes        uint64 // write functions whose changes were committed
	Failed        uint64 // write functions answered with an error (their own, a panic, a done context, a failed commit)
	Retried       uint64 // write functions run again because another write broke their batch's transaction
	LastBatchSize int    // requests in the most recently committed batch
	MaxBatchSize  int    // requests in the largest committed batch
	QueueDepth    int    // requests waiting for the writer now
}

type writerCounters struct {
	batches, writes, failed, retried atomic.Uint64
	lastBatch, maxBatch              atomic.Int64
}

// Stats returns the writer's counters (for metrics and tests).
func (db *DB) Stats() WriterStats {
	return WriterStats{
		Batches:       db.stats.batches.Load(),
		Writes:        db.stats.writes.Load(),
		Failed:        db.stats.failed.Load(),
		Retried:       db.stats.retried.Load(),
		LastBatchSize: int(db.stats.lastBatch.Load()),
		MaxBatchSize:  int(db.stats.maxBatch.Load()),
		QueueDepth:    len(db.queue),
	}
}

// Write queues fn for the writer goroutine and returns after the batch containing it committed:
// nil then means fn's changes are durable. Writes from many goroutines are batched into one
// transaction; fn runs inside its own SAVEPOINT, so when fn returns an error (or panics) only its
// own changes are rolled back, and Write returns that error unchanged (a panic becomes an error).
//
// ctx bounds the wait: if it is done before the writer takes fn, fn never runs and Write returns
// an error wrapping ctx.Err(). Once fn has been taken, Write waits for the outcome of its batch
// even if ctx is done meanwhile, so that its result always tells whether fn's changes were kept.
// After Close, Write returns an error wrapping ErrClosed.
//
// Rules for fn, which runs on the writer goroutine inside a transaction shared with other writes:
//   - Use only tx, and keep it short: the whole batch waits for fn.
//   - Do not commit or roll back tx, and do not call Write, WriteAsync or Close (that would
//     deadlock). A commit attempted by fn is turned into a rollback by the store.
//   - fn may be called more than once: if another write in the same batch breaks the transaction
//     (for example a statement interrupted because its context was cancelled, which makes SQLite
//     roll back the whole transaction), the batch is rolled back and the other writes run again
//     in the next one. Only the changes of the call whose batch committed are kept, so fn should
//     have no effects outside tx except setting variables it owns (such as an inserted row's id).
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if fn == nil {
		return fmt.Errorf("write to store %s: nil write function", db.path)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write to store %s not run: %w", db.path, err)
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := db.enqueue(ctx, r); err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("write to store %s not run: %w", db.path, ctx.Err())
		}
		return <-r.done // taken: its batch decides, and will say
	}
}

// WriteAsync queues fn without waiting for it; an error is logged. It is meant for best-effort
// bookkeeping (a token's last use). fn follows the rules of Write. WriteAsync waits only when the
// queue is full; after Close, fn is dropped and that is logged.
func (db *DB) WriteAsync(fn func(tx *sql.Tx) error) {
	if fn == nil {
		db.logger.Error("store background write dropped: nil write function", "path", db.path)
		return
	}
	r := &request{ctx: context.Background(), fn: fn}
	if err := db.enqueue(r.ctx, r); err != nil {
		db.logger.Warn("store background write dropped", "path", db.path, "err", err)
	}
}

// enqueue hands r to the writer goroutine, waiting for room in the queue if needed.
func (db *DB) enqueue(ctx context.Context, r *request) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return fmt.Errorf("write to store %s: %w", db.path, ErrClosed)
	}
	select {
	case db.queue <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("write to store %s not queued: %w", db.path, ctx.Err())
	}
}

// runWriter is the writer goroutine: it runs batches until Close has closed the queue and
// everything queued has been answered.
func (db *DB) runWriter() {
	finished := false
	defer func() {
		if finished {
			close(db.writerDone)
			return
		}
		// Panics inside write functions are recovered where they run, so only a write function
		// calling runtime.Goexit (t.FailNow in a test) or a bug here ends up in this place. The
		// writer must outlive both: answer the batch it was running and start again.
		cause := "runtime.Goexit in a write function"
		if p := recover(); p != nil {
			cause = fmt.Sprintf("panic: %v", p)
		}
		db.logger.Error("store writer stopped unexpectedly; restarting it", "path", db.path, "cause", cause, "stack", string(debug.Stack()))
		db.abortBatch(fmt.Errorf("store %s: the writer stopped while running this batch (%s)", db.path, cause))
		go db.runWriter()
	}()
	for {
		batch, ok := db.nextBatch()
		if !ok {
			break
		}
		db.runBatch(batch)
	}
	finished = true
}

// nextBatch returns the writes carried over from the last batch followed by everything queued,
// up to maxBatch, waiting for the first one if there is nothing. It reports false once the queue
// is closed and drained. Writes abandoned by their callers are dropped here, never run.
func (db *DB) nextBatch() ([]*request, bool) {
	batch := db.w.carry
	db.w.carry = nil
	open := true
	for len(batch) == 0 && open {
		var r *request
		if r, open = <-db.queue; open && r.state.CompareAndSwap(queued, taken) {
			batch = append(batch, r)
		}
	}
	for open && len(batch) < maxBatch {
		select {
		case r, ok := <-db.queue:
			if !ok {
				open = false
			} else if r.state.CompareAndSwap(queued, taken) {
				batch = append(batch, r)
			}
		default:
			return batch, true
		}
	}
	return batch, len(batch) > 0
}

// runBatch runs batch in one transaction and answers each request, or carries requests over to
// the next batch when another write broke the transaction.
func (db *DB) runBatch(batch []*request) {
	w := &db.w
	w.batch = batch
	tx, err := db.begin()
	if err != nil {
		err = fmt.Errorf("store %s: begin write transaction: %w", db.path, err)
		db.logger.Error("store write batch failed", "err", err, "size", len(batch))
		db.answerAll(batch, nil, err)
		return
	}
	w.tx = tx
	results := make([]error, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			// Its caller gave up before it ran: do not run it.
			results[i] = fmt.Errorf("write to store %s not run: %w", db.path, err)
			continue
		}
		fnErr, txErr := db.apply(tx, r)
		if txErr != nil {
			db.breakBatch(batch, results, i, fnErr, txErr)
			return
		}
		results[i] = fnErr
	}
	w.committing.Store(true)
	err = tx.Commit()
	w.committing.Store(false)
	w.tx = nil
	if err != nil {
		err = fmt.Errorf("store %s: commit batch of %d writes: %w", db.path, len(batch), err)
		db.logger.Error("store write batch failed", "err", err)
		db.answerAll(batch, results, err)
		return
	}
	db.stats.batches.Add(1)
	db.stats.lastBatch.Store(int64(len(batch)))
	if int64(len(batch)) > db.stats.maxBatch.Load() {
		db.stats.maxBatch.Store(int64(len(batch)))
	}
	db.answerAll(batch, results, nil)
}

// apply runs r.fn inside a savepoint of tx. fnErr is fn's own result; txErr means the
// transaction itself is no longer usable, so the batch is lost.
func (db *DB) apply(tx *sql.Tx, r *request) (fnErr, txErr error) {
	// tx.Exec, not ExecContext with the caller's ctx: the writer's own statements must never
	// be interrupted, since an interrupted statement can roll back the whole batch.
	if _, err := tx.Exec("SAVEPOINT " + savepoint); err != nil {
		return nil, fmt.Errorf("store %s: open savepoint: %w", db.path, err)
	}
	fnErr = db.call(r.fn, tx)
	if fnErr == nil {
		if _, err := tx.Exec("RELEASE " + savepoint); err != nil {
			return nil, fmt.Errorf("store %s: the write function left the batch transaction unusable "+
				"(it must not commit or roll back the transaction itself): %w", db.path, err)
		}
		return nil, nil
	}
	if _, err := tx.Exec("ROLLBACK TO " + savepoint); err != nil {
		return fnErr, fmt.Errorf("store %s: roll back failed write: %w", db.path, err)
	}
	if _, err := tx.Exec("RELEASE " + savepoint); err != nil {
		return fnErr, fmt.Errorf("store %s: roll back failed write: %w", db.path, err)
	}
	return fnErr, nil
}

// call runs fn, turning a panic into an error.
func (db *DB) call(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			db.logger.Error("store write function panicked", "path", db.path, "panic", p, "stack", string(debug.Stack()))
			if perr, ok := p.(error); ok {
				err = fmt.Errorf("store %s: write function panicked: %w", db.path, perr)
			} else {
				err = fmt.Errorf("store %s: write function panicked: %v", db.path, p)
			}
		}
	}()
	return fn(tx)
}

// breakBatch handles a batch whose transaction broke while running batch[i]. The transaction has
// been rolled back as a whole (the commit guard rules out any other outcome), so: batch[i] gets
// its error; writes before it that succeeded run again in the next batch; writes before it that
// failed keep their own error (they changed nothing either way); writes after it never ran and
// simply move to the next batch.
func (db *DB) breakBatch(batch []*request, results []error, i int, fnErr, txErr error) {
	w := &db.w
	_ = w.tx.Rollback() // usually already rolled back; this covers the rest
	w.tx = nil
	db.logger.Warn("store write broke its batch transaction; the other writes of the batch run again", "path", db.path, "err", txErr, "size", len(batch))
	if fnErr != nil {
		db.answer(batch[i], fnErr)
	} else {
		db.answer(batch[i], txErr)
	}
	for j, r := range batch[:i] {
		if results[j] != nil {
			db.answer(r, results[j])
			continue
		}
		r.attempts++
		if r.attempts >= maxAttempts {
			db.answer(r, fmt.Errorf("store %s: write not applied: its batch was rolled back %d times by other writes (last: %w)", db.path, r.attempts, txErr))
			continue
		}
		db.stats.retried.Add(1)
		w.carry = append(w.carry, r)
	}
	w.carry = append(w.carry, batch[i+1:]...)
	w.batch = nil
}

// abortBatch answers every write of the current batch that has no answer yet with err, after the
// writer goroutine died while running it.
func (db *DB) abortBatch(err error) {
	w := &db.w
	w.committing.Store(false)
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
	db.answerAll(w.batch, nil, err)
}

// answerAll answers batch: request i gets results[i] if that is an error, else err.
func (db *DB) answerAll(batch []*request, results []error, err error) {
	for i, r := range batch {
		if results != nil && results[i] != nil {
			db.answer(r, results[i])
		} else {
			db.answer(r, err)
		}
	}
	db.w.batch = nil
}

// answer gives r its result, once.
func (db *DB) answer(r *request, err error) {
	if r.answered {
		return
	}
	r.answered = true
	if err != nil {
		db.stats.failed.Add(1)
	} else {
		db.stats.writes.Add(1)
	}
	if r.done != nil {
		r.done <- err
		return
	}
	if err != nil {
		db.logger.Warn("store background write failed", "path", db.path, "err", err)
	}
}

// begin starts the batch transaction (BEGIN IMMEDIATE, from the DSN's _txlock), reconnecting once
// if the writer connection was lost.
func (db *DB) begin() (*sql.Tx, error) {
	ctx := context.Background()
	w := &db.w
	if w.conn != nil {
		tx, err := w.conn.BeginTx(ctx, nil)
		if err == nil || !(errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)) {
			return tx, err
		}
		db.logger.Warn("store writer connection lost; reconnecting", "path", db.path, "err", err)
		_ = w.conn.Close()
		w.conn = nil
	}
	conn, err := db.writeDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w.conn = conn
	if err := w.installCommitGuard(); err != nil {
		_ = conn.Close()
		w.conn = nil
		return nil, err
	}
	return conn.BeginTx(ctx, nil)
}

// installCommitGuard registers the commit hook described at writer.committing.
func (w *writer) installCommitGuard() error {
	return w.conn.Raw(func(dc any) error {
		hr, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return fmt.Errorf("install commit guard: driver connection %T has no commit hook", dc)
		}
		hr.RegisterCommitHook(func() int32 {
			if w.committing.Load() {
				return 0
			}
			return 1 // non-zero turns the COMMIT into a ROLLBACK
		})
		return nil
	})
}
