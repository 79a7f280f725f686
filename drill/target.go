package drill

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the sql checks of sqlite targets

	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/backup/restore"
	"github.com/upkeep-dev/upkeep/policy"
)

// target is where one drill restores to.
type target struct {
	kind string
	dir  string // path and command targets: the directory restored into
	file string // sqlite targets
	db   *policy.DatabaseTarget
	run  string // command targets
	wipe bool   // path targets: the policy says the directory may be wiped
}

type restored struct{ files, bytes int64 }

func newTarget(d *policy.Drill, workDir string) *target {
	t := &target{kind: d.Into.Kind()}
	switch t.kind {
	case policy.TargetPath:
		t.dir, t.wipe = d.Into.Path.Dir, d.Into.Path.Wipe
	case policy.TargetCommand:
		t.dir, t.run = filepath.Join(workDir, "restored", d.Name), d.Into.Command.Run
	case policy.TargetSQLite:
		t.file = d.Into.SQLite.Path
	case policy.TargetPostgres:
		t.db = d.Into.Postgres
	case policy.TargetMySQL:
		t.db = d.Into.MySQL
	}
	return t
}

// where names the restored data for messages and tests: a directory, file or database.
func (t *target) where() string {
	switch {
	case t.dir != "":
		return t.dir
	case t.file != "":
		return t.file
	case t.db != nil:
		return t.db.Database
	}
	return ""
}

// restore wipes the target and restores snapshot snap into it.
func (t *target) restore(ctx context.Context, rep Repository, snap repo.Snapshot) (restored, error) {
	var out restored
	// The policy refuses such targets; a drill built some other way is refused here too.
	if t.kind == policy.TargetPath && !t.wipe {
		return out, fmt.Errorf("%s is not marked wipe: true; the drill will not delete what is in it", t.dir)
	}
	if t.db != nil && !t.db.Scratch {
		return out, fmt.Errorf("database %q is not marked scratch: true; the drill will not drop it", t.db.Database)
	}
	switch t.kind {
	case policy.TargetPath, policy.TargetCommand:
		if err := wipeDir(t.dir); err != nil {
			return out, err
		}
		// Progress is reported from kopia's parallel workers, not always in order.
		var mu sync.Mutex
		err := rep.RestoreFiles(ctx, snap.ID, t.dir, func(p repo.Progress) {
			mu.Lock()
			out.files, out.bytes = max(out.files, p.Files), max(out.bytes, p.Bytes)
			mu.Unlock()
		})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			return out, err
		}
		if t.kind == policy.TargetCommand {
			if err := runShell(ctx, t.run, t.env("")); err != nil {
				return out, fmt.Errorf("restore command: %w", err)
			}
		}
		return out, nil
	}

	names, err := rep.Entries(ctx, snap.ID)
	if err != nil {
		return out, err
	}
	open := func(ctx context.Context, name string) (io.ReadCloser, error) {
		rc, err := rep.OpenEntry(ctx, snap.ID, name)
		if err != nil {
			return nil, err
		}
		out.files++
		return &countingReader{rc: rc, n: &out.bytes}, nil
	}
	switch t.kind {
	case policy.TargetSQLite:
		if err := os.MkdirAll(filepath.Dir(t.file), 0o700); err != nil {
			return out, err
		}
		return out, restore.SQLite(ctx, t.file, names, open, restore.Options{Force: true})
	case policy.TargetPostgres:
		name, from, err := pickDatabase(names, t.db.From, ".dump")
		if err != nil {
			return out, err
		}
		return out, restore.Postgres(ctx, t.db.DSN.Reveal(), []string{name}, open,
			restore.Options{Force: true, NoOwner: true, Rename: map[string]string{from: t.db.Database}})
	case policy.TargetMySQL:
		name, from, err := pickDatabase(names, t.db.From, ".sql")
		if err != nil {
			return out, err
		}
		return out, restore.MySQL(ctx, t.db.DSN.Reveal(), []string{name}, open,
			restore.Options{Force: true, Rename: map[string]string{from: t.db.Database}})
	}
	return out, fmt.Errorf("unknown target kind %q", t.kind)
}

// pickDatabase finds the stream databases/<from><suffix> in a database backup: the one named
// from, else the only one.
func pickDatabase(names []string, from, suffix string) (stream, db string, err error) {
	var found []string
	for _, n := range names {
		if db, ok := strings.CutPrefix(n, "databases/"); ok && strings.HasSuffix(db, suffix) {
			db = strings.TrimSuffix(db, suffix)
			if from == "" || db == from {
				found = append(found, db)
			}
		}
	}
	switch {
	case len(found) == 1:
		return "databases/" + found[0] + suffix, found[0], nil
	case from != "":
		return "", "", fmt.Errorf("the snapshot holds no database %q (its files: %s)", from, strings.Join(names, ", "))
	case len(found) == 0:
		return "", "", fmt.Errorf("the snapshot holds no database dump (its files: %s)", strings.Join(names, ", "))
	}
	return "", "", fmt.Errorf("the snapshot holds %d databases (%s): say which one with from", len(found), strings.Join(found, ", "))
}

// wipeDir deletes everything in dir, creating it when missing. The directory itself stays (it
// may be a mount point).
func wipeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wiping %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("wiping %s: %w", dir, err)
		}
	}
	return nil
}

