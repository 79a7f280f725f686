package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cliSession runs "upkeep incident ..." in-process against a running server.
type cliSession struct {
	t   *testing.T
	env map[string]string
}

// ok runs args, wants exit status 0 and nothing on stderr, and returns stdout.
func (c cliSession) ok(args ...string) string {
	c.t.Helper()
	code, out, errOut := runCLI(c.t, c.env, append([]string{"incident"}, args...)...)
	if code != 0 || errOut != "" {
		c.t.Fatalf("upkeep incident %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs args, wants exit status 1, nothing on stdout, and one clear line on stderr that
// contains every one of want; it returns that line.
func (c cliSession) fails(args []string, want ...string) string {
	c.t.Helper()
	code, out, errOut := runCLI(c.t, c.env, append([]string{"incident"}, args...)...)
	checkCLIError(c.t, "upkeep incident "+strings.Join(args, " "), code, out, errOut, want...)
	return errOut
}

var goTrace = regexp.MustCompile(`goroutine \d+|panic:|\.go:\d+|runtime\.|\{0x[0-9a-f]+`)

func checkCLIError(t *testing.T, what string, code int, out, errOut string, want ...string) {
	t.Helper()
	if code != 1 {
		t.Errorf("%s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", what, code, out, errOut)
	}
	if out != "" {
		t.Errorf("%s: printed on stdout when it failed:\n%s", what, out)
	}
	if !strings.HasPrefix(errOut, "upkeep: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("%s: stderr is not one \"upkeep: ...\" line:\n%s", what, errOut)
	}
	if goTrace.MatchString(errOut) {
		t.Errorf("%s: stderr looks like a Go stack trace or dump:\n%s", what, errOut)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("%s: stderr lacks %q:\n%s", what, w, errOut)
		}
	}
}

func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
			t.Errorf("%s: output lacks /%s/:\n%s", what, w, out)
		}
	}
}

func startIncidentServer(t *testing.T) (*server, string, string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), "services: [{name: api, title: Public API}, {name: db}]\n")
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	return startServe(t, dir, nil), token, dir
}

