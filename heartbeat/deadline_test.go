package heartbeat

import (
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// expectNothing fails if ev reports anything at now.
func expectNothing(t *testing.T, ev Evaluator, now time.Time) {
	t.Helper()
	if r, ok := ev.Evaluate(now); ok {
		t.Fatalf("at %s: reported %+v", now.Format(time.RFC3339Nano), r)
	}
}

// expectDown fails unless ev reports a down result dated at, with message msg, at now.
func expectDown(t *testing.T, ev Evaluator, now, at time.Time, monitor, msg string) {
	t.Helper()
	r, ok := ev.Evaluate(now)
	if !ok {
		t.Fatalf("at %s: nothing reported", now.Format(time.RFC3339Nano))
	}
	want := upkeep.Result{Monitor: monitor, Location: upkeep.LocalLocation, Time: at.UTC(), Outcome: upkeep.StateDown, Error: msg}
	if r != want {
		t.Fatalf("at %s:\n got %+v\nwant %+v", now.Format(time.RFC3339Nano), r, want)
	}
}

func TestLatePeriod(t *testing.T) {
	e := newEnv(t, t0)
	ev := e.evaluator("backup") // period 1h, grace 10m
	base, _ := e.svc.URLs("backup")

	// Never pinged: the first deadline counts from when the monitor was applied.
	expectNothing(t, ev, t0.Add(70*time.Minute))
	expectDown(t, ev, t0.Add(70*time.Minute+time.Millisecond), t0.Add(70*time.Minute), "backup",
		"no ping yet (watched since 2026-11-23 06:00 UTC); expected by 07:10 UTC (period 1h, grace 10m)")
	expectNothing(t, ev, t0.Add(3*time.Hour)) // once

	// A success brings it up and moves the deadline.
	e.clk.Set(t0.Add(3 * time.Hour))
	e.ping(base)
	if rs := e.in.take(); len(rs) != 1 || rs[0].Outcome != upkeep.StateUp {
		t.Fatalf("success: %+v", rs)
	}
	expectNothing(t, ev, t0.Add(4*time.Hour+10*time.Minute))
	expectDown(t, ev, t0.Add(5*time.Hour), t0.Add(4*time.Hour+10*time.Minute), "backup",
		"no ping since 2026-11-23 09:00 UTC; expected by 10:10 UTC (period 1h, grace 10m)")
	expectNothing(t, ev, t0.Add(5*time.Hour))

	// A failure is a completion too: the next run is due a period after it.
	e.clk.Set(t0.Add(5 * time.Hour))
	e.ping(base + "/fail")
	expectNothing(t, ev, t0.Add(6*time.Hour+10*time.Minute))
	expectDown(t, ev, t0.Add(23*time.Hour+59*time.Minute), t0.Add(6*time.Hour+10*time.Minute), "backup",
		"no ping since 2026-11-23 11:00 UTC; expected by 12:10 UTC (period 1h, grace 10m)")

	// A log ping changes nothing; a late start does not excuse lateness either.
	e.clk.Set(t0.Add(24 * time.Hour))
	e.ping(base + "/log")
	e.ping(base + "/start")
	expectNothing(t, ev, t0.Add(48*time.Hour))

	// Pings after a reported deadline are dated after it, even with a clock behind it.
	e.clk.Set(t0.Add(time.Hour))
	e.ping(base)
	ps := e.pings("backup")
	if last := ps[len(ps)-1]; !last.Time.After(t0.Add(24 * time.Hour)) {
		t.Errorf("ping dated %v, before earlier pings", last.Time)
	}
}

func TestHungJob(t *testing.T) {
	e := newEnv(t, t0)
	ev := e.evaluator("backup") // period 1h, grace 10m
	base, _ := e.svc.URLs("backup")
	e.ping(base)

	// The run starts on time and does not finish within grace: down at start + grace, which is
	// before the next deadline.
	e.clk.Set(t0.Add(55 * time.Minute))
	e.ping(base + "/start")
	expectNothing(t, ev, t0.Add(65*time.Minute))
	expectDown(t, ev, t0.Add(65*time.Minute+time.Millisecond), t0.Add(65*time.Minute), "backup",
		"the job started at 2026-11-23 06:55 UTC and did not finish by 07:05 UTC (grace 10m): it hangs, or ended without reporting")
	// The missed deadline that follows is not news.
	expectNothing(t, ev, t0.Add(3*time.Hour))

	// It finishes after all: up, with its duration.
	e.clk.Set(t0.Add(80 * time.Minute))
	e.ping(base)
	if rs := e.in.take(); len(rs) != 2 || rs[1].Outcome != upkeep.StateUp || rs[1].Latency != 25*time.Minute {
		t.Fatalf("late success: %+v", rs)
	}
	// A run that finishes within grace is fine.
	e.clk.Set(t0.Add(2 * time.Hour))
	e.ping(base + "/start")
	e.clk.Set(t0.Add(2*time.Hour + 9*time.Minute))
	e.ping(base)
	expectNothing(t, ev, t0.Add(3*time.Hour+19*time.Minute))

	// A start before the deadline whose hang time is after it: the deadline comes first.
	e.clk.Set(t0.Add(3*time.Hour + 15*time.Minute))
	e.ping(base + "/start")
	expectDown(t, ev, t0.Add(4*time.Hour), t0.Add(3*time.Hour+19*time.Minute), "backup",
		"no ping since 2026-11-23 08:09 UTC; expected by 09:19 UTC (period 1h, grace 10m)")
}

// TestCronDay follows a job at 06:00 Europe/Berlin and an hourly one through the days the
// clocks change, evaluating every minute as the engine would (more often, in fact): the jobs
// ping a minute after each run they make, and nothing is reported until a run is missed.
func TestCronDay(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range []time.Time{
		time.Date(2026, 3, 29, 0, 0, 0, 0, berlin),  // 02:00 CET -> 03:00 CEST
		time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), // 03:00 CEST -> 02:00 CET
	} {
		t.Run(day.Format("2006-01-02"), func(t *testing.T) {
			start := day.Add(-24 * time.Hour) // midnight the day before (a 24-hour day)
			e := newEnv(t, start)
			nightly, hourly := e.evaluator("nightly"), e.evaluator("hourly")
			nightlyURL, _ := e.svc.URLs("nightly")
			hourlyURL, _ := e.svc.URLs("hourly")

			// What the job's cron runs: every wall-clock hour that exists, once.
			runs := map[time.Time]string{}
			for at := start; at.Before(day.AddDate(0, 0, 1)); at = at.Add(time.Minute) {
				local := at.In(berlin)
				if local.Minute() == 0 {
					prev := at.Add(-time.Hour).In(berlin)
					if prev.Hour() != local.Hour() { // the repeated hour runs once
						runs[at.Add(time.Minute)] = hourlyURL
					}
				}
			}
			for at := start; at.Before(day.AddDate(0, 0, 1)); at = at.Add(time.Minute) {
				e.clk.Set(at)
				if url, ok := runs[at]; ok {
					e.ping(url)
				}
				if l := at.In(berlin); l.Hour() == 6 && l.Minute() == 1 {
					e.ping(nightlyURL)
				}
				expectNothing(t, nightly, at)
				expectNothing(t, hourly, at)
			}

			// The hourly job misses the run at 10:00 on the day itself: down at 10:05.
			e.restart()
			nightly, hourly = e.evaluator("nightly"), e.evaluator("hourly")
			next := day.AddDate(0, 0, 1)
			for at := next; at.Before(next.Add(10 * time.Hour)); at = at.Add(time.Minute) {
				e.clk.Set(at)
				if at.In(berlin).Minute() == 1 {
					e.ping(hourlyURL)
				}
				expectNothing(t, hourly, at)
			}
			ten := time.Date(next.Year(), next.Month(), next.Day(), 10, 5, 0, 0, berlin)
			expectNothing(t, hourly, ten)
			zone, _ := ten.Zone()
			expectDown(t, hourly, ten.Add(time.Millisecond), ten, "hourly",
				"no ping since "+next.Add(9*time.Hour+time.Minute).In(berlin).Format("2006-01-02 15:04")+" "+zone+
					"; expected by 10:05 "+zone+" (cron 0 * * * * Europe/Berlin, grace 5m)")

			// The nightly job misses its run the next morning: down at 07:00.
			seven := time.Date(next.Year(), next.Month(), next.Day(), 7, 0, 0, 0, berlin)
			expectNothing(t, nightly, seven)
			last := time.Date(day.Year(), day.Month(), day.Day(), 6, 1, 0, 0, berlin)
			expectDown(t, nightly, seven.Add(time.Minute), seven, "nightly",
				"no ping since "+last.Format("2006-01-02 15:04 MST")+"; expected by "+seven.Format("2006-01-02 15:04 MST")+
					" (cron 0 6 * * * Europe/Berlin, grace 1h)")
		})
	}
}

