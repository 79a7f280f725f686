package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTokenLifecycleOffline(t *testing.T) {
	data := t.TempDir()
	code, secret, stderr := runCLI(t, nil, "token", "create", "ci", "--data", data)
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	secret = strings.TrimSpace(secret)
	if !strings.HasPrefix(secret, "upk_") || len(secret) < 30 {
		t.Fatalf("token %q does not look like a token", secret)
	}
	if !strings.Contains(stderr, "not shown again") {
		t.Errorf("create does not warn that the token is shown once: %q", stderr)
	}

	if code, _, stderr := runCLI(t, nil, "token", "create", "ci", "--data", data); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("duplicate create: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, nil, "token", "create", "bad name!", "--data", data); code != 1 || !strings.Contains(stderr, "token name") {
		t.Errorf("bad name: exit %d, stderr %q", code, stderr)
	}

	// The data directory also comes from $UPKEEP_DATA.
	code, out, stderr := runCLI(t, map[string]string{"UPKEEP_DATA": data}, "token", "list", "--json")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, stderr)
	}
	if strings.Contains(out, secret) {
		t.Fatal("token list shows the secret")
	}
	var rows []struct {
		Name   string `json:"name"`
		Prefix string `json:"prefix"`
		Active bool   `json:"active"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0].Name != "ci" || !rows[0].Active || !strings.HasPrefix(secret, rows[0].Prefix) {
		t.Fatalf("list = %+v", rows)
	}

	if code, _, stderr := runCLI(t, nil, "token", "revoke", "ci", "--data", data); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, nil, "token", "revoke", "ci", "--data", data); code != 1 || !strings.Contains(stderr, "no active token") {
		t.Errorf("second revoke: exit %d, stderr %q", code, stderr)
	}
	_, out, _ = runCLI(t, nil, "token", "list", "--data", data)
	if !strings.Contains(out, "revoked") {
		t.Errorf("table does not show the revocation:\n%s", out)
	}
	// A revoked name can be used again.
	if code, _, stderr := runCLI(t, nil, "token", "create", "ci", "--data", data); code != 0 {
		t.Errorf("create after revoke: exit %d: %s", code, stderr)
	}
}
