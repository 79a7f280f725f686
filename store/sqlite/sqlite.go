// Package sqlite is Upkeep's embedded store: one SQLite file, dir/upkeep.db, read and written
// through modernc.org/sqlite (pure Go, so the binary stays static).
//
// # Connections
//
// A DB holds two database/sql pools on the same file. The writer pool has exactly one connection
// and only the writer goroutine uses it: every change goes through [DB.Write] (or
// [DB.WriteAsync]), which queues a function for that goroutine. The writer takes everything queued
// (up to maxBatch requests), runs each function inside its own SAVEPOINT of one BEGIN IMMEDIATE
// transaction, commits once, and then answers every caller. Many producers therefore never contend
// for SQLite's write lock, and one fsync covers a whole batch: the writer runs with
// synchronous=FULL, so a write that has returned survives kill -9 and power loss, and batching is
// what keeps that affordable (docs/benchmarks.md, "Store"). The reader pool has several
// query_only connections; WAL mode lets them read beside the writer.
//
// # Conventions
//
// Times are stored as INTEGER Unix milliseconds in UTC, and read back as UTC [time.Time] values;
// a zero time.Time is stored as NULL ("never", "not yet"). Sub-millisecond precision is dropped.
// Tables are STRICT, so a value of the wrong type is an error rather than silently kept.
//
// # Schema versions
//
// The schema is a list of embedded files, migrations/NNNN_name.sql, numbered from 0001 without
// gaps; adding a migration means adding the next file. Open applies the missing ones in order,
// one transaction each. The version lives in PRAGMA user_version rather than in a table: it sits
// in the database header, changes in the same transaction as the migration that sets it, costs
// no schema of its own, and `sqlite3 upkeep.db 'pragma user_version'` shows it. A database whose
// version is newer than this binary knows is refused (see [SchemaTooNewError]): an older Upkeep
// must not write into a schema it does not understand.
//
// # Why written here rather than taken from a library
//
// The migration runner is about a hundred lines; goose or golang-migrate would add a dependency,
// keep their own version table, and still not refuse a newer schema the way Upkeep must. No
// library offers the batching single writer over database/sql, and it is the point of the design.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the name of the database file inside the data directory.
const FileName = "upkeep.db"

// ErrClosed is returned by writes and pings after Close.
var ErrClosed = errors.New("store is closed")

// SchemaTooNewError is returned by Open for a database written by a newer Upkeep.
type SchemaTooNewError struct {
	Path    string // the database file
	Version int    // the schema version found in the file
	Known   int    // the newest schema version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("store %s has schema version %d but this Upkeep knows only up to %d: "+
		"it was written by a newer Upkeep; run that version or restore a backup of the data directory",
		e.Path, e.Version, e.Known)
}

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	path       string // dir/upkeep.db as given to Open, for messages
	logger     *slog.Logger
	version    int
	instanceID string
	now        func() time.Time // time source for times the store fills in itself

	writeDB *sql.DB // one connection, owned by the writer goroutine
	readDB  *sql.DB

	// mu orders enqueues against Close: a request is sent on queue only under mu.RLock with
	// closed false, so once Close holds mu.Lock and sets closed, queue may be closed safely.
	mu         sync.RWMutex
	closed     bool
	queue      chan *request
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error

	w     writer // state of the writer goroutine
	stats writerCounters
}

// Open opens (creating if needed) the store in dir. The directory is created with 0700
// permissions; an existing directory that group or others may read is used as it is, with a
// warning, since its permissions are the user's choice. The database file is dir/upkeep.db. Open
// applies the embedded migrations and refuses a database whose schema is newer than this binary
// knows, with a *SchemaTooNewError. A nil logger discards log records. ctx bounds the opening and
// migrating only; the returned DB lives until Close.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, errors.New("open store: no data directory given")
	}
	if err := prepareDir(dir, logger); err != nil {
		return nil, err
	}
	db := &DB{
		path:       filepath.Join(dir, FileName),
		logger:     logger,
		now:        time.Now,
		queue:      make(chan *request, queueCapacity),
		writerDone: make(chan struct{}),
	}
	if err := db.open(ctx); err != nil {
		db.closeConnections()
		return nil, err
	}
	go db.runWriter()
	logger.Info("store opened", "path", db.path, "schema_version", db.version, "instance_id", db.instanceID)
	return db, nil
}

