package jobsched

import (
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/heartbeat/cron"
)

// The slot after the newest run is missed once grace has passed, reported once; a run at or after
// the slot moves the base on; since stands for the newest run when it is later.
func TestCheck(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	sched, err := cron.Parse("0 7 * * *", berlin)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, berlin)
	var w Watch
	last, since := day.Add(-17*time.Hour), day // yesterday 07:00; watched since midnight
	if _, _, ok := w.Check(sched, last, since, day.Add(8*time.Hour), time.Hour, "1h", "drill", berlin); ok {
		t.Error("missed at the deadline itself")
	}
	deadline, msg, ok := w.Check(sched, last, since, day.Add(8*time.Hour+time.Second), time.Hour, "1h", "drill", berlin)
	if !ok || !deadline.Equal(day.Add(8*time.Hour)) || msg != "missed: the drill scheduled at 2026-11-23 07:00 CET had not started by 2026-11-23 08:00 CET (grace 1h)" {
		t.Errorf("missed: %v %s %q", ok, deadline, msg)
	}
	if _, _, again := w.Check(sched, last, since, day.Add(9*time.Hour), time.Hour, "1h", "drill", berlin); again {
		t.Error("the same slot reported twice")
	}
	if _, _, ok := w.Check(sched, day.Add(7*time.Hour), since, day.Add(9*time.Hour), time.Hour, "1h", "drill", berlin); ok {
		t.Error("the run of the slot did not move the base on")
	}
	if _, _, ok := w.Check(sched, day.Add(7*time.Hour), since, day.Add(32*time.Hour+time.Second), time.Hour, "1h", "run", berlin); !ok {
		t.Error("the next day's slot is not missed")
	}
}