// TestStateSurvivesRestart: a new service on the same store reports the same deadlines, at the
// same times, from the stored pings.
func TestStateSurvivesRestart(t *testing.T) {
	e := newEnv(t, t0)
	base, _ := e.svc.URLs("backup")
	e.ping(base)
	e.clk.Set(t0.Add(30 * time.Minute))
	e.ping(base + "/start")

	e.restart()
	ev := e.evaluator("backup")
	// The start is remembered: it hangs at 06:40.
	want := "the job started at 2026-11-23 06:30 UTC and did not finish by 06:40 UTC (grace 10m): it hangs, or ended without reporting"
	expectNothing(t, ev, t0.Add(40*time.Minute))
	expectDown(t, ev, t0.Add(2*time.Hour), t0.Add(40*time.Minute), "backup", want)
	expectNothing(t, ev, t0.Add(2*time.Hour))
	// Reported again after another restart, identically: the store keeps it once.
	e.restart()
	ev = e.evaluator("backup")
	expectDown(t, ev, t0.Add(3*time.Hour), t0.Add(40*time.Minute), "backup", want)

	// The run's end after the restart has its duration.
	e.clk.Set(t0.Add(3 * time.Hour))
	e.ping(base)
	if rs := e.in.take(); len(rs) != 1 || rs[0].Latency != 150*time.Minute {
		t.Fatalf("success after restart: %+v", rs)
	}
	e.restart()
	ev = e.evaluator("backup")
	expectNothing(t, ev, t0.Add(4*time.Hour+10*time.Minute))
	expectDown(t, ev, t0.Add(5*time.Hour), t0.Add(4*time.Hour+10*time.Minute), "backup",
		"no ping since 2026-11-23 09:00 UTC; expected by 10:10 UTC (period 1h, grace 10m)")

	// Since: a monitor removed and added again starts a new first deadline.
	without := parsePolicy(t, `monitors: [{name: other, heartbeat: {period: 1h}}]`, "")
	e.clk.Set(t0.Add(6 * time.Hour))
	if err := e.svc.Apply(t.Context(), without); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, ev, t0.Add(7*time.Hour)) // not applied: nothing to say
	e.clk.Set(t0.Add(8 * time.Hour))
	if err := e.svc.Apply(t.Context(), e.pol); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, ev, t0.Add(9*time.Hour+10*time.Minute))
	expectDown(t, ev, t0.Add(10*time.Hour), t0.Add(9*time.Hour+10*time.Minute), "backup",
		"no ping yet (watched since 2026-11-23 14:00 UTC); expected by 15:10 UTC (period 1h, grace 10m)")
}