// open connects both pools, migrates and prepares the writer connection.
func (db *DB) open(ctx context.Context) error {
	abs, err := filepath.Abs(db.path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	// The writer comes first: it creates the file and switches it to WAL, which is persistent,
	// so the readers need not (and as query_only connections could not) do it.
	db.writeDB, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	))
	if err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	db.writeDB.SetMaxOpenConns(1)
	db.writeDB.SetMaxIdleConns(1)
	db.writeDB.SetConnMaxLifetime(0)
	db.writeDB.SetConnMaxIdleTime(0)

	conn, err := db.writeDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	db.w.conn = conn
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open store %s: read journal mode: %w", db.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		// Some file systems (network mounts) cannot do WAL; SQLite then keeps the old mode.
		// Everything still works, but readers wait for the writer.
		db.logger.Warn("store is not in WAL mode; reads will wait for writes", "path", db.path, "journal_mode", mode)
	}
	if db.version, err = migrate(ctx, conn, db.path, db.logger); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'instance_id'").Scan(&db.instanceID); err != nil {
		return fmt.Errorf("open store %s: read instance id: %w", db.path, err)
	}
	if err := db.w.installCommitGuard(); err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}

	db.readDB, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout(10000)",
		"_pragma=foreign_keys(1)",
		"_pragma=query_only(1)",
	))
	if err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	db.readDB.SetMaxOpenConns(readers)
	db.readDB.SetMaxIdleConns(readers)
	db.readDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.readDB.PingContext(ctx); err != nil {
		return fmt.Errorf("open store %s: connect reader: %w", db.path, err)
	}
	return nil
}

// dsn builds a modernc.org/sqlite data source name: a file: URI (so any character in the path is
// escaped rather than read as the start of the query) followed by the driver's parameters.
func dsn(absPath string, params ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(absPath)}
	return u.String() + "?" + strings.Join(params, "&")
}

// prepareDir creates dir with 0700 permissions, or checks the one that exists.
func prepareDir(dir string, logger *slog.Logger) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("open data directory %s: %w", dir, err)
	case !info.IsDir():
		return fmt.Errorf("open data directory %s: not a directory", dir)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		logger.Warn("data directory is accessible to other users; the store holds token hashes and the audit log, consider chmod 700",
			"dir", dir, "mode", fmt.Sprintf("%#o", perm))
	}
	return nil
}

// Path returns the database file, dir/upkeep.db.
func (db *DB) Path() string { return db.path }

// SchemaVersion returns the schema version of the open database.
func (db *DB) SchemaVersion() int { return db.version }

// InstanceID returns the random identifier generated when the store was created. It survives
// restarts and is copied by backups, so it names this Upkeep installation.
func (db *DB) InstanceID() string { return db.instanceID }

// Reader returns the pool for reads. Its connections are query_only: every change goes through
// Write. Do not close it.
func (db *DB) Reader() *sql.DB { return db.readDB }

// Ping reports whether the store is open and answers a query, for readiness checks.
func (db *DB) Ping(ctx context.Context) error {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return fmt.Errorf("ping store %s: %w", db.path, ErrClosed)
	}
	var one int
	if err := db.readDB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store %s: %w", db.path, err)
	}
	return nil
}

// Close stops accepting writes, commits everything already queued, checkpoints the WAL into the
// database file and closes both pools. Writes that arrive after Close starts get ErrClosed.
// Calling Close again returns the first call's result. Close must not be called from inside a
// write function.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		close(db.queue)
		db.mu.Unlock()
		<-db.writerDone

		var errs []error
		if err := db.readDB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store readers: %w", err))
		}
		if err := db.checkpoint(); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, db.closeConnections())
		db.closeErr = errors.Join(errs...)
		db.logger.Info("store closed", "path", db.path, "batches", db.stats.batches.Load(), "writes", db.stats.writes.Load())
	})
	return db.closeErr
}

// checkpoint copies the WAL into the database file and truncates it, so the data directory is
// one self-contained file at rest (for copies and backups taken while Upkeep is stopped).
func (db *DB) checkpoint() error {
	if db.w.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, walPages, moved int
	err := db.w.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &walPages, &moved)
	if err != nil {
		return fmt.Errorf("checkpoint store %s: %w", db.path, err)
	}
	if busy != 0 {
		// Another process is reading; its last connection will finish the job.
		db.logger.Warn("store checkpoint incomplete: the database is in use elsewhere", "path", db.path, "wal_pages", walPages, "checkpointed", moved)
	}
	return nil
}

// closeConnections closes whatever open managed to open.
func (db *DB) closeConnections() error {
	var errs []error
	if db.w.conn != nil {
		if err := db.w.conn.Close(); err != nil {
			errs = append(errs, err)
		}
		db.w.conn = nil
	}
	if db.writeDB != nil {
		if err := db.writeDB.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if db.readDB != nil {
		if err := db.readDB.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}
