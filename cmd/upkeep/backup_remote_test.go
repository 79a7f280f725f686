package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/upkeep-dev/upkeep/internal/testenv"
	"github.com/upkeep-dev/upkeep/internal/testtree"
)

// remoteDestinations is the destinations block of a policy with a path (onsite), an S3 bucket
// (cloud) and an SFTP directory (vault), reading the password and S3 keys from BACKUP_PASSWORD,
// S3_KEY and S3_SECRET (remoteEnv); s3 is the S3 endpoint to use (the test server's, or one that
// cannot be reached).
func remoteDestinations(dir, s3 string, b testenv.S3Bucket, sftp testenv.SFTPServer) string {
	return fmt.Sprintf(`
destinations:
  onsite: {path: %s, password: "${BACKUP_PASSWORD}"}
  cloud:
    s3: {endpoint: %q, bucket: %s, prefix: upkeep/, region: %q, access_key_id: "${S3_KEY}", secret_access_key: "${S3_SECRET}", path_style: true}
    password: "${BACKUP_PASSWORD}"
  vault:
    sftp: {host: %s, port: %d, user: %s, key_file: %s, known_hosts: %s, path: %s}
    password: "${BACKUP_PASSWORD}"
`, filepath.Join(dir, "onsite"), s3, b.Bucket, b.Region, sftp.Host, sftp.Port, sftp.User, sftp.KeyFile, sftp.KnownHostsFile, sftp.Path)
}

// remoteEnv is the environment of upkeep commands run on a policy with remoteDestinations.
func remoteEnv(dir string, b testenv.S3Bucket) map[string]string {
	return map[string]string{"BACKUP_PASSWORD": "correct horse", "S3_KEY": b.AccessKey, "S3_SECRET": b.SecretKey,
		"UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": filepath.Join(dir, "upkeep-data")}
}

// remotePolicy is a policy whose jobs write to remoteDestinations.
func remotePolicy(dir, s3 string, b testenv.S3Bucket, sftp testenv.SFTPServer) string {
	return "services: [{name: app}]\n" + remoteDestinations(dir, s3, b, sftp) + fmt.Sprintf(`
backups:
  - {name: files, service: app, files: {paths: [%s]}, schedule: "0 6 * * *", to: [onsite, cloud, vault]}
  - {name: db, service: app, sqlite: {path: %s}, schedule: "0 6 * * *", to: [cloud, vault]}
`, filepath.Join(dir, "src"), filepath.Join(dir, "app.db"))
}

