package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
)

// migrationFS holds the schema, one numbered file per version. To change the schema, add the
// next file (0002_what_it_does.sql); never edit one that has been released.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string // file name, for messages
	sql     string
}

// loadMigrations reads migrations/NNNN_name.sql from fsys and checks that they are numbered
// 1, 2, 3... without gaps or duplicates, so the schema version is the number of files applied.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var migs []migration
	for _, name := range names { // fs.Glob returns names in lexical order
		base := path.Base(name)
		number, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(number)
		if !ok || err != nil || len(number) != 4 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		if want := len(migs) + 1; version != want {
			return nil, fmt.Errorf("migration %s: expected number %04d next (numbers start at 0001 and have no gaps or duplicates)", base, want)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", base, err)
		}
		migs = append(migs, migration{version: version, name: base, sql: string(text)})
	}
	if len(migs) == 0 {
		return nil, fmt.Errorf("no migrations found")
	}
	return migs, nil
}

// migrate brings the database on conn to the newest embedded schema and returns its version.
func migrate(ctx context.Context, conn *sql.Conn, dbPath string, logger *slog.Logger) (int, error) {
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, fmt.Errorf("open store %s: embedded migrations: %w", dbPath, err)
	}
	return applyMigrations(ctx, conn, dbPath, migs, logger)
}

// applyMigrations applies the migrations the database has not seen yet, one transaction each, and
// returns the resulting version. It refuses a database newer than migs before changing anything.
//
// Foreign key enforcement is off while migrations run and checked with foreign_key_check before
// each commit: that is SQLite's documented procedure for schema changes that rebuild a table
// (https://www.sqlite.org/lang_altertable.html#otheralter), and it makes such migrations possible.
func applyMigrations(ctx context.Context, conn *sql.Conn, dbPath string, migs []migration, logger *slog.Logger) (version int, err error) {
	version, err = userVersion(ctx, conn)
	if err != nil {
		return 0, fmt.Errorf("open store %s: read schema version: %w", dbPath, err)
	}
	if version > len(migs) {
		return version, &SchemaTooNewError{Path: dbPath, Version: version, Known: len(migs)}
	}
	if version == len(migs) {
		return version, nil
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return version, fmt.Errorf("open store %s: prepare migrations: %w", dbPath, err)
	}
	defer func() {
		if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
			err = fmt.Errorf("open store %s: re-enable foreign keys after migrations: %w", dbPath, ferr)
		}
	}()
	for _, m := range migs[version:] {
		applied, err := applyMigration(ctx, conn, m)
		if err != nil {
			return version, fmt.Errorf("open store %s: apply migration %s: %w", dbPath, m.name, err)
		}
		if applied {
			logger.Info("store schema migrated", "path", dbPath, "version", m.version, "migration", m.name)
		}
	}
	// Another process may have migrated concurrently, possibly further than this binary knows.
	version, err = userVersion(ctx, conn)
	if err != nil {
		return 0, fmt.Errorf("open store %s: read schema version: %w", dbPath, err)
	}
	if version > len(migs) {
		return version, &SchemaTooNewError{Path: dbPath, Version: version, Known: len(migs)}
	}
	return version, nil
}

// applyMigration applies m in its own write transaction, unless another process already did.
func applyMigration(ctx context.Context, conn *sql.Conn, m migration) (applied bool, err error) {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (the writer's _txlock): no other writer from here on
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	current, err := userVersion(ctx, tx)
	if err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if current >= m.version {
		return false, tx.Rollback()
	}
	if current != m.version-1 {
		return false, fmt.Errorf("database is at schema version %d, expected %d", current, m.version-1)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if err := checkForeignKeys(ctx, tx); err != nil {
		return false, err
	}
	// PRAGMA takes no bound parameters; the version is an int from the file name.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return false, fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// checkForeignKeys fails if any row breaks a foreign key.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("check foreign keys: %w", err)
		}
		return fmt.Errorf("row %d of table %s refers to a missing row of %s", rowid.Int64, table, parent)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	return nil
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func userVersion(ctx context.Context, q rowQueryer) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}
