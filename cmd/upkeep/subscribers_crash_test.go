package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSubscriberNoticesKill9 kills the real binary with SIGKILL twice while it sends notices
// to webhook subscribers (each time while a request is held unanswered at the receiver: sent,
// not yet recorded as sent). After the restarts every notice the fan-out calls for (three
// incident updates and a maintenance start, for every subscriber) is in the outbox once, was
// sent, and arrived; a notice arrived twice only if it was the one held at a kill.
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

	killHeld := func(what string) string {
		t.Helper()
		release := recv.holdNext()
		defer release()
		var key string
		select {
		case key = <-recv.held:
		case <-time.After(60 * time.Second):
			t.Fatalf("no notice arrived to hold %s", what)
		}
		if err := s.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-s.wait()
		t.Logf("kill -9 %s, holding %s; the receiver had %d requests", what, key, recv.count())
		return key
	}
	waitFor(t, "the first notices", 60*time.Second, func() bool { return recv.count() >= 5 })
	held := []string{killHeld("while sending")}
	s = startServe(t, dir, nil)
	seen := recv.count()
	waitFor(t, "more notices after the restart", 60*time.Second, func() bool { return recv.count() >= seen+5 })
	held = append(held, killHeld("while sending, after a restart"))
	s = startServe(t, dir, nil)

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
	wasHeld := map[string]bool{}
	for _, k := range held {
		wasHeld[k] = true
	}
	perSubscriber := map[string]int{}
	for k := range inOutbox {
		if !strings.HasPrefix(k, "subscriber/") {
			continue
		}
		perSubscriber[strings.SplitN(k, "/", 3)[1]]++
		switch n := got[k]; {
		case n == 0:
			t.Errorf("%s never arrived", k)
		case n > 1 && !(wasHeld[k] && n == 2):
			t.Errorf("%s arrived %d times", k, n)
		}
	}
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