// TestBackupJobsToS3AndSFTP runs jobs through the backup service as upkeep backup run does, to
// a path, a real S3 server and a real SFTP server, and restores from each: the files come back
// byte-identical with their modes, mtimes and symbolic links, and a SQLite database backed up
// under concurrent writes comes back consistent from S3 and SFTP. Then S3 cannot be reached:
// the run is partial, the copies at the other destinations are intact, and with a server the
// backup's monitor goes down.
func TestBackupJobsToS3AndSFTP(t *testing.T) {
	bucket, sftp := testenv.S3(t), testenv.SFTP(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	testtree.Make(t, src, 1<<20)
	policyPath := filepath.Join(dir, "upkeep.yaml")
	writeFile(t, policyPath, remotePolicy(dir, bucket.Endpoint, bucket, sftp))
	env := remoteEnv(dir, bucket)

	if code, out, errOut := runCLI(t, env, "backup", "run", "files"); code != 0 || strings.Count(out, ": snapshot ") != 3 {
		t.Fatalf("backup run files: %d\n%s\n%s", code, out, errOut)
	}
	restoreFrom := func(dest, target string) {
		t.Helper()
		if code, out, errOut := runCLI(t, env, "restore", "files", "--destination", dest, "--to", target); code != 0 {
			t.Fatalf("restore from %s: %d\n%s\n%s", dest, code, out, errOut)
		}
		testtree.Compare(t, src, target)
	}
	for _, d := range []string{"onsite", "cloud", "vault"} {
		restoreFrom(d, filepath.Join(dir, "restored-"+d))
	}

	// SQLite while writers commit transactions that add a row to each of two tables.
	dbPath := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE a (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var commits atomic.Int64
	var wg sync.WaitGroup
	writeErr := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				tx, err := db.Begin()
				if err == nil {
					_, err = tx.Exec("INSERT INTO a (v) VALUES (randomblob(1000))")
					if err == nil {
						_, err = tx.Exec("INSERT INTO b (v) VALUES (randomblob(1000))")
					}
					if err == nil {
						err = tx.Commit()
					} else {
						_ = tx.Rollback()
					}
				}
				if err != nil {
					writeErr <- err
					return
				}
				commits.Add(1)
			}
		})
	}
	for commits.Load() < 200 { // the backup starts while the writers are busy
		runtime.Gosched()
	}
	code, out, errOut := runCLI(t, env, "backup", "run", "db")
	stop.Store(true)
	wg.Wait()
	close(writeErr)
	if err := <-writeErr; err != nil {
		t.Fatalf("a writer failed during the backup: %v", err)
	}
	if code != 0 || strings.Count(out, ": snapshot ") != 2 {
		t.Fatalf("backup run db: %d\n%s\n%s", code, out, errOut)
	}
	for _, d := range []string{"cloud", "vault"} {
		target := filepath.Join(dir, "restored-"+d+".db")
		if code, out, errOut := runCLI(t, env, "restore", "db", "--destination", d, "--to-sqlite", target); code != 0 {
			t.Fatalf("restore db from %s: %d\n%s\n%s", d, code, out, errOut)
		}
		r, err := sql.Open("sqlite", "file:"+target+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var check string
		var na, nb int64
		if err := r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Errorf("%s: integrity_check %q %v", d, check, err)
		}
		if err := r.QueryRow("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").Scan(&na, &nb); err != nil || na != nb || na < 200 {
			t.Errorf("%s: restored a=%d b=%d rows (%v); want the same count in both, at least 200", d, na, nb, err)
		}
		r.Close()
	}

	// S3 cannot be reached: the run is partial (exit 2), the other destinations have the new
	// snapshot and both their snapshots restore intact. (The vault repository also holds the db
	// job's snapshot: 3 in all.)
	writeFile(t, policyPath, remotePolicy(dir, "http://127.0.0.1:1", bucket, sftp))
	code, out, errOut = runCLI(t, env, "backup", "run", "files", "--json")
	var run runRow
	if err := json.Unmarshal([]byte(out), &run); err != nil || code != exitBackupPartial || run.Status != "partial" || len(run.Destinations) != 3 {
		t.Fatalf("run with S3 unreachable: %d %v\n%s\n%s", code, err, out, errOut)
	}
	for _, d := range run.Destinations {
		if ok := d.Status == "succeeded"; ok != (d.Destination != "cloud") || d.Destination == "cloud" && !strings.Contains(d.Error, "unreachable") {
			t.Errorf("destination %+v", d)
		}
	}
	var rows []snapshotsRow
	code, out, _ = runCLI(t, env, "snapshots", "files", "--destination", "vault", "--json")
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || len(rows[0].Snapshots) != 2 {
		t.Fatalf("snapshots at vault after the partial run: %d %v\n%s", code, err, out)
	}
	for _, d := range []string{"onsite", "vault"} {
		restoreFrom(d, filepath.Join(dir, "after-"+d))
	}
	if code, out, errOut := runCLI(t, env, "backup", "verify", "files", "--destination", "vault", "--read-data", "100%"); code != 0 || !strings.Contains(out, "vault: intact: 3 snapshots") {
		t.Errorf("verify vault: %d\n%s\n%s", code, out, errOut)
	}

	// The same through a server: the partial run makes the backup's monitor down.
	env["UPKEEP_TOKEN"] = createTokenFor(t, env["UPKEEP_DATA"])
	s := startServe(t, dir, []string{"BACKUP_PASSWORD=correct horse", "S3_KEY=" + bucket.AccessKey, "S3_SECRET=" + bucket.SecretKey})
	env["UPKEEP_URL"] = s.url
	if code, out, errOut := runCLI(t, env, "backup", "run", "files"); code != exitBackupPartial || !strings.Contains(out, "backup files partial") {
		t.Fatalf("backup run through the server: %d\n%s\n%s", code, out, errOut)
	}
	exited := s.wait()
	for {
		code, out, errOut := runCLI(t, env, "status", "--json")
		var mons []monitorRow
		if err := json.Unmarshal([]byte(out), &mons); code != 0 || err != nil {
			t.Fatalf("status: %d %v\n%s\n%s", code, err, out, errOut)
		}
		if m := findMonitor(mons, "files"); m != nil && m.State == "down" {
			if m.LastResult == nil || !strings.Contains(m.LastResult.Error, "backup partial") || !strings.Contains(m.LastResult.Error, "cloud") {
				t.Errorf("monitor down for %+v, want the partial run's error", m.LastResult)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("upkeep serve exited: %v\n%s", err, s.stderr)
		case <-time.After(100 * time.Millisecond): // poll again
		}
	}
}

func findMonitor(rows []monitorRow, name string) *monitorRow {
	for i := range rows {
		if rows[i].Name == name {
			return &rows[i]
		}
	}
	return nil
}
