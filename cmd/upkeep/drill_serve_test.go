package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/httpapi"
)

// drillServePolicy writes backupPolicy's policy with a status page and the drill "proof" of the
// files backup into dir/restored, whose check waits while dir/hold exists (writing its shell's
// pid to dir/verify.pid and touching dir/started) and passes when dir/ok exists. schedule may be
// empty. It returns the environment for runCLI.
func drillServePolicy(t *testing.T, dir, schedule string) map[string]string {
	t.Helper()
	backupPolicy(t, dir)
	policy, err := os.ReadFile(filepath.Join(dir, "upkeep.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sched := ""
	if schedule != "" {
		sched = "    schedule: \"" + schedule + "\"\n"
	}
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), string(policy)+`status_page: {title: Acme}
drills:
  - name: proof
    backup: files
    destination: onsite
`+sched+`    into: {path: {dir: `+filepath.Join(dir, "restored")+`, wipe: true}}
    keep: true
    verify:
      - command: "echo $$ > `+dir+`/verify.pid; touch `+dir+`/started; while test -e `+dir+`/hold; do sleep 0.1; done; test -e `+dir+`/ok"
`)
	data := filepath.Join(dir, "upkeep-data")
	vars := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": filepath.Join(dir, "upkeep.yaml"), "UPKEEP_DATA": data}
	if code, out, errOut := runCLI(t, vars, "backup", "run", "files"); code != 0 {
		t.Fatalf("backup run: %d\n%s\n%s", code, out, errOut)
	}
	return vars
}

func drillRuns(t *testing.T, s *server, token string) []httpapi.DrillRun {
	t.Helper()
	code, body := s.get(t, "/api/v1/drills/proof/runs", token)
	var runs []httpapi.DrillRun
	if err := json.Unmarshal([]byte(body), &runs); code != http.StatusOK || err != nil {
		t.Fatalf("drill runs: %d %v %s", code, err, body)
	}
	return runs
}

// startDrill asks the server to run the drill and returns the status and body of the answer.
func startDrill(t *testing.T, s *server, token, query string) (int, string) {
	t.Helper()
	return s.do(t, http.MethodPost, "/api/v1/drills/proof/run"+query, token, nil)
}

