package source

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// PostgresOptions narrows and tunes a PostgreSQL backup.
type PostgresOptions struct {
	// Databases to dump; every database that accepts connections, templates excepted, when empty.
	Databases []string
	// Exclude lists databases not to dump.
	Exclude []string
	// NoGlobals leaves out globals.sql (roles, tablespaces). A role that is not a superuser gets
	// them without the password hashes, which only a superuser may read.
	NoGlobals bool
	// BinDir is where pg_dump and pg_dumpall are; found from the server's version when empty.
	BinDir string
}

// Postgres returns the streams of a PostgreSQL server: "globals.sql" (pg_dumpall --globals-only:
// roles and tablespaces) and "databases/<name>.dump" per database (pg_dump -Fc, the custom format
// pg_restore reads). It connects once to list the databases and learn the server's version, and
// uses the pg_dump of that major version (Debian installs each in /usr/lib/postgresql/<major>/bin),
// else one on PATH that is as new or newer. The password is passed to the programs in PGPASSWORD,
// never on their command line.
func Postgres(ctx context.Context, dsn string, o PostgresOptions) ([]Stream, error) {
	pc, err := tool.ParsePg(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	major, err := tool.PgServerMajor(ctx, conn)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname")
	if err != nil {
		return nil, fmt.Errorf("listing the databases: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the databases: %w", err)
	}
	dbs, err := pick(all, o.Databases, o.Exclude)
	if err != nil {
		return nil, err
	}

	pgDump, err := tool.PgProgram(ctx, "pg_dump", major, o.BinDir)
	if err != nil {
		return nil, err
	}
	var streams []Stream
	if !o.NoGlobals {
		pgDumpall, err := tool.PgProgram(ctx, "pg_dumpall", major, o.BinDir)
		if err != nil {
			return nil, err
		}
		args := []string{"--globals-only", "--no-password", "--dbname=" + pc.Database(conn.Config().Database)}
		var super bool
		if err := conn.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
			return nil, fmt.Errorf("asking the server whether the role is a superuser: %w", err)
		}
		if !super { // only a superuser may read password hashes (pg_authid)
			args = append(args, "--no-role-passwords")
		}
		streams = append(streams, pgStream("globals.sql", pc, tool.Cmd{What: "pg_dumpall --globals-only", Path: pgDumpall, Args: args}))
	}
	for _, db := range dbs {
		streams = append(streams, pgStream("databases/"+db+".dump", pc, tool.Cmd{
			What: fmt.Sprintf("pg_dump of database %q", db),
			Path: pgDump,
			Args: []string{"--format=custom", "--no-password", "--dbname=" + pc.Database(db)},
		}))
	}
	return streams, nil
}

func pgStream(name string, pc tool.PgConn, c tool.Cmd) Stream {
	c.Env = append(pc.Env(), "PGAPPNAME=upkeep-backup")
	c.Secrets = pc.Secrets()
	return Stream{Name: name, Open: func(ctx context.Context) (io.ReadCloser, error) { return tool.Start(ctx, c) }}
}

// pick returns the databases of all that are wanted (all when want is empty) and not excluded;
// a wanted database that does not exist is an error.
func pick(all, want, exclude []string) ([]string, error) {
	if len(want) == 0 {
		want = all
	}
	var dbs []string
	for _, db := range want {
		if !slices.Contains(all, db) {
			return nil, fmt.Errorf("database %q does not exist on the server (it has: %v)", db, all)
		}
		if !slices.Contains(exclude, db) && !slices.Contains(dbs, db) {
			dbs = append(dbs, db)
		}
	}
	if len(dbs) == 0 {
		return nil, fmt.Errorf("no database left to back up (the server has %v)", all)
	}
	return dbs, nil
}
