package restore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// MySQL restores the streams "databases/<name>.sql" (made by source.MySQL) into the MariaDB/MySQL
// server of dsn, each into a database created for it. An existing database with tables, views,
// routines or events is refused unless Options.Force, which drops and re-creates it; an existing
// empty one is used. The mariadb (or mysql) client runs each dump and stops at its first error;
// a database this call created is dropped again when its restore fails. The connection settings
// reach the client through a pipe, never its command line, environment or disk.
func MySQL(ctx context.Context, dsn string, names []string, open Opener, o Options) error {
	mc, err := tool.ParseMy(dsn)
	if err != nil {
		return err
	}
	from, to := databases(names, "databases/", ".sql", o.Rename)
	if len(from) == 0 {
		return fmt.Errorf("restore: the backup has no MariaDB/MySQL database dumps (its streams: %v)", names)
	}
	client, err := tool.MyProgram("mariadb", "mysql")
	if err != nil {
		return err
	}
	cfg := mc.Config.Clone()
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("invalid MariaDB/MySQL DSN: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	exists := make([]bool, len(to))
	for i, name := range to {
		var objects int
		exists[i], objects, err = myState(ctx, db, name)
		if err != nil {
			return fmt.Errorf("restore: checking MariaDB/MySQL database %q: %w", name, err)
		}
		if objects > 0 && !o.Force {
			return fmt.Errorf("restore: MariaDB/MySQL database %q: %w", name, ErrNotEmpty)
		}
	}

	for i, name := range to {
		ident := "`" + strings.ReplaceAll(name, "`", "``") + "`"
		if exists[i] && o.Force {
			if _, err := db.ExecContext(ctx, "DROP DATABASE "+ident); err != nil {
				return fmt.Errorf("restore: dropping database %q to replace it: %w", name, err)
			}
			exists[i] = false
		}
		if !exists[i] {
			if _, err := db.ExecContext(ctx, "CREATE DATABASE "+ident+" CHARACTER SET utf8mb4"); err != nil {
				return fmt.Errorf("restore: creating database %q: %w", name, err)
			}
		}
		err := feed(ctx, open, "databases/"+from[i]+".sql", func(stdin io.Reader) error {
			defaults, pipe, err := mc.Defaults()
			if err != nil {
				return err
			}
			_, err = tool.Run(ctx, tool.Cmd{
				What: fmt.Sprintf("%s restoring database %q", filepath.Base(client), name), Path: client, Stdin: stdin,
				Args:    []string{defaults, "--batch", "--database=" + name},
				Secrets: mc.Secrets(), ExtraFiles: []*os.File{pipe},
			})
			return err
		})
		if err != nil {
			if !exists[i] {
				_, dropErr := db.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident)
				err = errors.Join(err, dropErr)
			}
			return fmt.Errorf("restore: %w", err)
		}
	}
	return nil
}

// myState reports whether database name exists and how many tables, views, routines and events
// it holds.
func myState(ctx context.Context, db *sql.DB, name string) (exists bool, objects int, err error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil || n == 0 {
		return false, 0, err
	}
	err = db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) +
		(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?) +
		(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?)`, name, name, name).Scan(&objects)
	return true, objects, err
}
