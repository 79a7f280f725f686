package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/policy"
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
	// The snapshot holds the files.
	p, err := policy.Load(filepath.Join(dir, "upkeep.yaml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	w := backup.Wiring{DataDir: filepath.Join(dir, "data")}
	r, err := w.OpenRepo(context.Background(), "second", p.Destinations["second"], true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	snaps, err := r.Snapshots(context.Background(), "files")
	if err != nil || len(snaps) != 1 || snaps[0].Files != 2 {
		t.Fatalf("snapshots %+v %v", snaps, err)
	}
	target := filepath.Join(dir, "restored")
	if err := r.RestoreFiles(context.Background(), snaps[0].ID, target, nil); err != nil {
		t.Fatal(err)
	}
	var found []string
	_ = filepath.Walk(target, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			found = append(found, info.Name())
		}
		return nil
	})
	if strings.Join(found, ",") != "a.txt,b.txt" {
		t.Errorf("restored %v", found)
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
	code, out, _ = runCLI(t, env, "status")
	if code != 0 || !strings.Contains(out, "backup") {
		t.Errorf("status: %d\n%s", code, out)
	}
}
