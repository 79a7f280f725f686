package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func TestBackupsAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	secret, _ := upkeep.NewTokenSecret()
	if err := db.CreateToken(ctx, upkeep.Token{Name: "alice", Prefix: upkeep.SecretPrefix(secret), CreatedAt: time.Now()}, upkeep.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("t.yaml", []byte(`
services: [{name: api}]
destinations: {onsite: {path: /b, password_file: /p}}
backups: [{name: app-db, service: api, sqlite: {path: /db}, schedule: "0 6 * * *", to: [onsite]}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The destination holds each run until the test lets it go, then fails: the runs are real,
	// only the repository is missing.
	release := make(chan struct{})
	opened := make(chan struct{}, 10)
	open := func(ctx context.Context, name string, _ policy.Destination) (backup.Repository, error) {
		opened <- struct{}{}
		<-release
		return nil, errors.New("disk on fire")
	}
	svc := backup.New(backup.Config{Store: db, DataDir: dir, Open: open})
	if err := svc.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	srv := httptest.NewServer(New(Config{Logger: slog.New(slog.DiscardHandler), Store: db, Runtime: fixedRuntime{p}, Backups: svc, BackupHistory: db}))
	t.Cleanup(srv.Close)
	u := srv.URL

	if code, _ := send(t, "GET", u+"/api/v1/backups", "", ""); code != 401 {
		t.Errorf("without a token: %d", code)
	}
	code, body := send(t, "GET", u+"/api/v1/backups", secret, "")
	if code != 200 || !strings.Contains(body, `"name": "app-db"`) || !strings.Contains(body, `"last_run": null`) || !strings.Contains(body, `"source": "sqlite"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	// Start a run; a second start while it runs is a conflict. Runs may take a moment to start
	// accepting while the service starts.
	for {
		code, body = send(t, "POST", u+"/api/v1/backups/app-db/run", secret, "")
		if code != 503 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var started struct {
		ID  int64  `json:"id"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(body), &started); code != 202 || err != nil || started.URL != "/api/v1/backups/app-db/runs/1" {
		t.Fatalf("start: %d %s", code, body)
	}
	<-opened
	if code, body := send(t, "POST", u+"/api/v1/backups/app-db/run", secret, ""); code != 409 || !strings.Contains(body, "already in progress") {
		t.Errorf("second start: %d %s", code, body)
	}
	if code, body := send(t, "GET", u+"/api/v1/backups", secret, ""); code != 200 || !strings.Contains(body, `"running_run": 1`) {
		t.Errorf("list while running: %d %s", code, body)
	}
	if code, body := send(t, "GET", u+started.URL, secret, ""); code != 200 || !strings.Contains(body, `"status": "running"`) || !strings.Contains(body, `"trigger": "manual"`) {
		t.Errorf("run while running: %d %s", code, body)
	}
	close(release)
	for {
		code, body = send(t, "GET", u+started.URL, secret, "")
		if !strings.Contains(body, `"status": "running"`) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code != 200 || !strings.Contains(body, `"status": "failed"`) || !strings.Contains(body, `onsite: opening the repository: disk on fire`) {
		t.Errorf("run: %d %s", code, body)
	}
	code, body = send(t, "GET", u+"/api/v1/backups/app-db/runs", secret, "")
	var runs []map[string]any
	if err := json.Unmarshal([]byte(body), &runs); code != 200 || err != nil || len(runs) != 1 || runs[0]["status"] != "failed" {
		t.Errorf("runs: %d %s", code, body)
	}
	// A verification started through the API fails the same way, and its record is in the
	// job's verifications.
	code, body = send(t, "POST", u+"/api/v1/backups/app-db/verify", secret, `{"read_data": "25%"}`)
	var verifying struct {
		IDs []int64 `json:"ids"`
		URL string  `json:"url"`
	}
	if err := json.Unmarshal([]byte(body), &verifying); code != 202 || err != nil || len(verifying.IDs) != 1 || verifying.URL != "/api/v1/backups/app-db/verifications" {
		t.Fatalf("start verify: %d %s", code, body)
	}
	var verifications []map[string]any
	for {
		code, body = send(t, "GET", u+verifying.URL, secret, "")
		if err := json.Unmarshal([]byte(body), &verifications); code != 200 || err != nil || len(verifications) != 1 {
			t.Fatalf("verifications: %d %s", code, body)
		}
		if verifications[0]["status"] != "running" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := verifications[0]; v["id"] != float64(verifying.IDs[0]) || v["destination"] != "onsite" || v["status"] != "failed" || v["trigger"] != "manual" ||
		v["read_data"] != 0.25 || v["error"] != "disk on fire" || v["end"] == nil {
		t.Errorf("verification %v", v)
	}
	for body, want := range map[string]int{`{"read_data": "lots"}`: 400, `{"destination": "elsewhere"}`: 404, `{"nope": 1}`: 400} {
		if code, answer := send(t, "POST", u+"/api/v1/backups/app-db/verify", secret, body); code != want {
			t.Errorf("verify %s: %d %s, want %d", body, code, answer, want)
		}
	}
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/api/v1/backups/nope/verifications", secret},
		{"POST", "/api/v1/backups/nope/verify", secret},
		{"GET", "/api/v1/backups/nope/runs", secret},
		{"POST", "/api/v1/backups/nope/run", secret},
		{"GET", "/api/v1/backups/app-db/runs/99", secret},
		{"GET", "/api/v1/backups/app-db/runs/x", secret},
	} {
		if code, body := send(t, c.method, u+c.path, c.token, ""); code != 404 || !strings.Contains(body, `"error": "not_found"`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
	if code, _ := send(t, "GET", u+"/api/v1/backups/app-db/runs?limit=0", secret, ""); code != 400 {
		t.Errorf("limit=0: %d", code)
	}
}
