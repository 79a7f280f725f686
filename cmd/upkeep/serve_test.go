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

const twoServices = `server:
  data_dir: ./data
services:
  - name: api
    description: "key ${API_SECRET}"
  - name: web
`

func TestServeHealthAuthAndTokens(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), twoServices)
	s := startServe(t, dir, []string{"API_SECRET=hunter2-very-secret"})

	if code, body := s.get(t, "/healthz", ""); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := s.get(t, "/readyz", ""); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	if info, err := os.Stat(filepath.Join(dir, "data")); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v, mode %v; want 0700", err, info.Mode().Perm())
	}

	// Missing, malformed and unknown tokens are refused with a JSON error.
	for _, tc := range []struct{ name, header string }{
		{"missing", ""},
		{"not bearer", "Basic dXNlcjpwYXNz"},
		{"wrong", "Bearer upk_wrongwrongwrongwrongwrongwrong"},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Authorization", tc.header)
		}
		code, body := s.do(t, http.MethodGet, "/api/v1/policy", "", h)
		var e struct{ Error, Detail string }
		if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error != "unauthorized" || e.Detail == "" {
			t.Errorf("%s token: %d %s", tc.name, code, body)
		}
	}

	// A token created offline while the server runs works at once.
	code, secret, stderr := runCLI(t, nil, "token", "create", "ops", "--data", filepath.Join(dir, "data"))
	if code != 0 {
		t.Fatalf("token create: %s", stderr)
	}
	secret = strings.TrimSpace(secret)
	code, body := s.get(t, "/api/v1/policy", secret)
	if code != http.StatusOK {
		t.Fatalf("/api/v1/policy with a valid token: %d %s", code, body)
	}
	if strings.Contains(body, "hunter2") {
		t.Fatal("the API shows an expanded environment variable")
	}
	if !strings.Contains(body, "${API_SECRET}") {
		t.Errorf("the API should show the policy as written:\n%s", body)
	}
	if strings.Contains(s.stderr.String(), "hunter2") || strings.Contains(s.stderr.String(), secret) {
		t.Fatal("a secret reached the log")
	}

	// Unknown API paths need a token too, then answer 404 in JSON; a wrong method answers 405 in JSON.
	if code, _ := s.get(t, "/api/v1/nothing-here", ""); code != http.StatusUnauthorized {
		t.Errorf("unknown API path without a token: %d", code)
	}
	if code, body := s.get(t, "/api/v1/nothing-here", secret); code != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("unknown API path: %d %s", code, body)
	}
	if code, body := s.do(t, http.MethodDelete, "/api/v1/policy", secret, nil); code != http.StatusMethodNotAllowed || !strings.Contains(body, `"error"`) {
		t.Errorf("wrong method: %d %s", code, body)
	}

	// The audit log records who did what, and the token's last use is visible.
	code, body = s.get(t, "/api/v1/audit?limit=5", secret)
	if code != http.StatusOK || !strings.Contains(body, `"token": "ops"`) || !strings.Contains(body, "/api/v1/policy") {
		t.Errorf("audit: %d %s", code, body)
	}
	waitFor(t, "last use of the token", 5*time.Second, func() bool {
		_, body := s.get(t, "/api/v1/tokens", secret)
		return strings.Contains(body, `"last_used_at": "`)
	})

	// The reports are served from the server's store: the continuity report to token holders.
	if code, _ := s.get(t, "/reports/continuity?period=2026-10", ""); code != http.StatusUnauthorized {
		t.Errorf("continuity report without a token: %d", code)
	}
	if code, body := s.get(t, "/reports/continuity?period=2026-10&format=json", secret); code != http.StatusOK || !strings.Contains(body, `"reports"`) {
		t.Errorf("continuity report: %d %s", code, body)
	}
	if code, body := s.get(t, "/reports/sla?period=2026-13", secret); code != http.StatusBadRequest || !strings.Contains(body, "2026-13") {
		t.Errorf("SLA report of a bad period: %d %s", code, body)
	}

	// Revoked: refused at once.
	if code, _, stderr := runCLI(t, nil, "token", "revoke", "ops", "--data", filepath.Join(dir, "data")); code != 0 {
		t.Fatalf("revoke: %s", stderr)
	}
	if code, body := s.get(t, "/api/v1/policy", secret); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d %s", code, body)
	}
}

func TestServeQuickStartOnFreshDirectory(t *testing.T) {
	dir := t.TempDir() // no upkeep.yaml, no --policy
	s := startServe(t, dir, nil)
	if code, body := s.get(t, "/readyz", ""); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	if code, body := s.get(t, "/", ""); code != http.StatusOK || !strings.Contains(body, "quick-start") {
		t.Errorf("landing page: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "upkeep-data", "upkeep.db")); err != nil {
		t.Errorf("the quick-start policy should keep its store in ./upkeep-data: %v", err)
	}
}

func TestServeRefusesSecondServerOnSameData(t *testing.T) {
	dir := t.TempDir()
	startServe(t, dir, nil)
	code, _, stderr := runCLI(t, nil, "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "upkeep-data"))
	if code != 1 || !strings.Contains(stderr, "already running") {
		t.Fatalf("second serve: exit %d, stderr %q", code, stderr)
	}
}

func TestServeRefusesInvalidPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), "services: [{name: a}, {name: a}]\n")
	code, _, stderr := runCLI(t, nil, "serve", "--listen", "127.0.0.1:0", "--policy", filepath.Join(dir, "upkeep.yaml"))
	if code != 1 || !strings.Contains(stderr, "upkeep.yaml:1:") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestServeStopsGracefullyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, nil)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.wait():
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("did not stop after SIGTERM\n%s", s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", s.stderr)
	}
	// The store was closed cleanly: the WAL was checkpointed into the database.
	if info, err := os.Stat(filepath.Join(dir, "upkeep-data", "upkeep.db-wal")); err == nil && info.Size() > 0 {
		t.Errorf("WAL still holds %d bytes after a clean stop", info.Size())
	}
}
