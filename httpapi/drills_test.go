package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func TestDrillsAPI(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), nil)
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
drills:
  - {name: restore-db, backup: app-db, schedule: "0 7 * * *", into: {sqlite: {path: /srv/drill.db}}}
  - {name: never-ran, backup: app-db, into: {command: {run: "true"}}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	run := &upkeep.DrillRun{Drill: "restore-db", Backup: "app-db", Destination: "onsite", Status: upkeep.DrillRunning, Started: start}
	if err := db.StartDrillRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	run.Status, run.Finished, run.RTO, run.Reason = upkeep.DrillFailed, start.Add(time.Minute), 0, "verify: the query returned false"
	if err := db.FinishDrillRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Logger: slog.New(slog.DiscardHandler), Store: db, Runtime: fixedRuntime{p}, DrillHistory: db}))
	t.Cleanup(srv.Close)

	if code, _ := send(t, "GET", srv.URL+"/api/v1/drills", "", ""); code != 401 {
		t.Errorf("without a token: %d", code)
	}
	code, body := send(t, "GET", srv.URL+"/api/v1/drills", secret, "")
	var list []struct {
		Name    string    `json:"name"`
		Into    string    `json:"into"`
		LastRun *DrillRun `json:"last_run"`
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v %s", code, err, body)
	}
	if list[0].Name != "restore-db" || list[0].Into != "sqlite" || list[0].LastRun == nil || list[0].LastRun.Status != "failed" || list[1].LastRun != nil {
		t.Errorf("list: %s", body)
	}
	code, body = send(t, "GET", srv.URL+"/api/v1/drills/restore-db/runs", secret, "")
	if code != 200 || !strings.Contains(body, `"reason": "verify: the query returned false"`) || !strings.Contains(body, `"finished": "2026-11-23T07:01:00Z"`) {
		t.Errorf("runs: %d %s", code, body)
	}
	if code, body := send(t, "GET", srv.URL+"/api/v1/drills/nope/runs", secret, ""); code != 404 || !strings.Contains(body, `no drill named \"nope\"`) {
		t.Errorf("unknown drill: %d %s", code, body)
	}
}
