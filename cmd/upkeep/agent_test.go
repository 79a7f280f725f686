package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// agentProxy stands between the agent and the server: it forwards batches, or plays a server
// that is down (503), or forwards a batch and loses the answer (502), as the test says.
type agentProxy struct {
	to   string
	mode atomic.Value // "up", "down", "lose"

	mu      sync.Mutex
	answers []map[string]any // the server's answers that reached the agent
	lost    int
}

func (p *agentProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode := p.mode.Load().(string)
	if mode == "down" && r.URL.Path == "/api/v1/results" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequest(r.Method, p.to+r.URL.Path, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if r.URL.Path == "/api/v1/results" {
		p.mu.Lock()
		defer p.mu.Unlock()
		if mode == "lose" {
			p.lost++
			http.Error(w, "lost", http.StatusBadGateway)
			return
		}
		var a map[string]any
		_ = json.Unmarshal(answer, &a)
		p.answers = append(p.answers, a)
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func startAgent(t *testing.T, server, token, spool string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(upkeepBin, "agent", "--server", server, "--location", "eu-west", "--spool", spool, "--batch-every", "300ms")
	cmd.Env = append(os.Environ(), "UPKEEP_TOKEN="+token)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	return cmd, stderr
}

// spooled returns the results (monitor and time) of the batches in the spool.
func spooled(t *testing.T, spool string) (batches int, results map[string]bool) {
	t.Helper()
	results = map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(spool, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // sent and removed meanwhile
		}
		var batch struct {
			Results []struct{ Monitor, Time string }
		}
		if err := json.Unmarshal(b, &batch); err != nil {
			t.Fatalf("%s is not a whole batch: %v", f, err)
		}
		for _, r := range batch.Results {
			results[r.Monitor+" "+r.Time] = true
		}
	}
	return len(files), results
}

// storedFrom returns the results the server holds from eu-west, as "monitor time" counts.
func storedFrom(t *testing.T, s *server, token string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range []string{"web", "api"} {
		code, body := s.get(t, "/api/v1/monitors/"+m+"/results?location=eu-west&limit=10000", token)
		if code != http.StatusOK {
			t.Fatalf("results of %s: %d %s", m, code, body)
		}
		var rs []struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal([]byte(body), &rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out[m+" "+r.Time.UTC().Format(time.RFC3339Nano)]++
		}
	}
	return out
}

// TestAgentKill9 runs the real binary as server and agent: batches spooled while the server is
// unreachable survive a kill -9 of the agent and reach the server after its restart, and a
// batch whose answer was lost is sent again without storing anything twice.
func TestAgentKill9(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/api") {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer target.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), fmt.Sprintf(`agents: [{name: eu-west}]
monitors:
  - {name: web, every: 1s, timeout: 900ms, http: {url: "%[1]s/web"}}
  - {name: api, every: 1s, timeout: 900ms, http: {url: "%[1]s/api"}}
`, target.URL))
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)
	proxy := &agentProxy{to: s.url}
	proxy.mode.Store("up")
	front := httptest.NewServer(proxy)
	defer front.Close()
	spool := filepath.Join(t.TempDir(), "spool")

	agent, agentLog := startAgent(t, front.URL, token, spool)
	waitFor(t, "results from eu-west", 60*time.Second, func() bool { return len(storedFrom(t, s, token)) >= 4 })

	// A lost answer: the server stored the batch, the agent does not know and sends it again.
	proxy.mode.Store("lose")
	waitFor(t, "an answer lost", 30*time.Second, func() bool { proxy.mu.Lock(); defer proxy.mu.Unlock(); return proxy.lost > 0 })

	// The server is unreachable: batches pile up in the spool; then the agent is killed.
	proxy.mode.Store("down")
	waitFor(t, "batches in the spool", 30*time.Second, func() bool { n, _ := spooled(t, spool); return n >= 3 })
	if err := agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	_, held := spooled(t, spool)
	if len(held) == 0 {
		t.Fatalf("the spool holds no results after the kill\n%s", agentLog)
	}

	// Restarted, with the server reachable: the spool drains into the server.
	proxy.mode.Store("up")
	_, agentLog = startAgent(t, front.URL, token, spool)
	waitFor(t, "the spooled results stored", 60*time.Second, func() bool {
		stored := storedFrom(t, s, token)
		for k := range held {
			if stored[k] == 0 {
				return false
			}
		}
		return true
	})
	refused, _ := filepath.Glob(filepath.Join(spool, "*.refused"))
	if len(refused) > 0 {
		t.Errorf("batches refused: %v\n%s", refused, agentLog)
	}
	for k, n := range storedFrom(t, s, token) {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	dup := false
	for _, a := range proxy.answers {
		if d, _ := a["duplicate"].(float64); d > 0 {
			dup = true
		}
	}
	if !dup {
		t.Errorf("no answer counted duplicates, though an answer was lost: %v", proxy.answers)
	}
}
