package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/incident"
)

// TestSubscriberNoticesKill9 kills the real binary with SIGKILL twice while it sends notices
// to webhook subscribers (each time while a request is held unanswered at the receiver: sent,
// not yet recorded as sent). After the restarts every notice the fan-out calls for (three
// incident updates and a maintenance start, for every subscriber) is in the outbox once, was
// sent, and arrived; repeats stay within the at-least-once window (a notice in flight at a kill).
func TestSubscriberNoticesKill9(t *testing.T) {
	const nSubs = 25
	recv := newHookReceiver()
	hooks := httptest.NewServer(recv)
	defer hooks.Close()
	mb := startMailbox(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), subscriptionPolicy(mb))
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)
	all := []*server{s} // every process, for its log

	for i := range nSubs {
		if code := apiJSON(t, s, http.MethodPost, "/api/v1/subscribers", token, map[string]any{"url": fmt.Sprintf("%s/s%d", hooks.URL, i)}, nil); code != http.StatusCreated {
			t.Fatalf("create subscriber %d: %d", i, code)
		}
	}
	var inc struct {
		ID int64 `json:"id"`
	}
	if code := apiJSON(t, s, http.MethodPost, "/api/v1/incidents", token, map[string]any{
		"title": "Outage", "services": []string{"api"}, "status": "investigating", "impact": "major", "message": "Looking.",
	}, &inc); code >= 300 {
		t.Fatalf("open incident: %d", code)
	}
	for _, st := range []string{"identified", "resolved"} {
		if code := apiJSON(t, s, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), token,
			map[string]any{"status": st, "message": "Now " + st + "."}, nil); code >= 300 {
			t.Fatalf("update: %d", code)
		}
	}
	if code := apiJSON(t, s, http.MethodPost, "/api/v1/maintenance", token, map[string]any{
		"title": "Database upgrade", "services": []string{"web"}, "duration": "1h",
	}, nil); code >= 300 {
		t.Fatalf("start maintenance: %d", code)
	}

	waitFor(t, "the first notices", 60*time.Second, func() bool { return recv.count() >= 5 })
	held := []string{killHeld(t, s, recv, "while sending", func() {})}
	s = startServe(t, dir, nil)
	all = append(all, s)
	seen := recv.count()
	waitFor(t, "more notices after the restart", 60*time.Second, func() bool { return recv.count() >= seen+5 })
	held = append(held, killHeld(t, s, recv, "while sending, after a restart", func() {}))
	s = startServe(t, dir, nil)
	all = append(all, s)

	const perSub = 4 // incident opened, updated (identified), resolved; maintenance started
	waitFor(t, "every notice sent", 120*time.Second, func() bool {
		n := 0
		for _, r := range outbox(t, s, token) {
			if r.Channel == "@subscribers-webhook" && r.State == "sent" {
				n++
			}
		}
		return n == nSubs*perSub
	})
	rows := outbox(t, s, token)
	inOutbox := map[string]bool{}
	for _, r := range rows {
		if inOutbox[r.Key] {
			t.Errorf("the outbox holds %s twice", r.Key)
		}
		inOutbox[r.Key] = true
		if r.State != "sent" {
			t.Errorf("%s is %s: %s", r.Key, r.State, r.LastError)
		}
	}
	got, bad := recv.snapshot()
	for _, b := range bad {
		t.Errorf("malformed notice: %s", b)
	}
	perSubscriber := map[string]int{}
	duplicates := 0
	for k := range inOutbox {
		if !strings.HasPrefix(k, "subscriber/") {
			continue
		}
		perSubscriber[strings.SplitN(k, "/", 3)[1]]++
		switch n := got[k]; {
		case n == 0:
			t.Errorf("%s never arrived", k)
		case n > 1+len(held):
			t.Errorf("%s arrived %d times, more than once plus once per kill", k, n)
		default:
			duplicates += n - 1
		}
	}
	// A held notice was never answered, so it stayed pending and was sent again.
	for _, k := range held {
		if got[k] < 2 {
			t.Errorf("%s was held unanswered at a kill but arrived %d time(s)", k, got[k])
		}
	}
	// Repeats only within the at-least-once window: at a kill, each lane of the channel has at
	// most one notice between its send and its mark; within one process, none is sent twice.
	if duplicates > len(held)*incident.DefaultParallel {
		t.Errorf("%d repeated deliveries over %d kills of %d lanes", duplicates, len(held), incident.DefaultParallel)
	}
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
	}
	t.Logf("%d notices, %d deliveries, %d repeats (at-least-once window) over %d kills", len(inOutbox), recv.count(), duplicates, len(held))
	if len(perSubscriber) != nSubs {
		t.Errorf("notices for %d subscribers, want %d", len(perSubscriber), nSubs)
	}
	for id, n := range perSubscriber {
		if n != perSub {
			t.Errorf("subscriber %s has %d notices, want %d", id, n, perSub)
		}
	}
	for k := range got {
		if !inOutbox[k] {
			t.Errorf("%s arrived but is not in the outbox", k)
		}
	}
}
