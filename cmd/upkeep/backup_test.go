package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/upkeep-dev/upkeep/internal/testenv"
)

// backupPolicy writes a policy with one files backup of dir/src to a path destination.
func backupPolicy(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "a.txt"), "alpha")
	writeFile(t, filepath.Join(src, "sub", "b.txt"), strings.Repeat("beta ", 1000))
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), `
services: [{name: app}]
destinations:
  onsite: {path: `+filepath.Join(dir, "onsite")+`, password: "${BACKUP_PASSWORD}"}
  second: {path: `+filepath.Join(dir, "second")+`, password_file: `+filepath.Join(dir, "pass")+`}
backups:
  - {name: files, service: app, files: {paths: [`+src+`]}, schedule: "0 6 * * *", to: [onsite, second], keep: {last: 2}}
`)
	writeFile(t, filepath.Join(dir, "pass"), "second password\n")
}

// TestBackupRunWithoutServer: upkeep backup run opens the data directory itself, writes a real
// snapshot to every destination and records the run.
func TestBackupRunWithoutServer(t *testing.T) {
	dir := t.TempDir()
	backupPolicy(t, dir)
	env := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": filepath.Join(dir, "data")}
	code, out, errOut := runCLI(t, env, "backup", "run", "files")
	if code != 0 || !strings.Contains(out, "backup files started (run 1)") || !strings.Contains(out, "onsite: snapshot ") ||
		!strings.Contains(out, "second: snapshot ") || !strings.Contains(out, "backup files succeeded in") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// upkeep snapshots lists it at both destinations; upkeep restore brings the tree back.
	code, out, errOut = runCLI(t, env, "snapshots", "files")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "onsite") || !strings.Contains(out, "second") {
		t.Fatalf("snapshots: %d\n%s\n%s", code, out, errOut)
	}
	var rows []snapshotsRow
	code, out, _ = runCLI(t, env, "snapshots", "files", "--destination", "second", "--json")
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || len(rows[0].Snapshots) != 1 || rows[0].Snapshots[0].Files != 2 {
		t.Fatalf("snapshots --json: %d %v %s", code, err, out)
	}
	target := filepath.Join(dir, "restored")
	code, out, errOut = runCLI(t, env, "restore", "files", "--snapshot", rows[0].Snapshots[0].ID[:8], "--destination", "second", "--to", target)
	if code != 0 || !strings.Contains(out, "restored 2 files") {
		t.Fatalf("restore: %d\n%s\n%s", code, out, errOut)
	}
	for name, want := range map[string]string{"a.txt": "alpha", "sub/b.txt": strings.Repeat("beta ", 1000)} {
		if got, err := os.ReadFile(filepath.Join(target, name)); err != nil || string(got) != want {
			t.Errorf("restored %s: %q %v", name, got, err)
		}
	}
	if code, _, errOut := runCLI(t, env, "restore", "files", "--to", target); code != 1 || !strings.Contains(errOut, "is not empty; give --force") {
		t.Errorf("restore into a non-empty target: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, env, "restore", "files", "--at", "2000-01-01 00:00", "--to", filepath.Join(dir, "old")); code != 1 || !strings.Contains(errOut, "no snapshot of files taken at or before 2000-01-01T00:00:00Z") {
		t.Errorf("restore --at before any snapshot: %d %s", code, errOut)
	}

	code, out, errOut = runCLI(t, env, "backup", "verify", "files", "--read-data", "100%")
	if code != 0 || !strings.Contains(out, "onsite: intact: 1 snapshots") || !strings.Contains(out, "second: intact: 1 snapshots") {
		t.Errorf("verify: %d\n%s\n%s", code, out, errOut)
	}

	// --json prints the run; a wrong password fails that destination only: partial, exit 2.
	writeFile(t, filepath.Join(dir, "pass"), "not the password\n")
	code, out, _ = runCLI(t, env, "backup", "run", "files", "--json")
	var run struct {
		ID           int64
		Status       string
		Destinations []struct{ Destination, Status, Error string }
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || code != exitBackupPartial || run.Status != "partial" || run.ID != 2 {
		t.Fatalf("exit %d %v: %s", code, err, out)
	}
	if d := run.Destinations[1]; d.Destination != "second" || d.Status != "failed" || !strings.Contains(d.Error, "wrong repository password") {
		t.Errorf("second destination: %+v", d)
	}
	if code, out, _ := runCLI(t, env, "backup", "verify", "files", "--destination", "second"); code != 1 || !strings.Contains(out, "second: FAILED: ") || !strings.Contains(out, "wrong repository password") {
		t.Errorf("verify with a wrong password: %d %s", code, out)
	}
	// Every verification is recorded: the two intact ones at 100%, then the failed one, newest first.
	code, out, errOut = runCLI(t, env, "backup", "verify", "files", "--history", "--json")
	var hist []struct {
		Destination, Trigger, Status, Error string
		ReadData                            float64 `json:"read_data"`
		Snapshots                           int
		End                                 *time.Time
	}
	if err := json.Unmarshal([]byte(out), &hist); code != 0 || err != nil || len(hist) != 3 {
		t.Fatalf("verify --history --json: %d %v\n%s\n%s", code, err, out, errOut)
	}
	if h := hist[0]; h.Destination != "second" || h.Status != "failed" || h.Trigger != "cli" || !strings.Contains(h.Error, "wrong repository password") || h.End == nil {
		t.Errorf("newest verification %+v", h)
	}
	if h := hist[2]; h.Destination != "onsite" || h.Status != "intact" || h.ReadData != 1 || h.Snapshots != 1 {
		t.Errorf("first verification %+v", h)
	}
	code, out, _ = runCLI(t, env, "backup", "verify", "files", "--history")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "FAILED") || strings.Count(out, "INTACT") != 2 {
		t.Errorf("verify --history: %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, env, "backup", "run", "nope"); code != 1 || !strings.Contains(errOut, `has no backup named "nope"`) {
		t.Errorf("unknown job: %d %s", code, errOut)
	}
}

// TestBackupRunThroughServer: with a server on the data directory, upkeep backup run asks it to
// run the backup and follows the run; upkeep backup list and status show the job.
func TestBackupRunThroughServer(t *testing.T) {
	dir := t.TempDir()
	backupPolicy(t, dir)
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, []string{"BACKUP_PASSWORD=correct horse"})
	env := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"),
		"UPKEEP_DATA": filepath.Join(dir, "upkeep-data"), "UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}
	code, out, errOut := runCLI(t, env, "backup", "run", "files")
	if code != 0 || !strings.Contains(out, "run 1 started by the server") || !strings.Contains(out, "onsite: snapshot ") || !strings.Contains(out, "backup files succeeded in") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "backup", "list")
	if code != 0 || !strings.Contains(out, "files") || !strings.Contains(out, "UP") || !strings.Contains(out, "succeeded") {
		t.Errorf("list: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "snapshots", "files", "--json")
	var rows []snapshotsRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 2 || len(rows[0].Snapshots) != 1 || len(rows[1].Snapshots) != 1 {
		t.Errorf("snapshots through the server: %d %v\n%s\n%s", code, err, out, errOut)
	}
	code, out, _ = runCLI(t, env, "status")
	if code != 0 || !strings.Contains(out, "backup") {
		t.Errorf("status: %d\n%s", code, out)
	}

	// upkeep backup verify asks the server, which records it; a destination found emptied fails
	// the verification and makes the backup's monitor down.
	code, out, errOut = runCLI(t, env, "backup", "verify", "files", "--read-data", "100%")
	if code != 0 || !strings.Contains(out, "onsite: intact: 1 snapshots") || !strings.Contains(out, "second: intact: 1 snapshots") {
		t.Fatalf("verify through the server: %d\n%s\n%s", code, out, errOut)
	}
	if err := os.RemoveAll(filepath.Join(dir, "second")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, env, "backup", "verify", "files", "--destination", "second")
	if code != 1 || !strings.Contains(out, "second: FAILED: ") {
		t.Fatalf("verify of an emptied destination: %d\n%s\n%s", code, out, errOut)
	}
	var hist []verificationRow
	code, out, _ = runCLI(t, env, "backup", "verify", "files", "--history", "--json")
	if err := json.Unmarshal([]byte(out), &hist); code != 0 || err != nil || len(hist) != 3 || hist[0].Status != "failed" || hist[2].Status != "intact" {
		t.Errorf("history: %d %v\n%s", code, err, out)
	}
	for {
		code, out, errOut := runCLI(t, env, "status", "--json")
		var mons []monitorRow
		if err := json.Unmarshal([]byte(out), &mons); code != 0 || err != nil {
			t.Fatalf("status: %d %v\n%s\n%s", code, err, out, errOut)
		}
		if m := findMonitor(mons, "files"); m != nil && m.State == "down" {
			if m.LastResult == nil || !strings.Contains(m.LastResult.Error, "verification failed: second: ") {
				t.Errorf("monitor down for %+v", m.LastResult)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBackupAndRestorePostgres: a pgbench-generated PostgreSQL database backed up by upkeep
// backup run to a path, a real S3 server and a real SFTP server, and restored from each with
// upkeep restore --to-postgres under another name, has the same rows.
func TestBackupAndRestorePostgres(t *testing.T) {
	srcDSN := testenv.Postgres(t)
	bucket, sftp := testenv.S3(t), testenv.SFTP(t)
	ctx := context.Background()
	testenv.Pgbench(t, srcDSN, 1)
	dbOf := func(dsn string) string {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Database
	}
	// What the restored copies must match: row counts and a checksum of the balances.
	const fingerprint = "SELECT (SELECT count(*) FROM pgbench_accounts) || '/' || (SELECT count(*) FROM pgbench_branches) || '/' || " +
		"(SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts)"
	query := func(dsn string) string {
		t.Helper()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var v string
		if err := conn.QueryRow(ctx, fingerprint).Scan(&v); err != nil {
			t.Fatalf("fingerprint of %s: %v", dbOf(dsn), err)
		}
		return v
	}
	want := query(srcDSN)
	if !strings.HasPrefix(want, "100000/1/") {
		t.Fatalf("pgbench source: %s", want)
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), remoteDestinations(dir, bucket.Endpoint, bucket, sftp)+`
backups:
  - {name: db, postgres: {dsn: "${PG_DSN}", databases: [`+dbOf(srcDSN)+`]}, schedule: "0 6 * * *", to: [onsite, cloud, vault]}
`)
	env := remoteEnv(dir, bucket)
	env["PG_DSN"] = srcDSN
	code, out, errOut := runCLI(t, env, "backup", "run", "db")
	if code != 0 || strings.Count(out, ": snapshot ") != 3 || !strings.Contains(out, "2 files") {
		t.Fatalf("backup: %d\n%s\n%s", code, out, errOut)
	}
	for _, dest := range []string{"onsite", "cloud", "vault"} {
		// The target database exists and is empty; it is restored into through the source's server.
		dstDSN := testenv.Postgres(t)
		code, out, errOut = runCLI(t, env, "restore", "db", "--destination", dest, "--to-postgres", srcDSN, "--rename", dbOf(srcDSN)+"="+dbOf(dstDSN), "--force")
		if code != 0 || !strings.Contains(out, "restored") {
			t.Fatalf("restore from %s: %d\n%s\n%s", dest, code, out, errOut)
		}
		if got := query(dstDSN); got != want {
			t.Errorf("restored from %s: %s, want %s", dest, got, want)
		}
	}
}

// TestBackupAndRestoreMySQL: a MariaDB database backed up by upkeep backup run to a path, a real
// S3 server and a real SFTP server, and restored from each with upkeep restore --to-mysql under
// another name, has the same rows.
func TestBackupAndRestoreMySQL(t *testing.T) {
	srcDSN := testenv.MySQL(t)
	bucket, sftp := testenv.S3(t), testenv.SFTP(t)
	open := func(dsn string) *sql.DB {
		t.Helper()
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	nameOf := func(dsn string) string {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.DBName
	}
	src := open(srcDSN)
	for _, q := range []string{"CREATE TABLE orders (id int PRIMARY KEY, item varchar(50))",
		"INSERT INTO orders VALUES (1, 'one'), (2, 'two'), (3, 'three')"} {
		if _, err := src.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), remoteDestinations(dir, bucket.Endpoint, bucket, sftp)+`
backups:
  - {name: db, mysql: {dsn: "${MY_DSN}", databases: [`+nameOf(srcDSN)+`]}, schedule: "0 6 * * *", to: [onsite, cloud, vault]}
`)
	env := remoteEnv(dir, bucket)
	env["MY_DSN"] = srcDSN
	if code, out, errOut := runCLI(t, env, "backup", "run", "db"); code != 0 || strings.Count(out, ": snapshot ") != 3 {
		t.Fatalf("backup: %d\n%s\n%s", code, out, errOut)
	}
	for _, dest := range []string{"onsite", "cloud", "vault"} {
		dstDSN := testenv.MySQL(t)
		code, out, errOut := runCLI(t, env, "restore", "db", "--destination", dest, "--to-mysql", srcDSN, "--rename", nameOf(srcDSN)+"="+nameOf(dstDSN), "--force")
		if code != 0 || !strings.Contains(out, "restored") {
			t.Fatalf("restore from %s: %d\n%s\n%s", dest, code, out, errOut)
		}
		var items string
		if err := open(dstDSN).QueryRow("SELECT group_concat(item ORDER BY id) FROM orders").Scan(&items); err != nil || items != "one,two,three" {
			t.Errorf("restored from %s: orders %q %v", dest, items, err)
		}
	}
}

// TestProgressNotATerminal: with stdout a file (not a terminal), upkeep backup run and upkeep
// restore print plain progress lines, without the terminal's control characters; restore --json
// prints one object.
func TestProgressNotATerminal(t *testing.T) {
	dir := t.TempDir()
	backupPolicy(t, dir)
	env := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": filepath.Join(dir, "data")}
	runToFile := func(args ...string) (int, string) {
		t.Helper()
		f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var stderr strings.Builder
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		err = run(context.Background(), args, lookup, strings.NewReader(""), f, &stderr)
		out, rerr := os.ReadFile(f.Name())
		if rerr != nil {
			t.Fatal(rerr)
		}
		if strings.ContainsAny(string(out), "\r\x1b") {
			t.Errorf("%v: control characters in output that is not a terminal: %q", args, out)
		}
		return exitCode(err, &stderr), string(out) + stderr.String()
	}
	code, out := runToFile("backup", "run", "files")
	if code != 0 || !regexp.MustCompile(`\n  onsite: writing\n(  onsite: \d files, [0-9.]+ k?B\n)+  onsite: snapshot `).MatchString(out) {
		t.Fatalf("backup run: %d\n%s", code, out)
	}
	code, out = runToFile("restore", "files", "--to", filepath.Join(dir, "restored"))
	if code != 0 || !regexp.MustCompile(`\n(  \d files, [0-9.]+ k?B of 5.0 kB\n)+restored 2 files, 5.0 kB in `).MatchString(out) {
		t.Fatalf("restore: %d\n%s", code, out)
	}
	code, out = runToFile("restore", "files", "--json", "--destination", "second", "--to", filepath.Join(dir, "restored-json"))
	var got restoreOutcome
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Job != "files" || got.Destination != "second" ||
		got.Files != 2 || got.Bytes != 5005 || got.Snapshot == "" || got.Seconds <= 0 {
		t.Fatalf("restore --json: %d %v\n%s", code, err, out)
	}
}
