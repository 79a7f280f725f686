package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestApplyHeartbeatsUUIDs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	const fixed = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"

	hbs, err := db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "a"}, {Monitor: "b", UUID: fixed}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	a := hbs[0].UUID
	if !uuidRE.MatchString(a) || hbs[1].UUID != fixed || hbs[0].Monitor != "a" || !hbs[0].Since.Equal(t0) {
		t.Fatalf("first apply: %+v", hbs)
	}

	// Reapplying keeps the generated UUID and since; so does reopening the store.
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "b", UUID: fixed}, {Monitor: "a"}}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if hbs[1].UUID != a || hbs[0].UUID != fixed || !hbs[1].Since.Equal(t0) {
		t.Fatalf("second apply: %+v", hbs)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "a"}, {Monitor: "b", UUID: fixed}}, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if hbs[0].UUID != a || hbs[1].UUID != fixed {
		t.Fatalf("after reopening: %+v", hbs)
	}

	// The policy swaps the UUIDs: each gets what the policy says, without a conflict.
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "a", UUID: fixed}, {Monitor: "b", UUID: a}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if hbs[0].UUID != fixed || hbs[1].UUID != a {
		t.Fatalf("swap: %+v", hbs)
	}

	// b leaves the policy: it keeps its UUID for when it comes back, unless another takes it.
	if _, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "a", UUID: fixed}}, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "a", UUID: fixed}, {Monitor: "b"}}, t0.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if hbs[1].UUID != a || !hbs[1].Since.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("b back: %+v (since restarts when it becomes active again)", hbs)
	}
	// a drops its policy UUID: it keeps it.
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "a"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if hbs[0].UUID != fixed {
		t.Fatalf("a without a policy UUID: %+v", hbs)
	}
	// c takes b's UUID while b is out of the policy; b gets a new one when it returns.
	if _, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "c", UUID: a}}, t0); err != nil {
		t.Fatal(err)
	}
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "b"}, {Monitor: "c", UUID: a}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if hbs[0].UUID == a || !uuidRE.MatchString(hbs[0].UUID) || hbs[1].UUID != a {
		t.Fatalf("b after c took its UUID: %+v", hbs)
	}
	// A spec without a policy UUID whose stored UUID another spec claims gets a new one.
	hbs, err = db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "c"}, {Monitor: "b", UUID: a}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if hbs[0].UUID == a || hbs[1].UUID != a {
		t.Fatalf("claimed: %+v", hbs)
	}

	for _, bad := range [][]HeartbeatSpec{
		{{Monitor: ""}},
		{{Monitor: "x", UUID: "short"}},
		{{Monitor: "x", UUID: fixed}, {Monitor: "y", UUID: fixed}},
	} {
		if _, err := db.ApplyHeartbeats(t.Context(), bad, t0); err == nil {
			t.Errorf("ApplyHeartbeats(%+v) succeeded", bad)
		}
	}
}

