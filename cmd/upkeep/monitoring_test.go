package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/store/sqlite"
)

const heartbeatUUID = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"

func monitorState(t *testing.T, s *server, token, name string) (state string, lastErr string) {
	t.Helper()
	code, body := s.get(t, "/api/v1/monitors/"+name, token)
	if code != http.StatusOK {
		t.Fatalf("monitor %s: %d %s", name, code, body)
	}
	var m struct {
		State      string `json:"state"`
		LastResult *struct {
			Error string `json:"error"`
		} `json:"last_result"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m.LastResult != nil {
		lastErr = m.LastResult.Error
	}
	return m.State, lastErr
}

// TestMonitoringEndToEnd runs the real binary against a real HTTP target and a heartbeat job:
// confirmation, transitions with their cause, pings, and history kept across a kill -9.
func TestMonitoringEndToEnd(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("all good"))
	}))
	defer target.Close()

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), fmt.Sprintf(`services:
  - name: shop
monitors:
  - name: shop-home
    service: shop
    every: 1s
    timeout: 900ms
    down_after: 2 failures
    http: {url: "%s/", body_contains: "good"}
  - name: nightly-export
    service: shop
    heartbeat: {period: 1h, grace: 10m, uuid: %s}
`, target.URL, heartbeatUUID))
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)

	waitFor(t, "shop-home up", 30*time.Second, func() bool { st, _ := monitorState(t, s, token, "shop-home"); return st == "up" })
	failing.Store(true)
	waitFor(t, "shop-home down", 30*time.Second, func() bool { st, _ := monitorState(t, s, token, "shop-home"); return st == "down" })
	_, lastErr := monitorState(t, s, token, "shop-home")
	if !strings.Contains(lastErr, "500") {
		t.Errorf("last error %q does not name the HTTP status", lastErr)
	}

	// The job pings; the heartbeat goes up, and its ping URL is shown behind the token.
	if code, body := s.do(t, http.MethodPost, "/ping/"+heartbeatUUID, "", nil); code != http.StatusOK || strings.TrimSpace(body) != "OK" {
		t.Fatalf("ping: %d %q", code, body)
	}
	waitFor(t, "heartbeat up", 20*time.Second, func() bool { st, _ := monitorState(t, s, token, "nightly-export"); return st == "up" })
	if _, body := s.get(t, "/api/v1/monitors/nightly-export", token); !strings.Contains(body, "/ping/"+heartbeatUUID) {
		t.Errorf("the heartbeat's ping URL is not shown:\n%s", body)
	}
	if code, _ := s.do(t, http.MethodGet, "/ping/00000000-0000-4000-8000-000000000000", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown uuid: %d", code)
	}

	// kill -9, restart: the transitions are still there, and the state carries on.
	_ = s.cmd.Process.Kill()
	<-s.wait()
	s = startServe(t, dir, nil)
	_, body := s.get(t, "/api/v1/monitors/shop-home/transitions", token)
	var ts []struct{ From, To, Cause string }
	if err := json.Unmarshal([]byte(body), &ts); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(ts) < 2 || ts[0].To != "up" || ts[1].From != "up" || ts[1].To != "down" || !strings.Contains(ts[1].Cause, "500") {
		t.Fatalf("transitions after kill -9: %+v", ts)
	}
	failing.Store(false)
	waitFor(t, "shop-home up again", 30*time.Second, func() bool { st, _ := monitorState(t, s, token, "shop-home"); return st == "up" })

	// The metrics show the monitor.
	if code, body := s.get(t, "/metrics", ""); code != http.StatusOK || !strings.Contains(body, `monitor="shop-home"`) {
		t.Errorf("/metrics: %d, shop-home missing", code)
	}
}

// TestKill9DuringPingsLosesNone: every ping answered OK is in the store after a kill -9.
func TestKill9DuringPingsLosesNone(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), fmt.Sprintf(`monitors:
  - name: job
    heartbeat: {period: 1h, uuid: %s}
`, heartbeatUUID))
	s := startServe(t, dir, nil)

	client := &http.Client{Timeout: 5 * time.Second}
	answered := killDuringBurst(t, s, 8, 400, func(id string) bool {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/ping/"+heartbeatUUID, strings.NewReader("run "+id))
		req.Header.Set("User-Agent", id)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "")

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "upkeep-data"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("opening the store after kill -9: %v", err)
	}
	defer db.Close()
	pings, err := db.Pings(context.Background(), "job", 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, p := range pings {
		stored[p.UserAgent] = true
	}
	if len(answered) > 1000 {
		t.Fatalf("%d answered pings: more than the store keeps per monitor; lower the burst", len(answered))
	}
	missing := 0
	for _, id := range answered {
		if !stored[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d answered pings are missing after kill -9", missing, len(answered))
	}
}