// TestIncidentCLILifecycle declares an incident with the CLI, updates, acknowledges, resolves
// it and writes its report, and checks what each command prints and what the server then holds.
func TestIncidentCLILifecycle(t *testing.T) {
	s, token, _ := startIncidentServer(t)
	c := cliSession{t: t, env: map[string]string{"UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}}

	if out := c.ok("list"); out != "no incidents\n" {
		t.Errorf("list with no incidents:\n%s", out)
	}

	out := c.ok("open", "Slow checkout", "--service", "api", "--impact", "major", "-m", "Looking into it")
	wantLines(t, "open", out,
		`^#1 Slow checkout$`,
		`^status investigating, impact major, manual, services: api$`,
		`^started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`,
		`^timeline:$`,
		`^  \S+ \S+  \[investigating\] Looking into it \(test\)$`)

	out = c.ok("update", "1", "--status", "identified", "-m", "A full cache")
	wantLines(t, "update", out, `^status identified, impact major,`, `\[identified\] A full cache \(test\)$`)
	out = c.ok("update", "#1", "--impact", "critical")
	wantLines(t, "update #1 --impact", out, `^status identified, impact critical,`)

	out = c.ok("ack", "1")
	wantLines(t, "ack", out, `^acknowledged by test at \S+Z$`, `^  \S+ \S+  acknowledged by test$`)
	if again := c.ok("ack", "1"); strings.Count(again, "acknowledged by test") != 2 {
		t.Errorf("a second ack is not a no-op keeping the first:\n%s", again)
	}

	out = c.ok("resolve", "1", "-m", "Cache flushed")
	wantLines(t, "resolve", out,
		`^status resolved, impact critical, manual, services: api$`,
		`^started \S+Z, resolved \S+Z after \d+s$`,
		`\[resolved\] Cache flushed \(test\)$`)

	out = c.ok("report", "1", "--cause", "The cache filled up", "--measures", "Flushed it", "--prevention", "An alert at 80%")
	wantLines(t, "report", out, `^report:$`, `^  cause: The cache filled up$`, `^  measures: Flushed it$`, `^  prevention: An alert at 80%$`)

	show := c.ok("show", "1")
	if show != out {
		t.Errorf("show prints something else than the last change did:\nshow:\n%s\nreport:\n%s", show, out)
	}
	wantLines(t, "show", show, `^#1 Slow checkout$`, `Looking into it`, `A full cache`, `acknowledged by test`, `Cache flushed`)

	// A second incident, open: listed first, and alone with --state open.
	c.ok("open", "Replica lag", "--service", "db,api")
	list := c.ok("list")
	wantLines(t, "list", list,
		`^ID +STATUS +IMPACT +SERVICES +STARTED +DURATION +ACK +TITLE$`,
		`^2 +investigating +minor +db,api +\S+ ago +open +- +Replica lag$`,
		`^1 +resolved +critical +api +\S+ ago +\d+s +test +Slow checkout$`)
	if i2, i1 := strings.Index(list, "Replica lag"), strings.Index(list, "Slow checkout"); i2 > i1 {
		t.Errorf("the open incident is not listed first:\n%s", list)
	}
	open := c.ok("list", "--state", "open")
	if !strings.Contains(open, "Replica lag") || strings.Contains(open, "Slow checkout") {
		t.Errorf("list --state open:\n%s", open)
	}
	resolved := c.ok("list", "--state", "resolved")
	if strings.Contains(resolved, "Replica lag") || !strings.Contains(resolved, "Slow checkout") {
		t.Errorf("list --state resolved:\n%s", resolved)
	}

	// --json prints the API's own JSON.
	var inc struct {
		ID       int64    `json:"id"`
		Title    string   `json:"title"`
		Status   string   `json:"status"`
		Services []string `json:"services"`
		Report   *struct {
			Cause string `json:"cause"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(c.ok("show", "1", "--json")), &inc); err != nil {
		t.Fatalf("show --json: %v", err)
	}
	if inc.ID != 1 || inc.Status != "resolved" || inc.Report == nil || inc.Report.Cause != "The cache filled up" {
		t.Errorf("show --json: %+v", inc)
	}
	var rows []struct{ ID int64 }
	if err := json.Unmarshal([]byte(c.ok("list", "--json")), &rows); err != nil || len(rows) != 2 || rows[0].ID != 2 {
		t.Errorf("list --json: %+v %v", rows, err)
	}
	if err := json.Unmarshal([]byte(c.ok("open", "Third", "--json")), &inc); err != nil || inc.ID != 3 || inc.Title != "Third" || inc.Services == nil {
		t.Errorf("open --json: %+v %v", inc, err)
	}

	// The server holds what the CLI said.
	code, body := s.get(t, "/api/v1/incidents/1", token)
	if code != 200 || !strings.Contains(body, `"acknowledged_by": "test"`) || !strings.Contains(body, `"prevention": "An alert at 80%"`) {
		t.Errorf("GET /api/v1/incidents/1: %d %s", code, body)
	}
}

// TestIncidentCLIErrors: bad input and impossible changes end with exit status 1 and one line
// that says what is wrong, never a Go stack trace; nothing is changed on the server.
func TestIncidentCLIErrors(t *testing.T) {
	s, token, _ := startIncidentServer(t)
	c := cliSession{t: t, env: map[string]string{"UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}}

	c.fails([]string{"open", "Outage", "--service", "nope"}, `unknown service "nope"`)
	c.fails([]string{"open", "Outage", "--service", "api,nope"}, `unknown service "nope"`)
	c.fails([]string{"open", "Outage", "--status", "broken"}, `status "broken"`, "investigating, identified, monitoring, resolved")
	c.fails([]string{"open", "Outage", "--impact", "huge"}, `impact "huge"`, "none, minor, major, critical")
	c.fails([]string{"open", "  "}, "needs a title")
	c.fails([]string{"open"}, "accepts 1 arg(s), received 0")
	c.fails([]string{"list", "--state", "bogus"}, `state "bogus"`)
	if out := c.ok("list"); out != "no incidents\n" {
		t.Fatalf("a refused open declared an incident:\n%s", out)
	}

	c.ok("open", "Outage", "--service", "api")
	c.fails([]string{"report", "1", "--cause", "unknown yet"}, "incident 1 is not resolved yet")
	c.fails([]string{"update", "1"}, "needs a message, a status or an impact")
	c.fails([]string{"update", "1", "--status", "fixed"}, `status "fixed"`)
	c.ok("resolve", "1", "-m", "Fixed")
	for _, st := range []string{"investigating", "identified", "monitoring"} {
		c.fails([]string{"update", "1", "--status", st, "-m", "again"}, "incident 1 is resolved", "declare a new one")
	}
	c.ok("open", "Never acknowledged")
	c.ok("resolve", "2")
	c.fails([]string{"ack", "2"}, "incident 2 is resolved")
	c.fails([]string{"resolve", "2"}, "incident 2 is already resolved")

	for _, cmd := range [][]string{{"show"}, {"ack"}, {"update", "-m", "x"}, {"resolve"}, {"report", "--cause", "x"}} {
		c.fails(append(append([]string{cmd[0]}, "999"), cmd[1:]...), "incident 999", "not found")
		c.fails(append(append([]string{cmd[0]}, "abc"), cmd[1:]...), `"abc" is not an incident number`)
		c.fails(append(append([]string{cmd[0]}, "0"), cmd[1:]...), `"0" is not an incident number`)
	}

	// Nothing above changed incident 1 after it was resolved.
	show := c.ok("show", "1")
	if strings.Contains(show, "again") || strings.Contains(show, "report:") || !strings.Contains(show, "status resolved") {
		t.Errorf("refused commands changed the incident:\n%s", show)
	}

	// The server and the token: missing, wrong, unreachable.
	code, out, errOut := runCLI(t, map[string]string{"UPKEEP_URL": s.url}, "incident", "list")
	checkCLIError(t, "without a token", code, out, errOut, "no API token", "--token", "UPKEEP_TOKEN")
	code, out, errOut = runCLI(t, map[string]string{"UPKEEP_URL": s.url, "UPKEEP_TOKEN": "not-a-token"}, "incident", "list")
	checkCLIError(t, "with a wrong token", code, out, errOut, "unauthorized")
	code, out, errOut = runCLI(t, nil, "incident", "open", "x", "--url", "http://127.0.0.1:1", "--token", token)
	checkCLIError(t, "without a server", code, out, errOut, "is upkeep serve running at http://127.0.0.1:1")

	// Flags take precedence over the environment.
	code, out, errOut = runCLI(t, map[string]string{"UPKEEP_URL": "http://127.0.0.1:1", "UPKEEP_TOKEN": "not-a-token"},
		"incident", "show", "1", "--url", s.url+"/", "--token", token)
	if code != 0 || !strings.Contains(out, "#1 Outage") || errOut != "" {
		t.Errorf("--url and --token over the environment: exit %d\n%s%s", code, out, errOut)
	}
}

// TestIncidentCLIRealBinary runs the built program as a separate process, as people do: exit
// statuses and output are the process's own.
func TestIncidentCLIRealBinary(t *testing.T) {
	s, token, dir := startIncidentServer(t)
	run := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(upkeepBin, append([]string{"incident"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "UPKEEP_URL="+s.url, "UPKEEP_TOKEN="+token)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run("open", "Checkout down", "--service", "api", "--impact", "critical")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "#1 Checkout down\n") {
		t.Fatalf("open: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("report", "1", "--cause", "x")
	checkCLIError(t, "report while open", code, out, errOut, "not resolved yet")
	code, out, errOut = run("open", "x", "--service", "nope")
	checkCLIError(t, "unknown service", code, out, errOut, `unknown service "nope"`)
	if code, out, errOut = run("resolve", "1"); code != 0 || !strings.Contains(out, "status resolved") {
		t.Fatalf("resolve: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("update", "1", "--status", "investigating")
	checkCLIError(t, "reopening", code, out, errOut, "incident 1 is resolved")
}
