package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// roundTrip creates a table in the database behind db, writes a row and reads it back.
func roundTrip(t *testing.T, db *sql.DB, insert string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE TABLE probe (id INTEGER PRIMARY KEY, note VARCHAR(100) NOT NULL)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := db.ExecContext(ctx, insert, 1, "hello from testenv"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var note string
	if err := db.QueryRowContext(ctx, "SELECT note FROM probe WHERE id = 1").Scan(&note); err != nil {
		t.Fatalf("select: %v", err)
	}
	if note != "hello from testenv" {
		t.Fatalf("read back %q, want %q", note, "hello from testenv")
	}
}

func TestPostgres(t *testing.T) {
	var names [2]string
	t.Run("group", func(t *testing.T) {
		for i := range names {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				dsn := Postgres(t)
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				if i != 0 {
					t.Cleanup(func() { db.Close() })
				} // else left open on purpose: cleanup must drop the database all the same
				if err := db.QueryRow("SELECT current_database()").Scan(&names[i]); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(names[i], dbPrefix) {
					t.Errorf("database %q does not start with %q", names[i], dbPrefix)
				}
				var tables int
				if err := db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables); err != nil {
					t.Fatal(err)
				}
				if tables != 0 {
					t.Errorf("fresh database has %d tables, want 0", tables)
				}
				roundTrip(t, db, "INSERT INTO probe (id, note) VALUES ($1, $2)")
			})
		}
	})
	if t.Skipped() || names[0] == "" || names[1] == "" {
		return
	}
	if names[0] == names[1] {
		t.Fatalf("two tests got the same database %q", names[0])
	}
	// The subtests are over: their databases must be gone.
	admin := os.Getenv(EnvPostgresDSN)
	if admin == "" {
		admin = DefaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names[:]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the test databases %v still exist after cleanup", left, names)
	}
}

func TestMySQL(t *testing.T) {
	var names [2]string
	t.Run("group", func(t *testing.T) {
		for i := range names {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				dsn := MySQL(t)
				if _, err := mysql.ParseDSN(dsn); err != nil {
					t.Fatalf("returned DSN does not parse: %v", err)
				}
				db, err := sql.Open("mysql", dsn)
				if err != nil {
					t.Fatal(err)
				}
				if i != 0 {
					t.Cleanup(func() { db.Close() })
				}
				if err := db.QueryRow("SELECT DATABASE()").Scan(&names[i]); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(names[i], dbPrefix) {
					t.Errorf("database %q does not start with %q", names[i], dbPrefix)
				}
				var tables int
				if err := db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&tables); err != nil {
					t.Fatal(err)
				}
				if tables != 0 {
					t.Errorf("fresh database has %d tables, want 0", tables)
				}
				roundTrip(t, db, "INSERT INTO probe (id, note) VALUES (?, ?)")
				if i == 0 {
					// Left open on purpose: this transaction's metadata lock would make a plain
					// DROP DATABASE wait forever; cleanup must drop the database all the same.
					tx, err := db.Begin()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := tx.Exec("SELECT note FROM probe FOR UPDATE"); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	})
	if t.Skipped() || names[0] == "" || names[1] == "" {
		return
	}
	if names[0] == names[1] {
		t.Fatalf("two tests got the same database %q", names[0])
	}
	admin := os.Getenv(EnvMySQLDSN)
	if admin == "" {
		admin = DefaultMySQLDSN
	}
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRow("SELECT count(*) FROM information_schema.schemata WHERE schema_name IN (?, ?)", names[0], names[1]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the test databases %v still exist after cleanup", left, names)
	}
}

func TestPGWithDatabase(t *testing.T) {
	for _, tc := range []struct{ admin, want string }{
		{"postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u:p@127.0.0.1:5432/x?sslmode=disable"},
		{"postgresql://u@h/", "postgresql://u@h/x"},
		{"postgres://u@h", "postgres://u@h/x"},
		{"host=h user=u dbname=postgres", "host=h user=u dbname=postgres dbname=x"},
	} {
		got := pgWithDatabase(tc.admin, "x")
		if got != tc.want {
			t.Errorf("pgWithDatabase(%q) = %q, want %q", tc.admin, got, tc.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", got, err)
		} else if cfg.Database != "x" {
			t.Errorf("ParseConfig(%q).Database = %q, want x", got, cfg.Database)
		}
	}
}

func TestDBNames(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := newDBName()
		if seen[n] {
			t.Fatalf("duplicate name %q", n)
		}
		seen[n] = true
		if len(n) > 63 {
			t.Fatalf("name %q is longer than PostgreSQL's 63-byte limit", n)
		}
		if isStale(n) {
			t.Fatalf("fresh name %q counted as stale", n)
		}
	}
	old := fmt.Sprintf("%s%x_0123456789abcdef", dbPrefix, time.Now().Add(-48*time.Hour).Unix())
	if !isStale(old) {
		t.Errorf("%q not counted as stale", old)
	}
	for _, n := range []string{"upkeep_test_x", "postgres", "upkeep_test_1_2", dbPrefix + "1_0123456789abcdeg"} {
		if isStale(n) {
			t.Errorf("%q counted as stale", n)
		}
	}
}

// The tests below run this test binary again as a child process, so that a skip or a failure in
// the child can be observed without skipping or failing the parent.

const helperEnv = "UPKEEP_TESTENV_HELPER"

// TestHelperProcess is the child's entry point; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "require-true":
		Require(t, true, "never shown")
		t.Log("continued after Require(true)")
	case "require-false":
		Require(t, false, "widget not installed\n(line two) at %s", "/usr/bin/widget")
		t.Log("continued after Require(false)")
	case "postgres":
		Postgres(t)
		t.Log("continued after Postgres")
	case "mysql":
		MySQL(t)
		t.Log("continued after MySQL")
	}
}

// runHelper runs TestHelperProcess in a child with the given mode and extra environment, and
// returns its combined output and whether it exited 0.
func runHelper(t *testing.T, mode string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running child: %v", err)
		}
	}
	return string(out), err == nil
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRequire(t *testing.T) {
	t.Parallel()
	out, ok := runHelper(t, "require-true", EnvRequireAll+"=1")
	if !ok || !strings.Contains(out, "continued after Require(true)") || !strings.Contains(out, "--- PASS") {
		t.Errorf("Require(true) with %s=1: want a pass, got:\n%s", EnvRequireAll, out)
	}
	for _, v := range []string{"", "0", "true"} { // only "1" means require all
		out, ok := runHelper(t, "require-false", EnvRequireAll+"="+v)
		if !ok || !strings.Contains(out, "--- SKIP") || strings.Contains(out, "continued") {
			t.Errorf("Require(false) with %s=%q: want a skip, got:\n%s", EnvRequireAll, v, out)
		}
		if !strings.Contains(out, "widget not installed (line two) at /usr/bin/widget\n") {
			t.Errorf("skip reason not on one line:\n%s", out)
		}
	}
	out, ok = runHelper(t, "require-false", EnvRequireAll+"=1")
	if ok || !strings.Contains(out, "--- FAIL") || strings.Contains(out, "continued") ||
		!strings.Contains(out, "widget not installed (line two) at /usr/bin/widget") {
		t.Errorf("Require(false) with %s=1: want a failure, got:\n%s", EnvRequireAll, out)
	}
}

func TestUnreachableServers(t *testing.T) {
	t.Parallel()
	pgAddr, myAddr := closedPort(t), closedPort(t)
	for _, tc := range []struct {
		mode, env, dsn, want string
	}{
		{"postgres", EnvPostgresDSN, "postgres://nobody@" + pgAddr + "/postgres?sslmode=disable",
			"PostgreSQL not reachable at " + pgAddr + " (set " + EnvPostgresDSN + " or run .ci/run): "},
		{"mysql", EnvMySQLDSN, "nobody@tcp(" + myAddr + ")/",
			"MariaDB/MySQL not reachable at " + myAddr + " (set " + EnvMySQLDSN + " or run .ci/run): "},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, ok := runHelper(t, tc.mode, tc.env+"="+tc.dsn, EnvRequireAll+"=")
			if !ok || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, tc.want) || strings.Contains(out, "continued") {
				t.Errorf("unreachable server: want a skip saying %q, got:\n%s", tc.want, out)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("skipping took %v; the connect timeout should keep it short", d)
			}
			out, ok = runHelper(t, tc.mode, tc.env+"="+tc.dsn, EnvRequireAll+"=1")
			if ok || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, tc.want) {
				t.Errorf("unreachable server with %s=1: want a failure saying %q, got:\n%s", EnvRequireAll, tc.want, out)
			}
		})
	}
}

func TestS3(t *testing.T) {
	var b S3Bucket
	var client interface {
		BucketExists(context.Context, string) (bool, error)
	}
	t.Run("bucket", func(t *testing.T) {
		b = S3(t)
		c, err := s3Client(b)
		if err != nil {
			t.Fatal(err)
		}
		client = c
		if ok, err := c.BucketExists(t.Context(), b.Bucket); !ok || err != nil {
			t.Fatalf("bucket %s exists: %v, %v", b.Bucket, ok, err)
		}
	})
	if client == nil {
		return // skipped
	}
	if ok, err := client.BucketExists(context.Background(), b.Bucket); ok || err != nil {
		t.Errorf("bucket %s still exists after the test (%v)", b.Bucket, err)
	}
}

func TestSFTP(t *testing.T) {
	var s SFTPServer
	t.Run("dir", func(t *testing.T) {
		s = SFTP(t)
		c, closeFn, err := s.dial()
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if err := c.MkdirAll(s.Path + "/a/b"); err != nil {
			t.Fatal(err)
		}
	})
	if s.Host == "" {
		return // skipped
	}
	c, closeFn, err := s.dial()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, err := c.Stat(s.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after the test: %v", s.Path, err)
	}
}
