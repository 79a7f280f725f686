package maintenance_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/maintenance"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// clock is moved by hand; its timers never fire (the tests call Step, as Run does when one
// would).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) NewTimer(time.Duration) engine.Timer { return timer{} }

type timer struct{}

func (timer) C() <-chan time.Time      { return nil }
func (timer) Stop() bool               { return true }
func (timer) Reset(time.Duration) bool { return true }

// coverLog records every change of the cover the scheduler sets.
type coverLog struct {
	mu      sync.Mutex
	cur     map[string]string
	changes []string
}

func (l *coverLog) SetMaintenance(cover map[string]string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if maps.Equal(cover, l.cur) {
		return
	}
	keys := slices.Sorted(maps.Keys(cover))
	l.changes = append(l.changes, fmt.Sprintf("%s %s", at.UTC().Format(time.RFC3339), strings.Join(keys, ",")))
	l.cur = cover
}

func openDB(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func parse(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRecurringWindowRecurs follows a weekly window in Europe/Berlin for two weeks that span the
// end of daylight saving time (25 October 2026): it starts at 03:00 local time both times, which
// is 01:00 UTC before the change and 02:00 UTC after it. The clock jumps from one change to the
// next exactly as Run sleeps, so the times are exact.
func TestRecurringWindowRecurs(t *testing.T) {
	p := parse(t, `
services: [{name: api}, {name: web}]
monitors:
  - {name: api-a, service: api, http: {url: /}}
  - {name: api-b, service: api, http: {url: /}}
  - {name: web, service: web, http: {url: /}}
channels: {ops: {ntfy: {topic: ops}}}
maintenance:
  - {name: patching, title: Sunday patching, services: [api], cron: "0 3 * * 0", duration: 1h, tz: Europe/Berlin, notify: [ops]}
`)
	db := openDB(t, filepath.Join(t.TempDir(), "data"))
	c := &clock{now: time.Date(2026, 10, 14, 0, 0, 0, 0, time.UTC)}
	log := &coverLog{cur: map[string]string{}}
	s := maintenance.New(maintenance.Config{Store: db, Engine: log, Clock: c})
	if err := s.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)
	var wakeups []string
	for range 100 {
		next, err := s.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() || next.After(end) {
			break
		}
		wakeups = append(wakeups, next.Format(time.RFC3339))
		c.Set(next)
	}
	want := []string{
		"2026-10-18T01:00:00Z api-a,api-b", "2026-10-18T02:00:00Z ",
		"2026-10-25T02:00:00Z api-a,api-b", "2026-10-25T03:00:00Z ",
	}
	if !slices.Equal(log.changes, want) {
		t.Errorf("cover changes:\n%s\nwant\n%s", strings.Join(log.changes, "\n"), strings.Join(want, "\n"))
	}
	// It wakes up for the scheduled notice (24h before), the start and the end of each.
	wantWake := []string{"2026-10-17T01:00:00Z", "2026-10-18T01:00:00Z", "2026-10-18T02:00:00Z",
		"2026-10-24T02:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}
	if !slices.Equal(wakeups, wantWake) {
		t.Errorf("wake-ups %v\nwant %v", wakeups, wantWake)
	}
	ns, err := db.Notifications(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, n := range ns {
		keys = append(keys, n.Key)
	}
	slices.Sort(keys)
	wantKeys := []string{
		"maintenance/policy/patching/1792285200/maintenance_ended/ops",
		"maintenance/policy/patching/1792285200/maintenance_scheduled/ops",
		"maintenance/policy/patching/1792285200/maintenance_started/ops",
		"maintenance/policy/patching/1792893600/maintenance_ended/ops",
		"maintenance/policy/patching/1792893600/maintenance_scheduled/ops",
		"maintenance/policy/patching/1792893600/maintenance_started/ops",
	}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("notices:\n%s\nwant\n%s", strings.Join(keys, "\n"), strings.Join(wantKeys, "\n"))
	}
}

// receiver is a channel that counts what it receives, by idempotency key.
type receiver struct {
	mu   sync.Mutex
	keys map[string]int
	evs  []incident.Event
}

func (r *receiver) senders(string) (incident.Sender, bool) {
	return incident.SenderFunc(func(_ context.Context, ev incident.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.keys[ev.Key]++
		r.evs = append(r.evs, ev)
		return nil
	}), true
}

// TestNoticesExactlyOnce schedules a window through the API's entry point and runs Upkeep
// through it with restarts at every stage (one of them after a notice was enqueued but before it
// was sent): the channel receives the scheduled, started and ended notices once each.
func TestNoticesExactlyOnce(t *testing.T) {
	p := parse(t, `
server: {public_url: "https://upkeep.example.com"}
services: [{name: db}]
monitors: [{name: db-ping, service: db, tcp: {address: "localhost:5432"}}]
channels: {ops: {ntfy: {topic: ops}}}
`)
	dir := filepath.Join(t.TempDir(), "data")
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	c := &clock{now: t0}
	rec := &receiver{keys: map[string]int{}}
	type running struct {
		db *sqlite.DB
		s  *maintenance.Scheduler
		d  *incident.Delivery
	}
	start := func() running {
		db := openDB(t, dir)
		m := incident.NewManager(incident.Config{Store: db, Clock: c})
		m.Apply(p)
		d := incident.NewDelivery(m, incident.DeliveryConfig{Senders: rec.senders})
		s := maintenance.New(maintenance.Config{Store: db, Engine: &coverLog{}, Clock: c, Notify: d.Wake})
		if err := s.Apply(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		return running{db, s, d}
	}
	stop := func(r running) {
		if err := r.db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// step runs the scheduler and, unless crash is set, sends what is pending.
	step := func(r running, crash bool) {
		t.Helper()
		if _, err := r.s.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !crash {
			if err := r.d.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}

	r := start()
	before := 30 * time.Minute
	w, err := r.s.Create(t.Context(), maintenance.NewWindow{
		Title: "Database upgrade", Description: "Slow answers for a while.", Services: []string{"db"},
		Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), Notify: []string{"ops"}, NotifyBefore: &before,
	})
	if err != nil {
		t.Fatal(err)
	}
	step(r, false)
	c.Set(t0.Add(30 * time.Minute)) // the scheduled notice falls due
	step(r, false)
	stop(r)
	r = start()
	step(r, false)
	c.Set(t0.Add(time.Hour)) // the window starts; Upkeep dies before sending
	step(r, true)
	stop(r)
	r = start()
	step(r, false)
	step(r, false)
	c.Set(t0.Add(2 * time.Hour))
	step(r, false)
	stop(r)
	c.Set(t0.Add(2*time.Hour + 10*time.Minute))
	r = start()
	step(r, false)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var kinds []string
	for _, ev := range rec.evs {
		kinds = append(kinds, ev.Kind)
	}
	if want := "maintenance_scheduled,maintenance_started,maintenance_ended"; strings.Join(kinds, ",") != want {
		t.Errorf("received %s, want %s", strings.Join(kinds, ","), want)
	}
	for k, n := range rec.keys {
		if n != 1 {
			t.Errorf("%s received %d times", k, n)
		}
		if !strings.HasPrefix(k, "maintenance/api/"+w.ID+"/") {
			t.Errorf("key %s", k)
		}
	}
	ev := rec.evs[0]
	if ev.Incident.Window != w.ID || ev.Incident.Title != "Database upgrade" || ev.Incident.Message != "Slow answers for a while." ||
		!ev.Incident.StartedAt.Equal(t0.Add(time.Hour)) || !ev.Incident.ResolvedAt.Equal(t0.Add(2*time.Hour)) ||
		ev.Incident.URL != "https://upkeep.example.com/api/v1/maintenance/"+w.ID || ev.Incident.AckURL != "" ||
		!slices.Equal(ev.Incident.Services, []string{"db"}) {
		t.Errorf("scheduled notice: %+v", ev.Incident)
	}
}

// TestAdHocWindow creates, lists and ends windows through the scheduler, as the API does.
func TestAdHocWindow(t *testing.T) {
	p := parse(t, `
services: [{name: db}]
monitors: [{name: db-ping, service: db, tcp: {address: "localhost:5432"}}, {name: other, tcp: {address: "localhost:1"}}]
maintenance:
  - {name: nightly, monitors: [other], cron: "0 2 * * *", duration: 30m}
`)
	db := openDB(t, filepath.Join(t.TempDir(), "data"))
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	c := &clock{now: t0}
	log := &coverLog{cur: map[string]string{}}
	s := maintenance.New(maintenance.Config{Store: db, Engine: log, Clock: c,
		IsOver: func(err error) bool { return strings.Contains(err.Error(), "over already") }})
	if err := s.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now, err := s.Create(ctx, maintenance.NewWindow{Title: "Failover test", Services: []string{"db"}, End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !now.Start.Equal(t0) || log.cur["db-ping"] != "Failover test" {
		t.Errorf("a window without start starts now and applies at once: %+v, cover %v", now, log.cur)
	}
	later, err := s.Create(ctx, maintenance.NewWindow{Title: "Upgrade", Monitors: []string{"other"}, Start: t0.Add(24 * time.Hour), End: t0.Add(25 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		w    maintenance.NewWindow
		want string
	}{
		{maintenance.NewWindow{Services: []string{"db"}, End: t0.Add(time.Hour)}, "title is required"},
		{maintenance.NewWindow{Title: "x", End: t0.Add(time.Hour)}, "covers nothing"},
		{maintenance.NewWindow{Title: "x", Services: []string{"nope"}, Monitors: []string{"gone"}, End: t0.Add(time.Hour)}, `unknown service "nope"; unknown monitor "gone"`},
		{maintenance.NewWindow{Title: "x", Services: []string{"db"}}, "end is required"},
		{maintenance.NewWindow{Title: "x", Services: []string{"db"}, Start: t0.Add(time.Hour), End: t0.Add(time.Minute)}, "is not after start"},
		{maintenance.NewWindow{Title: "x", Services: []string{"db"}, Start: t0.Add(-2 * time.Hour), End: t0.Add(-time.Hour)}, "is in the past"},
		{maintenance.NewWindow{Title: "x", Services: []string{"db"}, End: t0.Add(time.Hour), Notify: []string{"pager"}}, `unknown channel "pager"`},
	} {
		if _, err := s.Create(ctx, bad.w); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("create %+v: %v, want %q", bad.w, err, bad.want)
		}
	}

	list, err := s.List(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range list {
		ids = append(ids, w.ID+":"+w.StateAt(t0))
	}
	if want := now.ID + ":active,nightly:upcoming," + later.ID + ":upcoming"; strings.Join(ids, ",") != want {
		t.Errorf("list %s, want %s", strings.Join(ids, ","), want)
	}
	if up, err := s.List(ctx, "upcoming", 0); err != nil || len(up) != 2 {
		t.Errorf("upcoming: %d, %v", len(up), err)
	}
	if _, err := s.List(ctx, "soon", 0); err == nil {
		t.Error("unknown state accepted")
	}

	c.Set(t0.Add(10 * time.Minute))
	ended, err := s.End(ctx, now.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ended.End.Equal(t0.Add(10*time.Minute)) || len(log.cur) != 0 {
		t.Errorf("ended %+v, cover %v", ended, log.cur)
	}
	cancelled, err := s.End(ctx, later.ID)
	if err != nil || cancelled.StateAt(c.Now()) != upkeep.WindowCancelled {
		t.Errorf("cancel: %+v %v", cancelled, err)
	}
	if _, err := s.End(ctx, now.ID); err == nil || !strings.Contains(err.Error(), "not possible in this state") {
		t.Errorf("ending an ended window: %v", err)
	}
	if _, err := s.End(ctx, "nightly"); err == nil || !strings.Contains(err.Error(), "declared in the policy") {
		t.Errorf("ending a policy window: %v", err)
	}
	if _, err := s.End(ctx, "99"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("ending a window that does not exist: %v", err)
	}
	if past, err := s.List(ctx, "past", 0); err != nil || len(past) != 2 {
		t.Errorf("past: %d, %v", len(past), err)
	}
}

// TestRunWakesAtBoundaries runs the scheduler on the real clock with a window a moment ahead:
// Run sleeps until the start and the end by itself. (Nothing here measures time; the test only
// waits for the changes to happen.)
func TestRunWakesAtBoundaries(t *testing.T) {
	p := parse(t, "services: [{name: db}]\nmonitors: [{name: db-ping, service: db, tcp: {address: \"localhost:5432\"}}]\n")
	db := openDB(t, filepath.Join(t.TempDir(), "data"))
	log := &coverLog{cur: map[string]string{}}
	s := maintenance.New(maintenance.Config{Store: db, Engine: log})
	if err := s.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	now := time.Now()
	if _, err := s.Create(t.Context(), maintenance.NewWindow{Title: "Blip", Monitors: []string{"db-ping"},
		Start: now.Add(200 * time.Millisecond), End: now.Add(400 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		log.mu.Lock()
		n := len(log.changes)
		log.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window did not start and end by itself: %v", log.changes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if !strings.HasSuffix(log.changes[0], " db-ping") || !strings.HasSuffix(log.changes[1], " ") {
		t.Errorf("changes %q: want in, then out", log.changes)
	}
}
