package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatusExportCLI: the real server publishes status_page.export to a directory at start,
// and upkeep status export DIR writes the same files through the API.
func TestStatusExportCLI(t *testing.T) {
	dir := t.TempDir()
	published := filepath.Join(dir, "published")
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), `services: [{name: api, title: Public API}]
monitors: [{name: api-health, service: api, http: {url: /healthz}, every: 1h}]
status_page:
  title: Acme status
  export: {to: {path: published}, every: 1h}
`)
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.stderr)
		}
	}()
	waitFor(t, "the published export", time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(published, "index.html"))
		return err == nil
	})
	waitFor(t, "the export counted in /metrics", time.Minute, func() bool {
		code, metrics := s.get(t, "/metrics", "")
		return code == 200 && strings.Contains(metrics, "upkeep_status_exports_total 1")
	})

	out := filepath.Join(dir, "out")
	env := map[string]string{"UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}
	code, stdout, stderr := runCLI(t, env, "status", "export", out)
	if code != 0 || !strings.HasPrefix(stdout, "wrote ") || stderr != "" {
		t.Fatalf("upkeep status export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"index.html", "api/v2/summary.json", "badge/api/status.svg", "badge/api/uptime-7d.svg", "history.atom"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "index.html" && !strings.Contains(string(b), "Acme status") {
			t.Errorf("index.html: %s", b)
		}
	}
	// Again into the same directory: replaced.
	if code, _, stderr := runCLI(t, env, "status", "export", out); code != 0 {
		t.Fatalf("second export: %s", stderr)
	}
	// A directory with other files is not touched.
	code, stdout, stderr = runCLI(t, env, "status", "export", dir)
	checkCLIError(t, "upkeep status export into a full directory", code, stdout, stderr, "directory with files in it")
	code, stdout, stderr = runCLI(t, map[string]string{"UPKEEP_URL": s.url}, "status", "export", out)
	checkCLIError(t, "upkeep status export without a token", code, stdout, stderr, "no API token")
}
