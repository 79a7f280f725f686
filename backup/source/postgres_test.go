package source

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
	"github.com/upkeep-dev/upkeep/internal/testenv"
)

func pgDatabase(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// A database that disappears between listing and dumping fails its stream with pg_dump's
// message, naming the database.
func TestPostgresDumpOfMissingDatabaseFails(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	db := pgDatabase(t, dsn)
	streams, err := Postgres(ctx, dsn, PostgresOptions{Databases: []string{db}, NoGlobals: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != "databases/"+db+".dump" {
		t.Fatalf("streams %v", streams)
	}
	pc, _ := tool.ParsePg(dsn)
	conn, err := pgx.Connect(ctx, pc.DSNFor("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	streamFails(t, streams[0], `pg_dump of database "`+db+`" failed`, "exit status 1", "does not exist")
}

func TestPostgresDatabaseSelection(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	db := pgDatabase(t, dsn)
	streams, err := Postgres(ctx, dsn, PostgresOptions{NoGlobals: true, Exclude: []string{"postgres"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range streams {
		names = append(names, s.Name)
	}
	if !slices.Contains(names, "databases/"+db+".dump") || slices.Contains(names, "databases/postgres.dump") ||
		slices.Contains(names, "databases/template1.dump") || slices.Contains(names, "globals.sql") {
		t.Errorf("all but postgres, no globals: %v", names)
	}
	if _, err := Postgres(ctx, dsn, PostgresOptions{Databases: []string{"no_such_db_here"}}); err == nil || !strings.Contains(err.Error(), `"no_such_db_here" does not exist`) {
		t.Errorf("unknown database: %v", err)
	}
}

// The password goes to pg_dump in PGPASSWORD, never on its command line, and never into errors.
// A stand-in pg_dump shows what it was given; one too old for the server is refused.
func TestPostgresPasswordAndVersion(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	db := pgDatabase(t, dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	major, err := tool.PgServerMajor(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// With a password: the server's own rules decide whether it is checked; a test server with
	// trust authentication ignores it, a CI one with password authentication has it in the DSN.
	withPassword := dsn
	if cfg, _ := pgx.ParseConfig(dsn); cfg.Password == "" {
		withPassword = strings.Replace(dsn, "postgres://"+cfg.User+"@", "postgres://"+cfg.User+":s3cr%27t@", 1)
		if withPassword == dsn {
			withPassword = dsn + " password='s3cr\\'t'"
		}
	}
	pc, _ := tool.ParsePg(withPassword)
	secret := pc.Password()

	bin := t.TempDir()
	script := `case "$1" in --version) echo "pg_dump (PostgreSQL) ` + itoa(major) + `.0"; exit 0;; esac
echo "args: $*" >&2; echo "password: $PGPASSWORD" >&2; exit 1
`
	for _, p := range []string{"pg_dump", "pg_dumpall"} {
		if err := os.WriteFile(filepath.Join(bin, p), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	streams, err := Postgres(ctx, withPassword, PostgresOptions{Databases: []string{db}, BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		rc, err := s.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		if err == nil {
			t.Fatalf("%s: the stand-in failed but the stream did not", s.Name)
		}
		msg := err.Error()
		// (The password may also be a word of the names in the message, as in CI's upkeep:upkeep.)
		if strings.Contains(msg, "password: "+secret) || strings.Contains(msg, ":"+secret+"@") ||
			!strings.Contains(msg, "password: xxxxx") || !strings.Contains(msg, "args: --") {
			t.Errorf("%s: error %q must show the arguments and the password removed", s.Name, msg)
		}
	}

	old := t.TempDir()
	if err := os.WriteFile(filepath.Join(old, "pg_dump"), []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Postgres(ctx, dsn, PostgresOptions{BinDir: old, NoGlobals: true})
	if err == nil || !strings.Contains(err.Error(), "server is version "+itoa(major)) || !strings.Contains(err.Error(), "postgresql-client-"+itoa(major)) {
		t.Errorf("old pg_dump: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A role that is not a superuser still gets the globals, without password hashes.
func TestPostgresGlobalsWithoutSuperuser(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	db := pgDatabase(t, dsn)
	role := "upkeep_role_" + db[len(db)-16:]
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD 'pw-of-"+role+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role) })

	cfg, _ := pgx.ParseConfig(dsn)
	u := "postgres://" + role + ":pw-of-" + role + "@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + db + "?sslmode=disable"
	streams, err := Postgres(ctx, u, PostgresOptions{Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := streams[0].Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	globals, err := io.ReadAll(rc)
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if err != nil || streams[0].Name != "globals.sql" || !strings.Contains(string(globals), "CREATE ROLE "+role) || strings.Contains(string(globals), "SCRAM-SHA-256$") {
		t.Fatalf("%s without superuser: %v\n%.800s", streams[0].Name, err, globals)
	}
}

// A keyword/value DSN works as well as a URL; the dump is pg_dump's custom format.
func TestPostgresKeywordValueDSN(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	kv := "host=" + cfg.Host + " port=" + strconv.Itoa(int(cfg.Port)) + " user=" + cfg.User + " dbname=postgres sslmode=disable"
	if cfg.Password != "" {
		kv += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cfg.Password) + "'"
	}
	streams, err := Postgres(ctx, kv, PostgresOptions{Databases: []string{cfg.Database}, NoGlobals: true})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := streams[0].Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := io.ReadAll(rc)
	if cerr := rc.Close(); err != nil || cerr != nil {
		t.Fatalf("dump: %v, %v", err, cerr)
	}
	if !strings.HasPrefix(string(dump), "PGDMP") {
		t.Errorf("not a custom-format dump: %.20q", dump)
	}
}
