// Package testenv gives tests the outside servers they need (PostgreSQL, MariaDB/MySQL, ...) and
// decides what happens when one is missing.
//
// A test that needs a server asks for it here. When the server is not there the test is skipped
// with a one-line reason, so `go test ./...` passes on a fresh machine; when the environment
// variable UPKEEP_TEST_REQUIRE_ALL=1 is set (as .ci/run does, after provisioning every server),
// the same situation fails the test instead, so CI cannot go green by skipping.
//
// Each helper creates a fresh, empty database with a unique name for the calling test and drops it
// when the test ends, so tests may run in parallel (t.Parallel, or several packages at once).
//
// Importing this package registers the "pgx" (github.com/jackc/pgx/v5/stdlib) and "mysql"
// (github.com/go-sql-driver/mysql) drivers with database/sql.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for callers
)

// Environment variables read by this package.
const (
	// EnvRequireAll, when "1", turns every skip for a missing server into a failure.
	EnvRequireAll = "UPKEEP_TEST_REQUIRE_ALL"
	// EnvPostgresDSN is the admin DSN of the PostgreSQL server to test against; the role must be
	// allowed to create and drop databases.
	EnvPostgresDSN = "UPKEEP_TEST_POSTGRES_DSN"
	// EnvMySQLDSN is the admin DSN (go-sql-driver/mysql form) of the MariaDB/MySQL server to test
	// against; the user must be allowed to create and drop databases.
	EnvMySQLDSN = "UPKEEP_TEST_MYSQL_DSN"
)

// Defaults used when the environment names no server: the local servers of a development machine.
const (
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/"
)

const (
	// connectTimeout bounds each attempt to reach a server, so an absent one costs a test seconds.
	connectTimeout = 5 * time.Second
	// opTimeout bounds the administrative statements (create, drop) that follow a connection.
	opTimeout = 30 * time.Second
	// dbPrefix starts the name of every database this package creates.
	dbPrefix = "upkeep_test_"
	// staleAfter is the age past which a leftover test database (its test process was killed
	// before its cleanup ran) is dropped by the next run. Far above go test's longest timeout.
	staleAfter = 24 * time.Hour
)

// RequireAll reports whether UPKEEP_TEST_REQUIRE_ALL=1 is set, that is whether a missing server
// must fail the test rather than skip it.
func RequireAll() bool { return os.Getenv(EnvRequireAll) == "1" }

// Require skips the test with a one-line reason, or fails it when UPKEEP_TEST_REQUIRE_ALL=1, unless
// ok is true. Use it for every precondition that a machine may lack (a server, a binary, a browser).
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	reason := oneLine(fmt.Sprintf(format, args...))
	if RequireAll() {
		t.Fatalf("%s [%s=1: a missing prerequisite is a failure]", reason, EnvRequireAll)
	}
	t.Skip(reason)
}

// Postgres returns a DSN for a fresh, empty PostgreSQL database created for this test and dropped
// at cleanup. The admin DSN comes from UPKEEP_TEST_POSTGRES_DSN, else DefaultPostgresDSN. The
// returned DSN has the admin DSN's form (URL or keyword/value) and settings, with the database
// replaced; open it with database/sql's "pgx" driver or with pgx directly.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresDSN)
	if admin == "" {
		admin = DefaultPostgresDSN
	}
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatalf("testenv: %s is not a valid PostgreSQL DSN: %v", describeEnv(EnvPostgresDSN), err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	where := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	unavailable := func(what string, err error) {
		t.Helper()
		Require(t, false, "PostgreSQL %s at %s (set %s or run .ci/run): %v", what, where, EnvPostgresDSN, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) { // the server answered, but refused (credentials, no such database...)
			unavailable("not usable", err)
		}
		unavailable("not reachable", err)
		return ""
	}
	defer conn.Close(context.Background())

	pgSweepOnce.Do(func() { pgSweep(ctx, conn) })

	name := newDBName()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		unavailable("cannot create a database", err)
		return ""
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("testenv: dropping PostgreSQL database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if err := pgDrop(ctx, conn, name); err != nil {
			t.Errorf("testenv: dropping PostgreSQL database %s: %v", name, err)
		}
	})
	return pgWithDatabase(admin, name)
}

// pgDrop drops a database even if connections to it are still open (a pool the test forgot to
// close): WITH (FORCE) on PostgreSQL 13 and later, terminating the backends first on older ones.
func pgDrop(ctx context.Context, conn *pgx.Conn, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "42601" { // 42601: syntax error
		return err
	}
	_, _ = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident)
	return err
}

// pgSweep drops test databases left over by test processes killed long ago. Best effort.
func pgSweep(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'upkeep\\_test\\_%'")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		if isStale(n) {
			_ = pgDrop(ctx, conn, n)
		}
	}
}

var pgSweepOnce, mySweepOnce sync.Once

// pgWithDatabase returns the admin DSN with its database replaced by name.
func pgWithDatabase(admin, name string) string {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		if u, err := url.Parse(admin); err == nil {
			u.Path = "/" + name
			u.RawPath = ""
			return u.String()
		}
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return strings.TrimSpace(admin) + " dbname=" + name
}

