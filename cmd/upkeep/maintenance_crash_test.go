package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMaintenanceKill9 runs the real binary through a maintenance window in which the monitor
// fails, and kills it with SIGKILL twice: inside the window, and while the notices of the
// window's end are being sent. The monitor stays in maintenance across the first kill (no
// incident, no page), is down the moment the window ends (one incident, one page), and the
// window's notices each reach the receiver once (a second time only for those in flight at the
// kill, in any delivery lane: the documented at-least-once window).
func TestMaintenanceKill9(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer target.Close()
	recv := newHookReceiver()
	hooks := httptest.NewServer(recv)
	defer hooks.Close()

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), fmt.Sprintf(`services: [{name: db, title: Database}]
monitors:
  - {name: db-health, service: db, every: 1s, timeout: 900ms, http: {url: "%s/db"}}
channels:
  hook: {webhook: {url: "%s/hook"}}
escalations:
  - {name: default, steps: [{after: 0s, notify: [hook]}]}
`, target.URL, hooks.URL))
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)
	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, map[string]string{"UPKEEP_URL": s.url, "UPKEEP_TOKEN": token}, append([]string{"maintenance"}, args...)...)
		if code != 0 {
			t.Fatalf("upkeep maintenance %s: %s", strings.Join(args, " "), errOut)
		}
		return out
	}
	type monitorView struct {
		State string `json:"state"`
		Real  string `json:"real_state"`
	}
	monitor := func() monitorView {
		t.Helper()
		code, body := s.get(t, "/api/v1/monitors/db-health", token)
		var m monitorView
		if code != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("monitor: %d %s", code, body)
		}
		return m
	}
	drained := func() bool { return outboxDrained(t, s, token) }
	kill := func(what string) {
		t.Helper()
		if err := s.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-s.wait()
		t.Logf("kill -9 %s", what)
		s = startServe(t, dir, nil)
	}

	waitFor(t, "db-health up", 30*time.Second, func() bool { return monitor().State == "up" })
	cli("start", "Database failover", "--service", "db", "--for", "1h", "--notify", "hook")
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cli("schedule", "Kernel upgrade", "--monitor", "db-health", "--start", later, "--for", "1h", "--notify", "hook", "--notify-before", "2h")
	failing.Store(true)
	waitFor(t, "the real state down underneath", 30*time.Second, func() bool {
		m := monitor()
		return m.State == "maintenance" && m.Real == "down"
	})
	waitFor(t, "the started and scheduled notices sent", 30*time.Second, func() bool { return recv.count() >= 2 && drained() })

	kill("inside the window")
	if m := monitor(); m.State != "maintenance" {
		t.Fatalf("after the restart inside the window: %s, want maintenance", m.State)
	}
	waitFor(t, "the real state confirmed again", 30*time.Second, func() bool { return monitor().Real == "down" })
	if incs := incidents(t, s, token); len(incs) != 0 {
		t.Fatalf("incidents during the window: %+v", incs)
	}

	// End the window with the monitor down, and kill while the first resulting notification is
	// at the receiver, unanswered.
	before, _ := recv.snapshot()
	release := recv.holdNext()
	ended := time.Now()
	cli("end", "1")
	var held string
	select {
	case held = <-recv.held:
	case <-time.After(60 * time.Second):
		t.Fatal("no notification after the window ended")
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.wait()
	atKill, _ := recv.snapshot()
	release()
	t.Logf("kill -9 while sending %s", held)
	s = startServe(t, dir, nil)
	waitFor(t, "the outbox drained", 60*time.Second, func() bool { return len(outbox(t, s, token)) >= 4 && drained() })

	incs := incidents(t, s, token)
	if len(incs) != 1 || incs[0].Status == "resolved" {
		t.Fatalf("incidents %+v, want one open: the monitor was still down when the window ended", incs)
	}
	code, body := s.get(t, "/api/v1/monitors/db-health/transitions?from=1h", token)
	var ts []struct{ From, To, Cause string }
	if code != 200 || json.Unmarshal([]byte(body), &ts) != nil {
		t.Fatalf("transitions: %d %s", code, body)
	}
	var seq []string
	for _, tr := range ts {
		seq = append(seq, tr.From+">"+tr.To)
	}
	if got := strings.Join(seq, " "); got != "unknown>up up>maintenance maintenance>down" {
		t.Errorf("transitions %s; want up, maintenance, then down when the window ended", got)
	}
	var inc struct {
		StartedAt time.Time `json:"started_at"`
	}
	if code, body := s.get(t, fmt.Sprintf("/api/v1/incidents/%d", incs[0].ID), token); code != 200 || json.Unmarshal([]byte(body), &inc) != nil || inc.StartedAt.Before(ended.Add(-time.Second)) {
		t.Errorf("the incident starts at %s, before the window ended (%s): %s", inc.StartedAt, ended, body)
	}

	rows := outbox(t, s, token)
	want := map[string]bool{
		"maintenance/api/1/maintenance_started/hook": false, "maintenance/api/1/maintenance_ended/hook": false,
		"maintenance/api/2/maintenance_scheduled/hook": false, fmt.Sprintf("incident/%d/step/0/hook/down", incs[0].ID): false,
	}
	for _, r := range rows {
		k := r.Key
		if strings.HasPrefix(k, "maintenance/") { // drop the start time, which the test does not know
			parts := strings.Split(k, "/")
			k = strings.Join(append(parts[:3:3], parts[4:]...), "/")
		}
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected notification %s", r.Key)
		}
		want[k] = true
		if r.State != "sent" {
			t.Errorf("%s is %s: %s", r.Key, r.State, r.LastError)
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("%s is missing", k)
		}
	}
	got, bad := recv.snapshot()
	for _, b := range bad {
		t.Errorf("malformed request: %s", b)
	}
	for _, r := range rows {
		// A notification that reached the receiver between the window's end and the kill may
		// have been in flight in any delivery lane (the held one, or another lane's whose "sent"
		// was not yet stored): it may arrive once more. Every other one exactly once.
		limit := 1
		if r.Key == held || atKill[r.Key] > before[r.Key] {
			limit = 2
		}
		if n := got[r.Key]; n < 1 || n > limit {
			t.Errorf("%s reached the receiver %d times", r.Key, n)
		}
	}
}
