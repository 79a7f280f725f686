package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/incident"
)

// hookReceiver is a webhook receiver that remembers the Idempotency-Key of every request it
// got, answers slowly so that the outbox is mid-drain most of the time, and can hold a request
// unanswered so that the test kills the sender at the worst moment: the notification arrived,
// and the sender has not heard so, let alone recorded it as sent.
type hookReceiver struct {
	mu      sync.Mutex
	keys    []string       // every request's key, repeats included
	byKey   map[string]int // how often each key arrived
	bad     []string       // requests that do not look like a notification
	armed   bool           // hold the next request
	release chan struct{}  // closed to answer the held request
	held    chan string    // the key of the held request
}

func newHookReceiver() *hookReceiver {
	return &hookReceiver{byKey: map[string]int{}, held: make(chan string, 1)}
}

// holdNext makes the next request wait, unanswered, for the function it returns.
func (h *hookReceiver) holdNext() (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = true
	c := make(chan struct{})
	h.release = c
	return sync.OnceFunc(func() { close(c) })
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	var ev struct {
		ID    string `json:"id"`
		Event string `json:"event"`
	}
	h.mu.Lock()
	switch {
	case err != nil:
		h.bad = append(h.bad, fmt.Sprintf("%s: reading the body: %v", key, err))
	case json.Unmarshal(body, &ev) != nil || ev.ID != key || key == "" || r.Header.Get("X-Upkeep-Event") != ev.Event:
		h.bad = append(h.bad, fmt.Sprintf("key %q, event header %q: %.200s", key, r.Header.Get("X-Upkeep-Event"), body))
	}
	// Seen as soon as it arrived: a crash from here on, before the sender recorded it as sent,
	// is the documented at-least-once window.
	h.keys = append(h.keys, key)
	h.byKey[key]++
	if h.armed {
		h.armed = false
		release := h.release
		h.mu.Unlock()
		h.held <- key
		<-release
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mu.Unlock()
	time.Sleep(time.Duration(50+rand.IntN(151)) * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.keys)
}

func (h *hookReceiver) snapshot() (map[string]int, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[string]int, len(h.byKey))
	for k, v := range h.byKey {
		m[k] = v
	}
	return m, slices.Clone(h.bad)
}

// sentLine is the log line of a notification handed to its channel (text log format).
var sentLine = regexp.MustCompile(`msg="notification sent".* key=(\S+)`)

