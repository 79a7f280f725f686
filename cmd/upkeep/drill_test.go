package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep-dev/upkeep/httpapi"
)

// TestDrillRunWithoutServer: a files backup to a path destination, then upkeep drill run
// restores it and passes (exit 0); after a pack at the destination rotted, the next drill fails
// (exit 1) and upkeep drill history shows both runs.
func TestDrillRunWithoutServer(t *testing.T) {
	dir := t.TempDir()
	backupPolicy(t, dir)
	f, err := os.OpenFile(filepath.Join(dir, "upkeep.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("drills:\n  - {name: proof, backup: files, destination: onsite, into: {path: {dir: " +
		filepath.Join(dir, "restored") + ", wipe: true}}, keep: true, verify: [{files: {sample: 100%}}]}\n")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": filepath.Join(dir, "data")}
	if code, out, errOut := runCLI(t, env, "backup", "run", "files"); code != 0 {
		t.Fatalf("backup run: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, env, "drill", "run", "proof")
	if code != 0 || !strings.Contains(out, "check files passed") || !strings.Contains(out, "drill proof passed: RTO ") {
		t.Fatalf("drill run: %d\n%s\n%s", code, out, errOut)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "restored", "a.txt")); err != nil || string(got) != "alpha" {
		t.Errorf("restored a.txt: %q %v", got, err)
	}

	repoDir := filepath.Join(dir, "onsite")
	damaged := 0
	filepath.WalkDir(repoDir, func(p string, e fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(repoDir, p) // 'p' blobs hold file contents
		if err == nil && e.Type().IsRegular() && strings.HasPrefix(rel, "p") {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range len(b) / 2 {
				b[i] ^= 0xff
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged++
		}
		return nil
	})
	if damaged == 0 {
		t.Fatal("no pack found at the destination")
	}
	code, out, errOut = runCLI(t, env, "drill", "run", "proof")
	if code != 1 || !strings.Contains(out, "drill proof failed") {
		t.Fatalf("drill run of a corrupted copy: %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, env, "drill", "history", "proof", "--json")
	var runs []httpapi.DrillRun
	if err := json.Unmarshal([]byte(out), &runs); code != 0 || err != nil || len(runs) != 2 {
		t.Fatalf("history --json: %d %v\n%s\n%s", code, err, out, errOut)
	}
	if runs[0].Status != "failed" || runs[0].Reason == "" || runs[1].Status != "passed" || runs[1].Files != 2 || len(runs[1].Steps) != 1 {
		t.Errorf("history: %+v", runs)
	}
	if code, out, _ := runCLI(t, env, "drill", "history", "proof"); code != 0 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "PASSED") {
		t.Errorf("history: %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, env, "drill", "run", "nope"); code != 1 || !strings.Contains(errOut, `has no drill named "nope"`) {
		t.Errorf("unknown drill: %d %s", code, errOut)
	}
}