// incidentOf returns the body of the newest incident of monitor proof, "" when none.
func incidentOf(t *testing.T, s *server, token string) string {
	t.Helper()
	code, body := s.get(t, "/api/v1/incidents", token)
	var list []struct {
		ID       int64
		Monitors []struct{ Monitor string }
	}
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil {
		t.Fatalf("incidents: %d %v %s", code, err, body)
	}
	for _, inc := range list {
		for _, m := range inc.Monitors {
			if m.Monitor == "proof" {
				_, detail := s.get(t, "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10), token)
				return detail
			}
		}
	}
	return ""
}

// TestScheduledDrillInServe: upkeep serve runs the drill on its schedule (every minute); the
// failed run makes the drill's monitor down, opens an incident with the drill's reason and shows
// on the status page; after a reload without the schedule, the API starts runs (202, 409 while
// one goes on, 404, 400 for a destination the backup does not have), a passing run resolves the
// incident, and upkeep drill run goes through the server and exits 0.
func TestScheduledDrillInServe(t *testing.T) {
	dir := t.TempDir()
	vars := drillServePolicy(t, dir, "* * * * *")
	token := createTokenFor(t, vars["UPKEEP_DATA"])
	s := startServe(t, dir, []string{"BACKUP_PASSWORD=correct horse"})

	var runs []httpapi.DrillRun
	waitFor(t, "the scheduled drill to end", 3*time.Minute, func() bool {
		runs = drillRuns(t, s, token)
		return len(runs) > 0 && runs[0].Status != "running"
	})
	if r := runs[0]; r.Trigger != "schedule" || r.Scheduled == nil || r.Status != "failed" || !strings.HasPrefix(r.Reason, "verify: command check: ") {
		t.Fatalf("the scheduled run: %+v\n%s", r, s.stderr)
	}
	var incident string
	waitFor(t, "the incident of the failed drill", time.Minute, func() bool {
		incident = incidentOf(t, s, token)
		return incident != ""
	})
	var inc struct{ Updates []struct{ Message string } }
	if err := json.Unmarshal([]byte(incident), &inc); err != nil || len(inc.Updates) == 0 || !strings.HasPrefix(inc.Updates[0].Message, "proof is down: drill failed: "+runs[0].Reason) {
		t.Errorf("the incident does not give the drill's reason %q (%v):\n%s", runs[0].Reason, err, incident)
	}
	code, body := s.get(t, "/api/v1/drills", token)
	var drills []struct {
		Schedule string
		State    string
		Next     *time.Time `json:"next_run"`
		Running  *int64     `json:"running_run"`
	}
	if err := json.Unmarshal([]byte(body), &drills); code != http.StatusOK || err != nil || len(drills) != 1 || drills[0].State != "down" || drills[0].Next == nil {
		t.Errorf("drills: %d %v %s", code, err, body)
	}
	var mon struct{ Kind, Service, State string }
	code, body = s.get(t, "/api/v1/monitors/proof", token)
	if err := json.Unmarshal([]byte(body), &mon); code != http.StatusOK || err != nil || mon.Kind != "drill" || mon.Service != "app" || mon.State != "down" {
		t.Errorf("the drill's monitor: %d %v %s", code, err, body)
	}
	var components struct {
		Components []struct{ Name, Status string }
	}
	code, body = s.get(t, "/api/v2/components.json", "")
	if err := json.Unmarshal([]byte(body), &components); code != http.StatusOK || err != nil || len(components.Components) != 1 ||
		components.Components[0].Name != "app" || components.Components[0].Status == "operational" {
		t.Errorf("the status page does not show the service of the failed drill as failing: %d %v %s", code, err, body)
	}

	// Reload without the schedule: no more scheduled runs, so the API's runs are alone.
	policy, err := os.ReadFile(vars["UPKEEP_POLICY"])
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, vars["UPKEEP_POLICY"], strings.Replace(string(policy), "    schedule: \"* * * * *\"\n", "", 1))
	waitFor(t, "the reload", time.Minute, func() bool {
		_, body := s.get(t, "/api/v1/drills", token)
		return json.Unmarshal([]byte(body), &drills) == nil && len(drills) == 1 && drills[0].Schedule == "" && drills[0].Running == nil
	})

	writeFile(t, filepath.Join(dir, "ok"), "")
	writeFile(t, filepath.Join(dir, "hold"), "")
	code, body = startDrill(t, s, token, "")
	var started struct {
		ID  int64
		URL string
	}
	if err := json.Unmarshal([]byte(body), &started); code != http.StatusAccepted || err != nil || started.ID == 0 ||
		started.URL != "/api/v1/drills/proof/runs/"+strconv.FormatInt(started.ID, 10) {
		t.Fatalf("POST run: %d %s", code, body)
	}
	if code, body := startDrill(t, s, token, ""); code != http.StatusConflict || !strings.Contains(body, "already in progress") {
		t.Errorf("POST run while running: %d %s", code, body)
	}
	if code, body := s.do(t, http.MethodPost, "/api/v1/drills/nope/run", token, nil); code != http.StatusNotFound {
		t.Errorf("POST run of an unknown drill: %d %s", code, body)
	}
	if code, _ := s.do(t, http.MethodPost, "/api/v1/drills/proof/run", "", nil); code != http.StatusUnauthorized {
		t.Errorf("POST run without a token: %d", code)
	}
	if err := os.Remove(filepath.Join(dir, "hold")); err != nil {
		t.Fatal(err)
	}
	var run httpapi.DrillRun
	waitFor(t, "the API's run to end", 3*time.Minute, func() bool {
		code, body := s.get(t, started.URL, token)
		if err := json.Unmarshal([]byte(body), &run); code != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %d %s", started.URL, code, body)
		}
		return run.Status != "running"
	})
	if run.Status != "passed" || run.Trigger != "manual" {
		t.Fatalf("the API's run: %+v", run)
	}
	waitFor(t, "the incident to be resolved", time.Minute, func() bool {
		var inc struct{ Status string }
		return json.Unmarshal([]byte(incidentOf(t, s, token)), &inc) == nil && inc.Status == "resolved"
	})
	if code, body := startDrill(t, s, token, "?destination=elsewhere"); code != http.StatusBadRequest || !strings.Contains(body, "elsewhere") {
		t.Errorf("POST run from an unknown destination: %d %s", code, body)
	}

	env := map[string]string{"BACKUP_PASSWORD": "correct horse", "UPKEEP_POLICY": vars["UPKEEP_POLICY"], "UPKEEP_DATA": vars["UPKEEP_DATA"],
		"UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}
	code, out, errOut := runCLI(t, env, "drill", "run", "proof", "--destination", "onsite")
	if code != 0 || !strings.Contains(out, "started by the server") || !strings.Contains(out, "check command passed") || !strings.Contains(out, "drill proof passed: RTO ") {
		t.Errorf("drill run through the server: %d\n%s\n%s", code, out, errOut)
	}
	if err := os.Remove(filepath.Join(dir, "ok")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, env, "drill", "run", "proof")
	if code != 1 || !strings.Contains(out, "drill proof failed") || !strings.Contains(out, "verify: command check: ") {
		t.Errorf("failing drill run through the server: %d\n%s\n%s", code, out, errOut)
	}
}

