package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaintenanceCLI starts, schedules, lists and ends maintenance windows with the CLI against
// the real binary, and checks that the server puts the covered monitor in maintenance and takes
// it out again.
func TestMaintenanceCLI(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), `services: [{name: api, title: Public API}]
monitors: [{name: api-health, service: api, http: {url: /healthz}, every: 1h}]
maintenance:
  - {name: nightly, title: Nightly backup, monitors: [api-health], cron: "0 2 * * *", duration: 15m, tz: Europe/Berlin}
`)
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)
	env := map[string]string{"UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, append([]string{"maintenance"}, args...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("upkeep maintenance %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	fails := func(args []string, want ...string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, append([]string{"maintenance"}, args...)...)
		checkCLIError(t, "upkeep maintenance "+strings.Join(args, " "), code, out, errOut, want...)
	}
	monitorState := func() string {
		t.Helper()
		code, body := s.get(t, "/api/v1/monitors/api-health", token)
		var m struct {
			State  string `json:"state"`
			Window string `json:"maintenance_window"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("GET monitor: %d %s", code, body)
		}
		return m.State + " " + m.Window
	}

	out := ok("list")
	wantLines(t, "list with the policy's window", out,
		`^ID +STATE +START +END +COVERS +TITLE$`,
		`^nightly +upcoming +\S+ \S+Z +\S+ \S+Z +monitor api-health +Nightly backup$`)

	out = ok("start", "Failover test", "--service", "api", "--for", "30m", "-d", "Answers may fail for a minute.")
	wantLines(t, "start", out,
		`^maintenance 1: Failover test \(active, from the API\)$`,
		`^\S+Z to \S+Z$`,
		`^covers: service api$`,
		`^Answers may fail for a minute\.$`)
	if st := monitorState(); st != "maintenance Failover test" {
		t.Errorf("monitor during the window: %q", st)
	}

	out = ok("schedule", "Kernel upgrade", "--monitor", "api-health", "--start", "2030-01-01 02:00", "--end", "2030-01-01 03:00",
		"--tz", "Europe/Berlin", "--notify-before", "2h")
	wantLines(t, "schedule", out, `^maintenance 2: Kernel upgrade \(upcoming, from the API\)$`, `^2030-01-01T01:00:00Z to 2030-01-01T02:00:00Z$`)

	out = ok("list")
	wantLines(t, "list", out,
		`^1 +active +.*service api +Failover test$`,
		`^nightly +upcoming`,
		`^2 +upcoming +2030-01-01 01:00Z +2030-01-01 02:00Z +monitor api-health +Kernel upgrade$`)
	if a, n := strings.Index(out, "Failover"), strings.Index(out, "Nightly"); a > n {
		t.Errorf("the active window is not listed first:\n%s", out)
	}

	out = ok("end", "1")
	wantLines(t, "end", out, `^maintenance 1: Failover test \(completed, from the API\)$`)
	if st := monitorState(); strings.HasPrefix(st, "maintenance") {
		t.Errorf("monitor after the window: %q", st)
	}
	out = ok("end", "#2")
	wantLines(t, "cancel", out, `^maintenance 2: Kernel upgrade \(cancelled, from the API\)$`)

	var rows []struct {
		ID, State, Source string
	}
	if err := json.Unmarshal([]byte(ok("list", "--state", "past", "--json")), &rows); err != nil || len(rows) != 2 || rows[0].Source != "api" {
		t.Errorf("list --state past --json: %+v %v", rows, err)
	}
	if out := ok("list", "--state", "active"); out != "no maintenance windows\n" {
		t.Errorf("list --state active:\n%s", out)
	}

	fails([]string{"start", "x", "--service", "api"}, "--end", "--for")
	fails([]string{"start", "x", "--for", "1h"}, "covers nothing")
	fails([]string{"start", "x", "--for", "1h", "--service", "nope", "--monitor", "gone"}, `unknown service "nope"`, `unknown monitor "gone"`)
	fails([]string{"schedule", "x", "--service", "api", "--for", "1h"}, "--start is required")
	fails([]string{"schedule", "x", "--service", "api", "--start", "next week", "--for", "1h"}, `start: "next week" is not a time`)
	fails([]string{"schedule", "x", "--service", "api", "--start", "2030-01-01 02:00", "--end", "2030-01-01 01:00"}, "is not after start")
	fails([]string{"end", "1"}, "over already")
	fails([]string{"end", "nightly"}, "declared in the policy")
	fails([]string{"end", "42"}, "not found")
	fails([]string{"list", "--state", "soon"}, `state "soon"`)
}
