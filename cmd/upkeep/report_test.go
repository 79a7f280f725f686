package main

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// TestReportSLAOffline reports on a service of two monitors from a data directory with a known
// history: one monitor down 2h on Oct 10 while the engine ran all month.
func TestReportSLAOffline(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "upkeep.yaml")
	data := filepath.Join(dir, "data")
	writeFile(t, pol, `services: [{name: api, objectives: {availability: "99.9%"}}, {name: www}]
monitors:
  - {name: web, service: api, http: {url: "http://127.0.0.1:1/"}, every: 1h}
  - {name: db, service: api, http: {url: "http://127.0.0.1:1/db"}, every: 1h}
`)
	ctx := t.Context()
	db, err := sqlite.Open(ctx, data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	oct := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, time.UTC) }
	id, err := db.StartSession(ctx, oct(1, 0))
	if err == nil {
		err = db.EndSession(ctx, id, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	}
	if err == nil {
		err = db.RecordMonitoring(ctx, nil, []upkeep.Transition{
			{Monitor: "web", To: upkeep.StateUp, At: oct(1, 0)},
			{Monitor: "db", To: upkeep.StateUp, At: oct(1, 0)},
			{Monitor: "db", To: upkeep.StateDown, At: oct(10, 1)},
			{Monitor: "db", To: upkeep.StateUp, At: oct(10, 3)},
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, nil, "report", "sla", "--policy", pol, "--data", data, "--service", "api", "--period", "2026-10", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Reports []struct {
			Service   string   `json:"service"`
			Monitors  []string `json:"monitors"`
			Down      float64  `json:"down_seconds"`
			Met       bool     `json:"objective_met"`
			Remaining float64  `json:"budget_remaining_seconds"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// 744h measured: 0.1% allows 2678.4s; 7200s down overruns it by 4521.6s.
	if r := got.Reports; len(r) != 1 || r[0].Service != "api" || len(r[0].Monitors) != 2 || r[0].Down != 7200 || r[0].Met || r[0].Remaining != -4521.6 {
		t.Errorf("report = %+v", got.Reports)
	}

	code, out, stderr = runCLI(t, nil, "report", "sla", "--policy", pol, "--data", data, "--period", "2026-10")
	if code != 0 || !strings.Contains(out, "@media print") || strings.Count(out, `<section class="service">`) != 2 {
		t.Errorf("html of every service: exit %d %s", code, stderr)
	}
	for _, c := range []struct{ args, want string }{
		{"--period 2026-13", "--period"},
		{"--period 2026-10 --tz Mars/Olympus", "--tz"},
		{"--period 2026-10 --format pdf", "--format"},
		{"--period 2026-10 --service nope", `no such service in the policy (services: api, www)`},
	} {
		args := append([]string{"report", "sla", "--policy", pol, "--data", data}, strings.Fields(c.args)...)
		if code, _, stderr := runCLI(t, nil, args...); code == 0 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: exit %d, stderr %q", c.args, code, stderr)
		}
	}
}

// TestReportContinuityOffline writes the continuity report of October from a data directory:
// a backup due daily at 06:00 that ran on Oct 1 and then (first run Oct 1, nothing after)
// missed the 30 other slots, and a drill that passed once.
func TestReportContinuityOffline(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "upkeep.yaml")
	data := filepath.Join(dir, "data")
	writeFile(t, pol, `services: [{name: api, objectives: {availability: "99.9%", rto: 15m, rpo: 1d}}]
monitors: [{name: web, service: api, http: {url: "http://127.0.0.1:1/"}, every: 1h}]
destinations: {onsite: {path: /b, password_file: /p}}
backups: [{name: app-db, service: api, sqlite: {path: /db}, schedule: "0 6 * * *", to: [onsite]}]
drills: [{name: restore-db, backup: app-db, into: {sqlite: {path: /srv/drill.db}}}]
`)
	ctx := t.Context()
	db, err := sqlite.Open(ctx, data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	oct := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, time.UTC) }
	id, err := db.StartBackupRun(ctx, upkeep.BackupRun{Job: "app-db", Trigger: upkeep.TriggerSchedule, Scheduled: oct(1, 6), Start: oct(1, 6)})
	if err == nil {
		err = db.RecordBackupDestination(ctx, id, upkeep.BackupDestinationResult{Destination: "onsite", Status: upkeep.BackupSucceeded, Start: oct(1, 6), End: oct(1, 7)})
	}
	if err == nil {
		err = db.FinishBackupRun(ctx, id, upkeep.BackupSucceeded, oct(1, 7), "")
	}
	run := upkeep.DrillRun{Drill: "restore-db", Backup: "app-db", Destination: "onsite", Started: oct(1, 8)}
	if err == nil {
		err = db.StartDrillRun(ctx, &run)
	}
	if err == nil {
		run.Status, run.Finished, run.RTO, run.RPO = upkeep.DrillPassed, oct(1, 8).Add(5*time.Minute), 5*time.Minute, 2*time.Hour
		err = db.FinishDrillRun(ctx, &run)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, nil, "report", "continuity", "--policy", pol, "--data", data, "--period", "2026-10", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Reports []struct {
			Service string `json:"service"`
			Backups []struct {
				Expected, Succeeded, Missed int
			} `json:"backups"`
			Verdicts []struct {
				Objective, Status, Text string
			} `json:"verdicts"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Reports) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	r := got.Reports[0]
	if len(r.Backups) != 1 || r.Backups[0].Expected != 31 || r.Backups[0].Succeeded != 1 || r.Backups[0].Missed != 30 {
		t.Errorf("backups = %+v", r.Backups)
	}
	// No monitoring data: availability not measured. The one drill met both limits.
	var verdicts []string
	for _, v := range r.Verdicts {
		verdicts = append(verdicts, v.Objective+" "+v.Status)
	}
	if strings.Join(verdicts, ", ") != "availability not_measured, rto met, rpo met" {
		t.Errorf("verdicts = %q", verdicts)
	}

	code, out, stderr = runCLI(t, nil, "report", "continuity", "--policy", pol, "--data", data, "--period", "2026-Q4")
	if code != 0 || !strings.Contains(out, "@media print") || !strings.Contains(out, "api: continuity report, 2026-Q4") {
		t.Errorf("html: exit %d %s", code, stderr)
	}
	for _, c := range []struct{ args, want string }{
		{"--period 2026-10 --format csv", `--format "csv": use html or json`},
		{"--period October", `--period: period "October"`},
		{"--period 2026-10 --service www", `--service "www": no such service in the policy (services: api)`},
	} {
		args := append([]string{"report", "continuity", "--policy", pol, "--data", data}, strings.Fields(c.args)...)
		if code, _, stderr := runCLI(t, nil, args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q", c.args, code, stderr)
		}
	}
}