// cleanup removes what the drill restored (unless the drill keeps it).
func (t *target) cleanup(ctx context.Context, log *slog.Logger) {
	var err error
	switch t.kind {
	case policy.TargetPath, policy.TargetCommand:
		err = wipeDir(t.dir)
	case policy.TargetSQLite:
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if e := os.Remove(t.file + suffix); e != nil && !os.IsNotExist(e) {
				err = e
			}
		}
	case policy.TargetPostgres, policy.TargetMySQL:
		var db *sql.DB
		if db, err = t.openServer(); err == nil {
			stmt := "DROP DATABASE IF EXISTS " + pgx.Identifier{t.db.Database}.Sanitize() + " WITH (FORCE)"
			if t.kind == policy.TargetMySQL {
				stmt = "DROP DATABASE IF EXISTS `" + strings.ReplaceAll(t.db.Database, "`", "``") + "`"
			}
			_, err = db.ExecContext(ctx, stmt)
			db.Close()
		}
	}
	if err != nil {
		log.Warn("drill: removing the restored data", "target", t.where(), "err", err)
	}
}

// openServer connects to the target's server (its own database), openDB to the restored one.
func (t *target) openServer() (*sql.DB, error) { return t.open(false) }
func (t *target) openDB() (*sql.DB, error)     { return t.open(true) }

func (t *target) open(restoredDB bool) (*sql.DB, error) {
	switch t.kind {
	case policy.TargetSQLite:
		u := url.URL{Scheme: "file", Path: t.file, RawQuery: "mode=ro"}
		return sql.Open("sqlite", u.String())
	case policy.TargetPostgres:
		cfg, err := pgx.ParseConfig(t.db.DSN.Reveal())
		if err != nil {
			return nil, fmt.Errorf("invalid PostgreSQL DSN") // the error would quote it
		}
		if restoredDB {
			cfg.Database = t.db.Database
		}
		return stdlib.OpenDB(*cfg), nil
	case policy.TargetMySQL:
		cfg, err := mysql.ParseDSN(t.db.DSN.Reveal())
		if err != nil {
			return nil, fmt.Errorf("invalid MariaDB/MySQL DSN")
		}
		cfg.DBName = ""
		if restoredDB {
			cfg.DBName = t.db.Database
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("invalid MariaDB/MySQL DSN")
		}
		return sql.OpenDB(conn), nil
	}
	return nil, fmt.Errorf("a %s target has no database", t.kind)
}

// queryRow runs q on the restored database and returns the first column of the first row.
func (t *target) queryRow(ctx context.Context, q string) (any, error) {
	db, err := t.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var v any
	if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		if err == sql.ErrNoRows {
			return nil, fmt.Errorf("the query returned no rows")
		}
		return nil, t.redact(err)
	}
	return v, nil
}

// freshness runs freshness_sql and reads its answer as a time.
func (t *target) freshness(ctx context.Context, q string) (time.Time, error) {
	v, err := t.queryRow(ctx, q)
	if err != nil {
		return time.Time{}, err
	}
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case int64:
		return time.Unix(x, 0), nil
	case []byte:
		v = string(x)
	}
	if s, ok := v.(string); ok {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
			if ts, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return ts, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("the query returned %v, not a time", v)
}

// redact removes the DSN's password from an error message.
func (t *target) redact(err error) error {
	if t.db == nil {
		return err
	}
	msg := err.Error()
	dsn := t.db.DSN.Reveal()
	var secrets []string
	if cfg, e := pgx.ParseConfig(dsn); e == nil && t.kind == policy.TargetPostgres {
		secrets = append(secrets, cfg.Password)
	}
	if cfg, e := mysql.ParseDSN(dsn); e == nil && t.kind == policy.TargetMySQL {
		secrets = append(secrets, cfg.Passwd)
	}
	for _, s := range append(secrets, dsn) {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return fmt.Errorf("%s", msg)
}

// env describes the restored data to verify commands and applications.
func (t *target) env(drill string) []string {
	env := []string{"UPKEEP_DRILL=" + drill}
	switch {
	case t.dir != "":
		env = append(env, "UPKEEP_RESTORED_PATH="+t.dir)
	case t.file != "":
		env = append(env, "UPKEEP_RESTORED_PATH="+t.file)
	case t.db != nil:
		env = append(env, "UPKEEP_RESTORED_DATABASE="+t.db.Database, "UPKEEP_RESTORED_DSN="+t.restoredDSN())
	}
	return env
}

// restoredDSN is the target's DSN naming the restored database.
func (t *target) restoredDSN() string {
	dsn := t.db.DSN.Reveal()
	if t.kind == policy.TargetMySQL {
		if cfg, err := mysql.ParseDSN(dsn); err == nil {
			cfg.DBName = t.db.Database
			return cfg.FormatDSN()
		}
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + t.db.Database
		return u.String()
	}
	return dsn + " dbname='" + strings.ReplaceAll(t.db.Database, "'", `\'`) + "'"
}

// runShell runs a shell command with extra environment; its error carries the output's tail.
func runShell(ctx context.Context, command string, env []string) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second // a child left holding the output open after a cancel
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := strings.TrimSpace(string(out))
		if len(tail) > 500 {
			tail = "…" + tail[len(tail)-500:]
		}
		if tail != "" {
			return fmt.Errorf("%q: %w: %s", command, err, tail)
		}
		return fmt.Errorf("%q: %w", command, err)
	}
	return nil
}

type countingReader struct {
	rc io.ReadCloser
	n  *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	*c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }
