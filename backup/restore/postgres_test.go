package restore_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
	"github.com/upkeep-dev/upkeep/backup/restore"
	"github.com/upkeep-dev/upkeep/backup/source"
	"github.com/upkeep-dev/upkeep/internal/testenv"
)

func pgbench(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	testenv.Require(t, len(found) > 0, "pgbench not found (Debian package postgresql-<major>)")
	return found[len(found)-1]
}

type pgFacts struct {
	Counts   [4]int64
	Checksum string
}

func pgFactsOf(t *testing.T, dsn string) pgFacts {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var f pgFacts
	for i, table := range []string{"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"} {
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&f.Counts[i]); err != nil {
			t.Fatal(err)
		}
	}
	err = conn.QueryRow(ctx, "SELECT md5(string_agg(aid || ':' || bid || ':' || abalance || ':' || filler, ',' ORDER BY aid)) FROM pgbench_accounts").Scan(&f.Checksum)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPostgresRoundTrip dumps a pgbench database and restores it into another database: same
// rows, same checksum; then shows that a non-empty target is refused without force.
func TestPostgresRoundTrip(t *testing.T) {
	ctx := context.Background()
	srcDSN := testenv.Postgres(t)
	dstDSN := testenv.Postgres(t)
	bench := pgbench(t)
	pc, err := tool.ParsePg(srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	// Make the history table non-empty too, so every table has rows to compare.
	cmd := exec.Command(bench, "-i", "-s", "2", "-q", pc.Database(dbName(t, srcDSN)))
	cmd.Env = append(os.Environ(), pc.Env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	cmd = exec.Command(bench, "-t", "50", "-c", "1", "-n", pc.Database(dbName(t, srcDSN)))
	cmd.Env = append(os.Environ(), pc.Env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgbench run: %v\n%s", err, out)
	}
	want := pgFactsOf(t, srcDSN)
	if want.Counts[0] != 200000 || want.Counts[3] != 50 {
		t.Fatalf("pgbench made %v rows", want.Counts)
	}

	src, dst := dbName(t, srcDSN), dbName(t, dstDSN)
	streams, err := source.Postgres(ctx, srcDSN, source.PostgresOptions{Databases: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	b, names := take(t, streams)
	if !slices.Equal(names, []string{"globals.sql", "databases/" + src + ".dump"}) {
		t.Fatalf("streams %v", names)
	}
	if !strings.Contains(string(b["globals.sql"]), "CREATE ROLE") {
		t.Errorf("globals.sql has no roles:\n%.500s", b["globals.sql"])
	}

	server := pc.DSNFor("postgres")
	opts := restore.Options{Rename: map[string]string{src: dst}, Globals: true}
	if err := restore.Postgres(ctx, server, names, b.open, opts); err != nil {
		t.Fatalf("restore into the empty database: %v", err)
	}
	if got := pgFactsOf(t, dstDSN); got != want {
		t.Fatalf("restored %+v, want %+v", got, want)
	}

	// Not again without force: the target now holds data.
	err = restore.Postgres(ctx, server, names, b.open, opts)
	if !errors.Is(err, restore.ErrNotEmpty) || !strings.Contains(err.Error(), dst) {
		t.Fatalf("restore into a non-empty database: %v, want ErrNotEmpty naming %s", err, dst)
	}
	// With force it is replaced, whatever was added since.
	conn, err := pgx.Connect(ctx, dstDSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DELETE FROM pgbench_history; CREATE TABLE junk (x int)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	opts.Force, opts.Globals = true, false
	if err := restore.Postgres(ctx, server, names, b.open, opts); err != nil {
		t.Fatalf("restore with force: %v", err)
	}
	if got := pgFactsOf(t, dstDSN); got != want {
		t.Fatalf("restored with force %+v, want %+v", got, want)
	}
}

// A dump that is not one fails pg_restore with its message, and the database created for it is
// dropped again.
func TestPostgresRestoreFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	pc, _ := tool.ParsePg(dsn)
	target := dbName(t, dsn) + "_new"
	b := backup{"databases/x.dump": []byte("this is not a dump")}
	err := restore.Postgres(ctx, dsn, []string{"databases/x.dump"}, b.open, restore.Options{Rename: map[string]string{"x": target}})
	if err == nil || !strings.Contains(err.Error(), `pg_restore into database "`+target+`" failed`) {
		t.Fatalf("restore of garbage: %v", err)
	}
	conn, err := pgx.Connect(ctx, pc.DSNFor("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", target).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s left behind after a failed restore (%v)", target, err)
	}
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// Objects owned by a role the target lacks: refused with a hint, restored without owners on demand.
func TestPostgresRestoreWithoutOwners(t *testing.T) {
	ctx := context.Background()
	srcDSN, dstDSN := testenv.Postgres(t), testenv.Postgres(t)
	src, dst := dbName(t, srcDSN), dbName(t, dstDSN)
	role := "owner_" + src[len(src)-16:] // not containing the CI password "upkeep", which errors redact
	conn, err := pgx.Connect(ctx, srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"CREATE ROLE " + role, "CREATE TABLE owned (x int)", "INSERT INTO owned VALUES (7)", "ALTER TABLE owned OWNER TO " + role} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role) })
	streams, err := source.Postgres(ctx, srcDSN, source.PostgresOptions{Databases: []string{src}, NoGlobals: true})
	if err != nil {
		t.Fatal(err)
	}
	b, names := take(t, streams)
	for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	pc, _ := tool.ParsePg(srcDSN)
	server := pc.DSNFor("postgres")
	opts := restore.Options{Rename: map[string]string{src: dst}}
	err = restore.Postgres(ctx, server, names, b.open, opts)
	if err == nil || !strings.Contains(err.Error(), `role "`+role+`" does not exist`) || !strings.Contains(err.Error(), "restore without owners") {
		t.Fatalf("restore with a missing owner: %v", err)
	}
	opts.NoOwner = true
	if err := restore.Postgres(ctx, server, names, b.open, opts); err != nil {
		t.Fatalf("restore without owners: %v", err)
	}
	dc, err := pgx.Connect(ctx, dstDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close(ctx)
	var x int
	if err := dc.QueryRow(ctx, "SELECT x FROM owned").Scan(&x); err != nil || x != 7 {
		t.Fatalf("restored x = %d, %v", x, err)
	}
}
