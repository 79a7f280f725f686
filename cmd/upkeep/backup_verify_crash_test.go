package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKill9DuringBackupVerify kills "upkeep backup verify" with SIGKILL while it verifies (held
// by an S3 endpoint that accepts connections and never answers): its verification stays in the
// history as running until the next command that holds the data directory records it as failed
// ("interrupted"); nothing else is lost.
func TestKill9DuringBackupVerify(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "src", "data.txt"), "precious")
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), `
destinations:
  onsite: {path: `+filepath.Join(dir, "repo")+`, password: "${BACKUP_PASSWORD}"}
  stuck:
    s3: {endpoint: "http://`+hang.Addr().String()+`", bucket: stuck-bucket, access_key_id: k, secret_access_key: "${S3_SECRET}", path_style: true}
    password: "${BACKUP_PASSWORD}"
backups:
  - {name: files, files: {paths: [`+filepath.Join(dir, "src")+`]}, schedule: "0 6 * * *", to: [onsite, stuck]}
`)
	env := map[string]string{"BACKUP_PASSWORD": "correct horse", "S3_SECRET": "s", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": filepath.Join(dir, "data")}
	cmd := exec.Command(upkeepBin, "backup", "verify", "files", "--destination", "stuck")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-accepted:
	case err := <-exited:
		t.Fatalf("upkeep backup verify ended before it reached the destination: %v\n%s", err, out.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	// From now on the endpoint refuses connections: that destination fails at once.
	hang.Close()
	for len(accepted) > 0 {
		(<-accepted).Close()
	}

	type verification struct {
		ID                         int64
		Destination, Status, Error string
	}
	history := func() []verification {
		t.Helper()
		code, stdout, stderr := runCLI(t, env, "backup", "verify", "files", "--history", "--json")
		var list []verification
		if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil {
			t.Fatalf("verify --history: %d %v\n%s\n%s", code, err, stdout, stderr)
		}
		return list
	}
	if got := history(); len(got) != 1 || got[0].Destination != "stuck" || got[0].Status != "running" {
		t.Fatalf("history after kill -9: %+v", got)
	}
	// The next command that holds the data directory: a backup of the destination that works.
	if code, stdout, stderr := runCLI(t, env, "backup", "run", "files"); code != exitBackupPartial || !strings.Contains(stdout, "onsite: snapshot ") {
		t.Fatalf("backup run: %d\n%s\n%s", code, stdout, stderr)
	}
	if got := history(); len(got) != 1 || got[0].Status != "failed" || !strings.Contains(got[0].Error, "interrupted") {
		t.Fatalf("history after the next command: %+v", got)
	}
	if code, stdout, _ := runCLI(t, env, "backup", "verify", "files", "--destination", "onsite", "--read-data", "100%"); code != 0 || !strings.Contains(stdout, "onsite: intact: 1 snapshots") {
		t.Errorf("verify onsite: %d\n%s", code, stdout)
	}
	if got := history(); len(got) != 2 || got[0].Destination != "onsite" || got[0].Status != "intact" {
		t.Errorf("history: %+v", got)
	}
}
