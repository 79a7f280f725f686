package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKill9DuringBackupRun kills "upkeep serve" with SIGKILL while a backup runs (held in its
// before hook): at the restart the run is recorded as failed ("interrupted"), the job's lock is
// not stuck, and the next run goes through.
func TestKill9DuringBackupRun(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "src", "data.txt"), "precious")
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), `
services: [{name: app}]
destinations:
  onsite: {path: `+filepath.Join(dir, "repo")+`, password: "${BACKUP_PASSWORD}"}
backups:
  - name: files
    service: app
    files: {paths: [`+filepath.Join(dir, "src")+`]}
    schedule: "0 6 * * *"
    to: [onsite]
    hooks:
      before: "test -e `+dir+`/fast || { echo $$ > `+dir+`/hook.pid; touch `+dir+`/started; sleep 60; }"
`)
	env := []string{"BACKUP_PASSWORD=correct horse"}
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, env)
	id := startBackup(t, s, token, "files")
	waitFor(t, "the before hook to start", 60*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	})
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.wait()
	// The hook's shell is in a process group of its own and outlives the server; end it.
	killShell(filepath.Join(dir, "hook.pid"))

	s = startServe(t, dir, env)
	run := backupRunJSON(t, s, token, "files", id)
	if run.Status != "failed" || !strings.Contains(run.Error, "interrupted") || run.End == nil {
		t.Fatalf("the run cut short by kill -9: %+v", run)
	}
	writeFile(t, filepath.Join(dir, "fast"), "")
	next := startBackup(t, s, token, "files")
	waitFor(t, "the next run to end", 120*time.Second, func() bool { return backupRunJSON(t, s, token, "files", next).Status != "running" })
	if got := backupRunJSON(t, s, token, "files", next); got.Status != "succeeded" {
		t.Errorf("the next run: %+v", got)
	}
}

// startBackup starts a run of job through the API and returns its id.
func startBackup(t *testing.T, s *server, token, job string) int64 {
	t.Helper()
	var code int
	var body string
	waitFor(t, "the backup service to accept runs", 30*time.Second, func() bool {
		code, body = s.do(t, http.MethodPost, "/api/v1/backups/"+job+"/run", token, nil)
		return code != http.StatusServiceUnavailable
	})
	var started struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &started); code != http.StatusAccepted || err != nil {
		t.Fatalf("starting backup %s: %d %s", job, code, body)
	}
	return started.ID
}

func backupRunJSON(t *testing.T, s *server, token, job string, id int64) runRow {
	t.Helper()
	code, body := s.get(t, "/api/v1/backups/"+job+"/runs/"+strconv.FormatInt(id, 10), token)
	var r runRow
	if err := json.Unmarshal([]byte(body), &r); code != http.StatusOK || err != nil {
		t.Fatalf("run %d: %d %s", id, code, body)
	}
	return r
}
