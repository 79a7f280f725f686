package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblemWithPosition(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	writeFile(t, file, `server:
  listen: 127.0.0.1:8080
  colour: blue
services:
  - name: api
    objectives:
      availability: "101%"
      rpo: 5 minutes
  - name: api
    description: ${NOT_SET_ANYWHERE}
`)
	code, stdout, stderr := runCLI(t, nil, "validate", "--policy", file)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	want := []struct{ pos, key string }{
		{":3:3:", "server.colour"},
		{":7:21:", "services[0].objectives.availability"},
		{":8:12:", "services[0].objectives.rpo"},
		{":9:11:", "services[1].name"},
		{":10:18:", "services[1].description"},
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	problemLine := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:\d+:\d+: \S+: .+`)
	var problems []string
	for _, l := range lines {
		if problemLine.MatchString(l) {
			problems = append(problems, l)
		}
	}
	if len(problems) != len(want) {
		t.Fatalf("got %d problem lines, want %d:\n%s", len(problems), len(want), stderr)
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w.pos) || !strings.Contains(problems[i], w.key) {
			t.Errorf("problem %d = %q, want position %s and key %s", i, problems[i], w.pos, w.key)
		}
	}
	if !strings.Contains(stderr, "NOT_SET_ANYWHERE") {
		t.Errorf("the missing variable is not named:\n%s", stderr)
	}
	if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
		t.Errorf("a Go stack trace reached the user:\n%s", stderr)
	}
}

func TestValidateValidPolicy(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "upkeep.yaml")
	writeFile(t, file, `server:
  listen: 127.0.0.1:9090
services:
  - name: api
    title: Public API
    objectives: {availability: "99.9%", rpo: 1h, rto: 15m}
  - name: web
    depends_on: [api]
`)
	code, stdout, stderr := runCLI(t, nil, "validate", "--policy", file)
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stdout), "\n"); n != 0 {
		t.Errorf("summary should be one line, got:\n%s", stdout)
	}
	if !strings.Contains(stdout, "2 services") {
		t.Errorf("summary does not count the services: %q", stdout)
	}
}

func TestValidateFindsPolicyThroughEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.yaml")
	writeFile(t, file, "services: [{name: db, title: \"${TITLE:-Database}\"}]\n")
	code, stdout, stderr := runCLI(t, map[string]string{"UPKEEP_POLICY": file}, "validate")
	if code != 0 || !strings.Contains(stdout, "1 service") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestValidateMissingFile(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "validate", "--policy", filepath.Join(t.TempDir(), "nope.yaml"))
	if code != 1 || !strings.Contains(stderr, "nope.yaml") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "upkeep ") || !strings.Contains(stdout, "go1.") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}

func TestSchemaCommandPrintsJSONSchema(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "schema")
	if code != 0 || !strings.Contains(stdout, `"$schema"`) || !strings.Contains(stdout, "services") {
		t.Fatalf("exit %d, stderr %q, stdout starts %.200q", code, stderr, stdout)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"validate", "--help"}, {"token", "create", "--help"}, {"completion", "bash"}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != 0 || stdout == "" {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, len(stdout), stderr)
		}
	}
}