// TestKill9DuringServedDrill: kill -9 of upkeep serve while a drill it started runs; the next
// upkeep serve records the run interrupted, and the next drill wipes the target and passes.
func TestKill9DuringServedDrill(t *testing.T) {
	dir := t.TempDir()
	vars := drillServePolicy(t, dir, "")
	token := createTokenFor(t, vars["UPKEEP_DATA"])
	writeFile(t, filepath.Join(dir, "hold"), "")
	writeFile(t, filepath.Join(dir, "ok"), "")
	s := startServe(t, dir, []string{"BACKUP_PASSWORD=correct horse"})
	if code, body := startDrill(t, s, token, ""); code != http.StatusAccepted {
		t.Fatalf("POST run: %d %s", code, body)
	}
	waitFor(t, "the drill's check to start", 2*time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	})
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.wait()
	// The check's shell outlives the killed server; end it.
	killShell(filepath.Join(dir, "verify.pid"))
	if err := os.Remove(filepath.Join(dir, "hold")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "restored", "stray.txt"), "left behind")

	s = startServe(t, dir, []string{"BACKUP_PASSWORD=correct horse"})
	runs := drillRuns(t, s, token)
	if len(runs) != 1 || runs[0].Status != "interrupted" || runs[0].Finished == nil || !strings.Contains(runs[0].Reason, "interrupted") {
		t.Fatalf("the run cut short by kill -9: %+v\n%s", runs, s.stderr)
	}
	if code, body := startDrill(t, s, token, ""); code != http.StatusAccepted {
		t.Fatalf("POST run after the crash: %d %s", code, body)
	}
	waitFor(t, "the next drill to end", 2*time.Minute, func() bool {
		runs = drillRuns(t, s, token)
		return len(runs) == 2 && runs[0].Status != "running"
	})
	if runs[0].Status != "passed" {
		t.Fatalf("the next drill: %+v", runs[0])
	}
	if _, err := os.Stat(filepath.Join(dir, "restored", "stray.txt")); !os.IsNotExist(err) {
		t.Errorf("the next drill did not wipe the target: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "restored", "a.txt")); err != nil || string(got) != "alpha" {
		t.Errorf("restored a.txt: %q %v", got, err)
	}
}
