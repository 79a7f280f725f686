package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func policySummary(t *testing.T, s *server, token string) string {
	t.Helper()
	code, body := s.get(t, "/api/v1/policy", token)
	if code != http.StatusOK {
		t.Fatalf("/api/v1/policy: %d %s", code, body)
	}
	var p struct{ Summary string }
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p.Summary
}

func createTokenFor(t *testing.T, data string) string {
	t.Helper()
	code, secret, stderr := runCLI(t, nil, "token", "create", "test", "--data", data)
	if code != 0 {
		t.Fatalf("token create: %s", stderr)
	}
	return strings.TrimSpace(secret)
}

func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "upkeep.yaml")
	writeFile(t, file, "services: [{name: a}]\n")
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil, "--watch=false")
	if got := policySummary(t, s, token); !strings.Contains(got, "1 service") {
		t.Fatalf("summary %q", got)
	}

	// A valid new policy is applied without a restart.
	writeFile(t, file, "services: [{name: a}, {name: b}, {name: c}]\n")
	time.Sleep(100 * time.Millisecond)
	if got := policySummary(t, s, token); !strings.Contains(got, "1 service") {
		t.Fatalf("with --watch=false the policy changed without SIGHUP: %q", got)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", 10*time.Second, func() bool { return strings.Contains(policySummary(t, s, token), "3 services") })

	// An invalid one is refused, its problems logged, the previous policy stays in force.
	writeFile(t, file, "services: [{name: a}, {name: a, nonsense: 1}]\n")
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The problems are logged after the refusal's line: wait for the last of them.
	waitFor(t, "the refusal and its problems in the log", 10*time.Second, func() bool {
		log := s.stderr.String()
		return strings.Contains(log, "new policy is invalid") && strings.Count(log, "policy problem") >= 2
	})
	log := s.stderr.String()
	for _, want := range []string{"upkeep.yaml:1:", "nonsense"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if got := policySummary(t, s, token); !strings.Contains(got, "3 services") {
		t.Errorf("the previous policy was not kept: %q", got)
	}
	if code, _ := s.get(t, "/readyz", ""); code != http.StatusOK {
		t.Errorf("not ready after a refused reload: %d", code)
	}
}

func TestReloadWhenFileChanges(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "upkeep.yaml")
	writeFile(t, file, "services: [{name: a}]\n")
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)

	writeFile(t, file, "services: [{name: a}, {name: b}]\n")
	waitFor(t, "the watcher to reload", 10*time.Second, func() bool { return strings.Contains(policySummary(t, s, token), "2 services") })

	// Replaced by rename, as editors and configuration tools do.
	tmp := filepath.Join(dir, ".upkeep.yaml.tmp")
	writeFile(t, tmp, "services: [{name: a}, {name: b}, {name: c}, {name: d}]\n")
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to reload after a rename", 10*time.Second, func() bool {
		return strings.Contains(policySummary(t, s, token), "4 services")
	})
}

func TestReloadThroughAPI(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "upkeep.yaml")
	writeFile(t, file, "services: [{name: a}]\n")
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil, "--watch=false")

	writeFile(t, file, "services: [{name: a, objectives: {availability: 150%}}]\n")
	code, body := s.do(t, http.MethodPost, "/api/v1/reload", token, nil)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "availability") || !strings.Contains(body, "upkeep.yaml:1:") {
		t.Fatalf("invalid reload: %d %s", code, body)
	}
	writeFile(t, file, "services: [{name: a}, {name: b}]\n")
	code, body = s.do(t, http.MethodPost, "/api/v1/reload", token, nil)
	if code != http.StatusOK || !strings.Contains(body, "2 services") {
		t.Fatalf("valid reload: %d %s", code, body)
	}
}