func TestPings(t *testing.T) {
	db := openTestDB(t)
	t0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	if err := db.AddPing(t.Context(), "nope", Ping{Time: t0, Kind: PingSuccess}); !errors.Is(err, ErrUnknownMonitor) {
		t.Fatalf("ping of an unknown monitor: %v", err)
	}
	if _, err := db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "job"}, {Monitor: "other"}}, t0); err != nil {
		t.Fatal(err)
	}
	h, err := db.HeartbeatHistory(t.Context(), "job", 10)
	if err != nil || !h.Last.IsZero() || h.Completion != nil || h.Start != nil || len(h.Unpaired) != 0 {
		t.Fatalf("empty history = %+v, %v", h, err)
	}

	body := bytes.Repeat([]byte("x"), 100)
	pings := []Ping{
		{Time: t0, Kind: PingStart, RID: "r1", Method: "GET", RemoteAddr: "127.0.0.1", UserAgent: "curl"},
		{Time: t0.Add(time.Second), Kind: PingStart, Method: "HEAD", RemoteAddr: "::1"},
		{Time: t0.Add(time.Minute), Kind: PingExit, ExitStatus: 3, RID: "r1", StartedAt: t0, Method: "POST", Body: body, BodySize: 200, Truncated: true},
		{Time: t0.Add(2 * time.Minute), Kind: PingLog, Method: "POST", Body: []byte("hello"), BodySize: 5},
	}
	for _, p := range pings {
		if err := db.AddPing(t.Context(), "job", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddPing(t.Context(), "job", pings[0]); err == nil {
		t.Error("a second ping at the same millisecond was stored")
	}
	got, err := db.Pings(t.Context(), "job", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Kind != PingLog || got[3].Kind != PingStart {
		t.Fatalf("pings = %+v", got)
	}
	exit := got[1]
	if exit.ExitStatus != 3 || exit.RID != "r1" || exit.Duration() != time.Minute || !exit.Completion() || exit.OK() ||
		exit.BodySize != 200 || !exit.Truncated || exit.Body != nil || exit.Method != "POST" {
		t.Errorf("exit ping = %+v", exit)
	}
	if got[3].RemoteAddr != "127.0.0.1" || got[3].UserAgent != "curl" || got[3].Duration() != 0 {
		t.Errorf("start ping = %+v", got[3])
	}
	if b, err := db.PingBody(t.Context(), "job", exit.Time); err != nil || !bytes.Equal(b, body) {
		t.Errorf("PingBody = %q, %v", b, err)
	}
	if b, err := db.PingBody(t.Context(), "job", got[2].Time); err != nil || b != nil {
		t.Errorf("PingBody without a body = %q, %v", b, err)
	}
	if _, err := db.PingBody(t.Context(), "job", t0.Add(time.Hour)); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("PingBody of no ping: %v", err)
	}
	if got, err := db.Pings(t.Context(), "job", 1); err != nil || len(got) != 1 {
		t.Errorf("Pings limit 1 = %d, %v", len(got), err)
	}
	if got, err := db.Pings(t.Context(), "unknown", 10); err != nil || len(got) != 0 {
		t.Errorf("Pings of an unknown monitor = %v, %v", got, err)
	}

	h, err = db.HeartbeatHistory(t.Context(), "job", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Last.Equal(t0.Add(2*time.Minute)) || h.Completion == nil || h.Completion.ExitStatus != 3 ||
		h.Start == nil || !h.Start.Time.Equal(t0.Add(time.Second)) || len(h.Unpaired) != 1 || !h.Unpaired[0].Time.Equal(t0.Add(time.Second)) {
		t.Errorf("history = %+v", h)
	}
	if h, err := db.HeartbeatHistory(t.Context(), "unknown", 10); err != nil || !h.Last.IsZero() {
		t.Errorf("history of an unknown monitor = %+v, %v", h, err)
	}
	if other, err := db.Pings(t.Context(), "other", 10); err != nil || len(other) != 0 {
		t.Errorf("pings of another monitor = %v, %v", other, err)
	}
}

func TestPingsPruned(t *testing.T) {
	db := openTestDB(t)
	t0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	if _, err := db.ApplyHeartbeats(t.Context(), []HeartbeatSpec{{Monitor: "job"}}, t0); err != nil {
		t.Fatal(err)
	}
	// One completion and one start, then many log pings: those two survive pruning.
	if err := db.AddPing(t.Context(), "job", Ping{Time: t0, Kind: PingSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddPing(t.Context(), "job", Ping{Time: t0.Add(time.Millisecond), Kind: PingStart}); err != nil {
		t.Fatal(err)
	}
	const n = keepPings + 2*pruneEvery
	for i := range n {
		if err := db.AddPing(t.Context(), "job", Ping{Time: t0.Add(time.Duration(2+i) * time.Millisecond), Kind: PingLog}); err != nil {
			t.Fatal(err)
		}
	}
	var count int
	if err := db.Reader().QueryRow("SELECT count(*) FROM pings").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count > keepPings+pruneEvery+2 || count < keepPings {
		t.Errorf("%d pings kept, want about %d", count, keepPings)
	}
	h, err := db.HeartbeatHistory(t.Context(), "job", 10)
	if err != nil || h.Completion == nil || !h.Completion.Time.Equal(t0) || h.Start == nil {
		t.Errorf("history after pruning = %+v, %v", h, err)
	}
}
