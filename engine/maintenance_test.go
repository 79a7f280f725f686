package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// TestMaintenanceWindow runs a monitor through a window in which it fails: the failure is
// hidden while the window lasts, shows the moment it ends, and the window's time is counted as
// maintenance, never as downtime. Results are ingested at exact times (the monitor is passive),
// so the numbers are exact.
func TestMaintenanceWindow(t *testing.T) {
	db, _ := openStore(t)
	m := policy.Monitor{Name: "job", Heartbeat: &policy.HeartbeatCheck{}}
	h := start(t, db, newScript(), t0, pol(m), Config{})
	ingest := func(minute int, o upkeep.State) {
		h.e.Ingest(upkeep.Result{Monitor: "job", Time: at(minute), Outcome: o})
		h.sync()
	}
	to := func(minute int) {
		h.step(at(minute).Sub(h.clock.Now()))
	}
	h.e.SetMaintenance(nil, t0)
	ingest(0, upkeep.StateUp)
	to(10)
	h.e.SetMaintenance(map[string]string{"job": "DB upgrade"}, at(10))
	to(20)
	ingest(20, upkeep.StateDown)
	if st := h.state("job"); st.State != upkeep.StateMaintenance || st.Window != "DB upgrade" || st.Real != upkeep.StateDown {
		t.Errorf("in the window: state %s window %q real %s, want maintenance, DB upgrade, down", st.State, st.Window, st.Real)
	}
	to(30)
	ingest(30, upkeep.StateUp)
	to(35)
	ingest(35, upkeep.StateDown)
	to(40)
	h.e.SetMaintenance(map[string]string{}, at(40)) // the window ends with the monitor down
	if st := h.state("job"); st.State != upkeep.StateDown || !st.Since.Equal(at(40)) {
		t.Errorf("after the window: %s since %s, want down since the window's end", st.State, st.Since)
	}
	to(50)
	ingest(50, upkeep.StateUp)
	to(60)
	h.sync()

	ts, err := db.Transitions(t.Context(), "job", t0, at(60))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ts {
		got = append(got, fmt.Sprintf("%d %s>%s %s", int(tr.At.Sub(t0)/time.Minute), tr.From, tr.To, strings.Split(tr.Cause, " (")[0]))
	}
	want := []string{"0 unknown>up check up", "10 up>maintenance maintenance: DB upgrade",
		"40 maintenance>down maintenance ended: DB upgrade", "50 down>up check up"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("transitions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	u, err := h.e.Uptime(t.Context(), "job", t0, at(60))
	if err != nil {
		t.Fatal(err)
	}
	if u.Up != 20*time.Minute || u.Maintenance != 30*time.Minute || u.Down != 10*time.Minute || u.NoData != 0 {
		t.Errorf("uptime: up %s maintenance %s down %s no data %s; want 20m, 30m, 10m, 0", u.Up, u.Maintenance, u.Down, u.NoData)
	}
	if f, ok := u.Fraction(); !ok || f != 2.0/3 {
		t.Errorf("fraction %v, want 2/3: maintenance is neither available nor down", f)
	}
}

// TestMaintenanceAcrossRestart: a monitor in a window when Upkeep stops is still in it after a
// restart, with no new transition; when the window is found over, it leaves it.
func TestMaintenanceAcrossRestart(t *testing.T) {
	db, _ := openStore(t)
	m := policy.Monitor{Name: "job", Heartbeat: &policy.HeartbeatCheck{}}
	h := start(t, db, newScript(), t0, pol(m), Config{})
	h.e.SetMaintenance(nil, t0)
	h.e.Ingest(upkeep.Result{Monitor: "job", Time: t0, Outcome: upkeep.StateUp})
	h.sync()
	h.step(time.Minute)
	h.e.SetMaintenance(map[string]string{"job": "patching"}, at(1))
	h.sync()
	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}

	h2 := start(t, db, newScript(), at(5), pol(m), Config{})
	if st := h2.state("job"); st.State != upkeep.StateMaintenance {
		t.Fatalf("after restart: %s, want maintenance", st.State)
	}
	h2.e.SetMaintenance(map[string]string{"job": "patching"}, at(5)) // still active: nothing changes
	h2.e.Ingest(upkeep.Result{Monitor: "job", Time: at(5), Outcome: upkeep.StateUp})
	h2.sync()
	if st := h2.state("job"); st.State != upkeep.StateMaintenance || st.Real != upkeep.StateUp {
		t.Errorf("still in the window: %s (real %s), want maintenance (real up)", st.State, st.Real)
	}
	h2.step(5 * time.Minute)
	h2.e.SetMaintenance(nil, at(10))
	h2.sync()
	ts, err := db.Transitions(t.Context(), "job", t0, at(11))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ts {
		got = append(got, fmt.Sprintf("%d %s>%s", int(tr.At.Sub(t0)/time.Minute), tr.From, tr.To))
	}
	if want := "0 unknown>up,1 up>maintenance,10 maintenance>up"; strings.Join(got, ",") != want {
		t.Errorf("transitions %s, want %s", strings.Join(got, ","), want)
	}
}