type outboxRow struct {
	Key       string `json:"key"`
	Incident  int64  `json:"incident"`
	Channel   string `json:"channel"`
	Event     string `json:"event"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// outbox reads the whole outbox through the API (it holds far fewer than the page limit here).
// killHeld holds the next notification unanswered at recv, runs then (what makes the server
// send it), kills the server with SIGKILL while it waits for the answer, and returns the held
// key. The caller starts the next server.
func killHeld(t *testing.T, s *server, recv *hookReceiver, what string, then func()) string {
	t.Helper()
	release := recv.holdNext()
	defer release()
	then()
	var key string
	select {
	case key = <-recv.held:
	case <-time.After(60 * time.Second):
		t.Fatalf("no notification arrived to hold %s", what)
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.wait()
	t.Logf("kill -9 %s, holding %s; the receiver had %d requests", what, key, recv.count())
	return key
}

// outboxDrained reports whether no notification in the outbox is pending.
func outboxDrained(t *testing.T, s *server, token string) bool {
	t.Helper()
	for _, r := range outbox(t, s, token) {
		if r.State == "pending" {
			return false
		}
	}
	return true
}

func outbox(t *testing.T, s *server, token string) []outboxRow {
	t.Helper()
	code, body := s.get(t, "/api/v1/notifications?limit=1000", token)
	if code != http.StatusOK {
		t.Fatalf("/api/v1/notifications: %d %s", code, body)
	}
	var rows []outboxRow
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(rows) >= 1000 {
		t.Fatalf("the outbox holds %d notifications: more than one page; make the test smaller", len(rows))
	}
	return rows
}

type incidentBrief struct {
	ID       int64    `json:"id"`
	Status   string   `json:"status"`
	Services []string `json:"services"`
}

func incidents(t *testing.T, s *server, token string) []incidentBrief {
	t.Helper()
	code, body := s.get(t, "/api/v1/incidents", token)
	if code != http.StatusOK {
		t.Fatalf("/api/v1/incidents: %d %s", code, body)
	}
	var out []incidentBrief
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return out
}

// TestOutboxKill9WhileDrainingLosesNothing runs the real binary through an outage of several
// services whose escalation pages three webhook channels in four steps, and kills it with
// SIGKILL three times while the slow receiver is in the middle of a request (the worst moment:
// sent, not yet recorded as sent). After the restarts and the recovery, every notification the
// outbox holds reached the receiver, none is pending or failed, the outbox holds exactly the
// notifications the escalation calls for, and a key arrived twice only within the documented
// at-least-once window: at most once more per kill.
func TestOutboxKill9WhileDrainingLosesNothing(t *testing.T) {
	const (
		nServices = 6
		nSteps    = 4
		kills     = 3
	)
	channels := []string{"hook-a", "hook-b", "hook-c"}

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

	var pol strings.Builder
	pol.WriteString("services:\n")
	for i := range nServices {
		fmt.Fprintf(&pol, "  - name: svc%d\n", i)
	}
	pol.WriteString("monitors:\n")
	for i := range nServices {
		fmt.Fprintf(&pol, "  - name: mon%d\n    service: svc%d\n    every: 1s\n    timeout: 900ms\n    down_after: 1\n    http: {url: \"%s/svc%d\"}\n",
			i, i, target.URL, i)
	}
	pol.WriteString("channels:\n")
	for _, c := range channels {
		fmt.Fprintf(&pol, "  %s:\n    webhook: {url: \"%s/%s\"}\n", c, hooks.URL, c)
	}
	pol.WriteString("escalations:\n  - name: default\n    steps:\n")
	for k := range nSteps {
		fmt.Fprintf(&pol, "      - {after: %ds, notify: [%s]}\n", 2*k, strings.Join(channels, ", "))
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), pol.String())
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))

	s := startServe(t, dir, nil)
	all := []*server{s} // every process, for its log
	for i := range nServices {
		waitFor(t, fmt.Sprintf("mon%d up", i), 30*time.Second, func() bool {
			st, _ := monitorState(t, s, token, fmt.Sprintf("mon%d", i))
			return st == "up"
		})
	}
	failing.Store(true)

	// The notifications the escalation calls for, once every incident ran all its steps.
	allStepsRun := func(rows []outboxRow, incs []incidentBrief) bool {
		have := map[string]bool{}
		for _, r := range rows {
			have[r.Key] = true
		}
		for _, inc := range incs {
			for k := range nSteps {
				for _, c := range channels {
					if !have[fmt.Sprintf("incident/%d/step/%d/%s/down", inc.ID, k, c)] {
						return false
					}
				}
			}
		}
		return len(incs) == nServices
	}

	noPending := func() bool { return outboxDrained(t, s, token) }
	var heldKeys []string

	// Twice while paging: after the receiver saw a few notifications of the first step, and
	// after the restart once the second step is under way.
	waitFor(t, "the first notifications", 60*time.Second, func() bool { return recv.count() >= 3 })
	heldKeys = append(heldKeys, killHeld(t, s, recv, "while paging", func() {}))
	s = startServe(t, dir, nil)
	all = append(all, s)
	seen := recv.count()
	waitFor(t, "notifications of a later step after the restart", 60*time.Second, func() bool {
		got, _ := recv.snapshot()
		for k := range got {
			if strings.Contains(k, "/step/1/") {
				return recv.count() >= seen+3
			}
		}
		return false
	})
	heldKeys = append(heldKeys, killHeld(t, s, recv, "while paging, after a restart", func() {}))

	// Let every step run and the outbox drain, then recover: kill during the recovery notices.
	s = startServe(t, dir, nil)
	all = append(all, s)
	waitFor(t, "every escalation step enqueued and sent", 90*time.Second, func() bool {
		return allStepsRun(outbox(t, s, token), incidents(t, s, token)) && noPending()
	})
	heldKeys = append(heldKeys, killHeld(t, s, recv, "while sending recovery notices", func() { failing.Store(false) }))

	// Restart and let everything settle: every incident resolved, the outbox drained.
	s = startServe(t, dir, nil)
	all = append(all, s)
	waitFor(t, "every incident resolved", 60*time.Second, func() bool {
		incs := incidents(t, s, token)
		for _, inc := range incs {
			if inc.Status != "resolved" {
				return false
			}
		}
		return len(incs) > 0
	})
	waitFor(t, "the outbox drained", 60*time.Second, noPending)
	rows := outbox(t, s, token)

	// Exactly one incident per service outage, each with every step and a recovery notice to
	// every channel paged: nothing lost before it reached the outbox, nothing enqueued twice.
	incs := incidents(t, s, token)
	if len(incs) != nServices {
		t.Errorf("%d incidents after %d kills, want one per service (%d): %+v", len(incs), kills, nServices, incs)
	}
	want := map[string]bool{}
	for _, inc := range incs {
		for _, c := range channels {
			for k := range nSteps {
				want[fmt.Sprintf("incident/%d/step/%d/%s/down", inc.ID, k, c)] = true
			}
			want[fmt.Sprintf("incident/%d/recovered/%s", inc.ID, c)] = true
		}
	}
	held := map[string]bool{}
	for _, r := range rows {
		if held[r.Key] {
			t.Errorf("the outbox holds %s twice", r.Key)
		}
		held[r.Key] = true
		if r.State != "sent" {
			t.Errorf("%s is %s after %d attempts: %s", r.Key, r.State, r.Attempts, r.LastError)
		}
		if !want[r.Key] {
			t.Errorf("the outbox holds %s, which the escalation does not call for", r.Key)
		}
	}
	for k := range want {
		if !held[k] {
			t.Errorf("%s is missing from the outbox", k)
		}
	}

	// Every notification reached the receiver; repeats only within the at-least-once window.
	got, bad := recv.snapshot()
	for _, b := range bad {
		t.Errorf("a malformed notification: %s", b)
	}
	duplicates := 0
	for k, n := range got {
		if !held[k] {
			t.Errorf("the receiver got %s, which the outbox does not hold", k)
		}
		if n > 1+kills {
			t.Errorf("%s arrived %d times, more than once plus once per kill (%d)", k, n, kills)
		}
		duplicates += n - 1
	}
	// A held notification was never answered, so it stayed pending and was sent again.
	for _, k := range heldKeys {
		if got[k] < 2 {
			t.Errorf("%s was held unanswered at a kill but arrived %d time(s): it was not sent again", k, got[k])
		}
	}
	for k := range held {
		if got[k] == 0 {
			t.Errorf("%s is marked sent but never reached the receiver", k)
		}
	}
	// Within one process, no notification is sent twice: repeats come from kills only.
	for i, sv := range all {
		sentBy := map[string]int{}
		for _, line := range strings.Split(sv.stderr.String(), "\n") {
			if m := sentLine.FindStringSubmatch(line); m != nil {
				sentBy[m[1]]++
			}
		}
		for k, n := range sentBy {
			if n > 1 {
				t.Errorf("process %d sent %s %d times without a crash in between", i+1, k, n)
			}
		}
		if len(sentBy) == 0 && i == len(all)-1 {
			t.Errorf("the last process logged no \"notification sent\": the log format changed?\n%s", sv.stderr)
		}
	}
	// Each of a channel's lanes has at most one notification between send and mark at a kill.
	if duplicates > kills*len(channels)*incident.DefaultParallel {
		t.Errorf("%d repeated deliveries over %d kills and %d channels of %d lanes: more than the at-least-once window allows",
			duplicates, kills, len(channels), incident.DefaultParallel)
	}
	t.Logf("%d notifications, %d deliveries, %d repeats (at-least-once window) over %d kills", len(held), recv.count(), duplicates, kills)
}
