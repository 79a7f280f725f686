package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/httpapi"
)

// TestKill9DuringDrill: kill -9 of upkeep drill run while its checks run; upkeep serve, started
// next, records the run interrupted (GET /api/v1/drills/NAME/runs), and the next drill wipes the
// target and passes.
func TestKill9DuringDrill(t *testing.T) {
	dir := t.TempDir()
	backupPolicy(t, dir)
	restored := filepath.Join(dir, "restored")
	f, err := os.OpenFile(filepath.Join(dir, "upkeep.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(`drills:
  - name: proof
    backup: files
    destination: onsite
    into: {path: {dir: ` + restored + `, wipe: true}}
    keep: true
    verify:
      - command: "test -e ` + dir + `/fast || { echo $$ > ` + dir + `/verify.pid; touch ` + dir + `/started; sleep 60; }"
`)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "upkeep-data")
	vars := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": data}
	if code, out, errOut := runCLI(t, vars, "backup", "run", "files"); code != 0 {
		t.Fatalf("backup run: %d\n%s\n%s", code, out, errOut)
	}

	cmd := exec.Command(upkeepBin, "drill", "run", "proof")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drill's check to start", 120*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The check's shell may outlive the killed process; end it.
	killShell(filepath.Join(dir, "verify.pid"))
	writeFile(t, filepath.Join(restored, "stray.txt"), "left behind")

	token := createTokenFor(t, data)
	s := startServe(t, dir, []string{"BACKUP_PASSWORD=correct horse"})
	code, body := s.get(t, "/api/v1/drills/proof/runs", token)
	var runs []httpapi.DrillRun
	if err := json.Unmarshal([]byte(body), &runs); code != 200 || err != nil || len(runs) != 1 || runs[0].Status != "interrupted" || runs[0].Finished == nil {
		t.Fatalf("the run cut short by kill -9: %d %v %s\n%s", code, err, body, out.String())
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.wait()

	writeFile(t, filepath.Join(dir, "fast"), "")
	if code, out, errOut := runCLI(t, vars, "drill", "run", "proof"); code != 0 || !strings.Contains(out, "drill proof passed") {
		t.Fatalf("the next drill: %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(restored, "stray.txt")); !os.IsNotExist(err) {
		t.Errorf("the next drill did not wipe the target: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(restored, "a.txt")); err != nil || string(got) != "alpha" {
		t.Errorf("restored a.txt: %q %v", got, err)
	}
}
