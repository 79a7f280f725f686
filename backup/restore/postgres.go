package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// Postgres restores the streams "databases/<name>.dump" (pg_dump -Fc) into the server of dsn,
// each into a database of its own created for it (from template0), and "globals.sql" first when
// Options.Globals is set. An existing database with tables, views, functions... is refused
// unless Options.Force, which drops and re-creates it; an existing empty one is used as it is.
// pg_restore runs in one transaction and stops at the first error, and a database this call
// created is dropped again when its restore fails. The pg_restore of the server's major version
// is used; the password reaches it in PGPASSWORD.
func Postgres(ctx context.Context, dsn string, names []string, open Opener, o Options) error {
	pc, err := tool.ParsePg(dsn)
	if err != nil {
		return err
	}
	from, to := databases(names, "databases/", ".dump", o.Rename)
	if len(from) == 0 {
		return fmt.Errorf("restore: the backup has no PostgreSQL database dumps (its streams: %v)", names)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	major, err := tool.PgServerMajor(ctx, conn)
	if err != nil {
		return err
	}
	pgRestore, err := tool.PgProgram(ctx, "pg_restore", major, o.BinDir)
	if err != nil {
		return err
	}

	// Check every target before changing anything.
	exists := make([]bool, len(to))
	for i, db := range to {
		if db == conn.Config().Database {
			return fmt.Errorf("restore: cannot restore into database %q: it is the one the DSN connects to (name another one in the DSN, such as postgres)", db)
		}
		var empty bool
		exists[i], empty, err = pgState(ctx, pc, conn, db)
		if err != nil {
			return err
		}
		if exists[i] && !empty && !o.Force {
			return fmt.Errorf("restore: PostgreSQL database %q: %w", db, ErrNotEmpty)
		}
	}

	if o.Globals && slices.Contains(names, "globals.sql") {
		psql, err := tool.PgProgram(ctx, "psql", major, o.BinDir)
		if err != nil {
			return err
		}
		// Without ON_ERROR_STOP: "role already exists" for the roles the server has is expected.
		err = feed(ctx, open, "globals.sql", func(stdin io.Reader) error {
			_, err := tool.Run(ctx, tool.Cmd{
				What: "psql restoring globals.sql", Path: psql, Stdin: stdin,
				Args: []string{"-X", "-q", "--no-password", "--dbname=" + pc.Database(conn.Config().Database), "--file=-"},
				Env:  pc.Env(), Secrets: pc.Secrets(),
			})
			return err
		})
		if err != nil {
			return err
		}
	}

	for i, db := range to {
		ident := pgx.Identifier{db}.Sanitize()
		if exists[i] && o.Force {
			if err := pgDrop(ctx, conn, db); err != nil {
				return fmt.Errorf("restore: dropping database %q to replace it: %w", db, err)
			}
			exists[i] = false
		}
		if !exists[i] {
			if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0"); err != nil {
				return fmt.Errorf("restore: creating database %q: %w", db, err)
			}
		}
		args := []string{"--no-password", "--exit-on-error", "--single-transaction", "--dbname=" + pc.Database(db)}
		if o.NoOwner {
			args = append(args, "--no-owner", "--no-privileges")
		}
		err := feed(ctx, open, "databases/"+from[i]+".dump", func(stdin io.Reader) error {
			_, err := tool.Run(ctx, tool.Cmd{
				What: fmt.Sprintf("pg_restore into database %q", db), Path: pgRestore, Args: args, Stdin: stdin,
				Env: pc.Env(), Secrets: pc.Secrets(),
			})
			return err
		})
		if err != nil {
			if !exists[i] { // ours: leave no half-restored database behind
				err = errors.Join(err, pgDrop(context.WithoutCancel(ctx), conn, db))
			}
			if missingRole.MatchString(err.Error()) && !o.NoOwner {
				return fmt.Errorf("restore: %w (the dump's owners must exist on the target server: restore the globals too, or restore without owners)", err)
			}
			return fmt.Errorf("restore: %w", err)
		}
	}
	return nil
}

// missingRole matches PostgreSQL's complaint about a role the target server lacks.
var missingRole = regexp.MustCompile(`role "[^"]*" does not exist`)

// pgState reports whether database db exists and, if it does, whether it holds no objects of
// its own (tables, views, sequences, functions, types, schemas beyond public).
func pgState(ctx context.Context, pc tool.PgConn, conn *pgx.Conn, db string) (exists, empty bool, err error) {
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists)
	if err != nil || !exists {
		return exists, false, wrapCheck(db, err)
	}
	c, err := pgx.Connect(ctx, pc.DSNFor(db))
	if err != nil {
		return true, false, wrapCheck(db, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var n int
	err = c.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%')
		     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
		     + (SELECT count(*) FROM pg_namespace
		        WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%')`).Scan(&n)
	return true, n == 0, wrapCheck(db, err)
}

func wrapCheck(db string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("restore: checking PostgreSQL database %q: %w", db, err)
}

// pgDrop drops a database, disconnecting its users (WITH (FORCE) from PostgreSQL 13).
func pgDrop(ctx context.Context, conn *pgx.Conn, db string) error {
	ident := pgx.Identifier{db}.Sanitize()
	_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "42601" { // 42601: syntax error (before 13)
		return err
	}
	_, _ = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", db)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident)
	return err
}
