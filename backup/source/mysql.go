package source

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// MySQLOptions narrows a MariaDB/MySQL backup.
type MySQLOptions struct {
	// Databases to dump; every database but the system schemas (mysql, information_schema,
	// performance_schema, sys) when empty, whatever database the DSN names (as for PostgreSQL).
	Databases []string
	// Exclude lists databases not to dump.
	Exclude []string
}

// systemSchemas are the schemas of the server itself, not backed up by default.
var systemSchemas = []string{"information_schema", "mysql", "performance_schema", "sys"}

// MySQL returns one stream "databases/<name>.sql" per database of a MariaDB/MySQL server, made by
// mariadb-dump (or mysqldump) with --single-transaction (a consistent snapshot of InnoDB tables
// without locking them), --routines, --events and --triggers (and --no-tablespaces, which
// spares the user MySQL's PROCESS privilege). The dump does not name the
// database (no CREATE DATABASE or USE), so it can be restored under another name; it starts with
// the database's default character set and collation. The connection settings and password reach
// the program through a pipe (--defaults-extra-file=/dev/fd/3): never on its command line, in its
// environment or on disk.
func MySQL(ctx context.Context, dsn string, o MySQLOptions) ([]Stream, error) {
	mc, err := tool.ParseMy(dsn)
	if err != nil {
		return nil, err
	}
	dump, err := tool.MyProgram("mariadb-dump", "mysqldump")
	if err != nil {
		return nil, err
	}
	cfg := mc.Config.Clone()
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("invalid MariaDB/MySQL DSN: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	charsets, err := mySchemas(ctx, db)
	if err != nil {
		return nil, err
	}
	all := slices.Sorted(maps.Keys(charsets))
	want := o.Databases
	if len(want) == 0 {
		for _, name := range all {
			if !slices.Contains(systemSchemas, name) {
				want = append(want, name)
			}
		}
	}
	dbs, err := pick(all, want, o.Exclude)
	if err != nil {
		return nil, err
	}

	var streams []Stream
	for _, name := range dbs {
		header := "-- Dumped by Upkeep from database " + name + "\n" +
			"/*!40101 ALTER DATABASE CHARACTER SET " + charsets[name][0] + " COLLATE " + charsets[name][1] + " */;\n"
		streams = append(streams, Stream{
			Name: "databases/" + name + ".sql",
			Open: func(ctx context.Context) (io.ReadCloser, error) {
				defaults, pipe, err := mc.Defaults()
				if err != nil {
					return nil, err
				}
				out, err := tool.Start(ctx, tool.Cmd{
					What: fmt.Sprintf("%s of database %q", filepath.Base(dump), name),
					Path: dump,
					Args: []string{defaults, "--single-transaction", "--routines", "--events", "--triggers",
						"--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4", "--", name},
					Secrets:    mc.Secrets(),
					ExtraFiles: []*os.File{pipe},
				})
				if err != nil {
					return nil, err
				}
				return prefixed{Reader: io.MultiReader(strings.NewReader(header), out), Closer: out}, nil
			},
		})
	}
	return streams, nil
}

// mySchemas returns each database's default character set and collation.
func mySchemas(ctx context.Context, db *sql.DB) (map[string][2]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return nil, fmt.Errorf("listing the databases of MariaDB/MySQL: %w", err)
	}
	defer rows.Close()
	m := map[string][2]string{}
	for rows.Next() {
		var name, cs, coll string
		if err := rows.Scan(&name, &cs, &coll); err != nil {
			return nil, fmt.Errorf("listing the databases of MariaDB/MySQL: %w", err)
		}
		m[name] = [2]string{cs, coll}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the databases of MariaDB/MySQL: %w", err)
	}
	return m, nil
}

type prefixed struct {
	io.Reader
	io.Closer
}