// MySQL returns a go-sql-driver/mysql DSN for a fresh, empty MariaDB/MySQL database created for
// this test and dropped at cleanup. The admin DSN comes from UPKEEP_TEST_MYSQL_DSN, else
// DefaultMySQLDSN; the returned DSN keeps its settings (parseTime and the like) with the database
// replaced. Open it with database/sql's "mysql" driver.
func MySQL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvMySQLDSN)
	if admin == "" {
		admin = DefaultMySQLDSN
	}
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatalf("testenv: %s is not a valid go-sql-driver/mysql DSN: %v", describeEnv(EnvMySQLDSN), err)
	}
	adminCfg := cfg.Clone()
	adminCfg.DBName = ""
	if adminCfg.Timeout == 0 || adminCfg.Timeout > connectTimeout {
		adminCfg.Timeout = connectTimeout
	}
	where := adminCfg.Addr
	unavailable := func(what string, err error) {
		t.Helper()
		Require(t, false, "MariaDB/MySQL %s at %s (set %s or run .ci/run): %v", what, where, EnvMySQLDSN, err)
	}
	connector, err := mysql.NewConnector(adminCfg)
	if err != nil {
		t.Fatalf("testenv: %s: %v", describeEnv(EnvMySQLDSN), err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxIdleConns(1)
	if err := db.PingContext(ctx); err != nil {
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) { // the server answered, but refused (credentials, ...)
			unavailable("not usable", err)
		}
		unavailable("not reachable", err)
		return ""
	}

	mySweepOnce.Do(func() { mySweep(ctx, db) })

	name := newDBName()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+myIdent(name)+" CHARACTER SET utf8mb4"); err != nil {
		unavailable("cannot create a database", err)
		return ""
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		db := sql.OpenDB(connector)
		defer db.Close()
		if err := myDrop(ctx, db, name); err != nil {
			t.Errorf("testenv: dropping MariaDB/MySQL database %s: %v", name, err)
		}
	})
	dbCfg := cfg.Clone()
	dbCfg.DBName = name
	return dbCfg.FormatDSN()
}

// myDrop drops a database after killing the connections still using it, whose locks would
// otherwise make DROP DATABASE wait.
func myDrop(ctx context.Context, db *sql.DB, name string) error {
	if rows, err := db.QueryContext(ctx, "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()", name); err == nil {
		var ids []int64
		for rows.Next() {
			var id int64
			if rows.Scan(&id) == nil {
				ids = append(ids, id)
			}
		}
		rows.Close()
		for _, id := range ids {
			_, _ = db.ExecContext(ctx, "KILL "+strconv.FormatInt(id, 10))
		}
	}
	_, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+myIdent(name))
	return err
}

// mySweep drops test databases left over by test processes killed long ago. Best effort.
func mySweep(ctx context.Context, db *sql.DB) {
	rows, err := db.QueryContext(ctx, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'upkeep\\_test\\_%'")
	if err != nil {
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		if isStale(n) {
			_ = myDrop(ctx, db, n)
		}
	}
}

// myIdent quotes a MySQL identifier.
func myIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// newDBName returns a database name unique across tests, processes and runs:
// upkeep_test_<unix seconds, hex>_<64 random bits, hex>. The time lets a later run recognise
// databases left behind by a killed process; the random part makes collisions practically
// impossible. It fits both servers' identifier limits (63 and 64 bytes) unquoted.
func newDBName() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return dbPrefix + strconv.FormatInt(time.Now().Unix(), 16) + "_" + hex.EncodeToString(b[:])
}

var dbNamePattern = regexp.MustCompile(`^` + dbPrefix + `([0-9a-f]{1,16})_[0-9a-f]{16}$`)

// isStale reports whether name is a database of this package created more than staleAfter ago.
func isStale(name string) bool {
	m := dbNamePattern.FindStringSubmatch(name)
	if m == nil {
		return false
	}
	secs, err := strconv.ParseInt(m[1], 16, 64)
	if err != nil {
		return false
	}
	return time.Since(time.Unix(secs, 0)) > staleAfter
}

// describeEnv names where a DSN came from, for error messages, without printing it (it may hold a
// password).
func describeEnv(name string) string {
	if os.Getenv(name) != "" {
		return name
	}
	return "the default DSN"
}

// oneLine folds a message onto one line, as skip reasons are read one per line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// EnvChromium names the Chromium binary of the browser tests; default DefaultChromium.
const EnvChromium = "UPKEEP_TEST_CHROMIUM"

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// Chromium returns the path of a Chromium to drive (with chromedp) and the command-line flags of
// a headless, quiet browser with a fresh profile in a temporary directory: no sandbox (tests run
// as root in containers), no GPU, no QUIC, and none of the background traffic (updates, sync,
// field trials) that would make a test reach the internet. It skips (or fails, see RequireAll)
// when there is no Chromium.
func Chromium(t testing.TB) (path string, flags []string) {
	t.Helper()
	path = os.Getenv(EnvChromium)
	if path == "" {
		path = DefaultChromium
	}
	st, err := os.Stat(path)
	Require(t, err == nil && !st.IsDir() && st.Mode()&0o111 != 0, "no Chromium at %s (apt-get install chromium, or set %s)", path, EnvChromium)
	flags = []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}
	return path, flags
}

// Pgbench fills the PostgreSQL database of dsn with pgbench's generator at scale (100,000
// pgbench_accounts rows per unit), using Debian's pgbench.
func Pgbench(t testing.TB, dsn string, scale int) {
	t.Helper()
	path, err := exec.LookPath("pgbench")
	if err != nil {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
		Require(t, len(found) > 0, "pgbench not found (Debian package postgresql-<major>)")
		path = found[len(found)-1]
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("testenv: pgbench: %v", err)
	}
	cmd := exec.Command(path, "-i", "-s", strconv.Itoa(scale), "-q", cfg.Database)
	cmd.Env = append(os.Environ(), "PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)), "PGUSER="+cfg.User, "PGPASSWORD="+cfg.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
}
