package report

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func at(day, hour, minute int) time.Time {
	return time.Date(2026, time.October, day, hour, minute, 0, 0, time.UTC)
}

// history builds, in a real store, October 2026 of two monitors of one service:
//   - the engine ran from Oct 1 to Oct 20 (clean stop), then from Oct 21 until it was killed
//     after its last sign of life on Nov 2: Oct 20 is a day of no data;
//   - web is down Oct 10 23:00 - Oct 11 01:00 (across midnight), in maintenance Oct 15
//     10:00 - 12:00, and down Oct 31 23:30 - Nov 1 00:30 (across the month's end);
//   - db is degraded Oct 5 00:00 - 06:00 and down Oct 11 00:30 - 02:00, overlapping web.
func history(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := t.Context()
	db := openStore(t)
	id, err := db.StartSession(ctx, at(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EndSession(ctx, id, at(20, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if id, err = db.StartSession(ctx, at(21, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(ctx, id, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	tr := func(m string, to upkeep.State, when time.Time) upkeep.Transition {
		return upkeep.Transition{Monitor: m, To: to, At: when}
	}
	ts := []upkeep.Transition{
		tr("web", upkeep.StateUp, at(1, 0, 0)),
		tr("web", upkeep.StateDown, at(10, 23, 0)),
		tr("web", upkeep.StateUp, at(11, 1, 0)),
		tr("web", upkeep.StateMaintenance, at(15, 10, 0)),
		tr("web", upkeep.StateUp, at(15, 12, 0)),
		tr("web", upkeep.StateDown, at(31, 23, 30)),
		tr("web", upkeep.StateUp, time.Date(2026, 11, 1, 0, 30, 0, 0, time.UTC)),
		tr("db", upkeep.StateUp, at(1, 0, 0)),
		tr("db", upkeep.StateDegraded, at(5, 0, 0)),
		tr("db", upkeep.StateUp, at(5, 6, 0)),
		tr("db", upkeep.StateDown, at(11, 0, 30)),
		tr("db", upkeep.StateUp, at(11, 2, 0)),
	}
	if err := db.RecordMonitoring(ctx, nil, ts); err != nil {
		t.Fatal(err)
	}
	return db
}

// openStore opens an empty store, closed at the end of the test.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var now = time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)

func compute(t *testing.T, db *sqlite.DB, monitors []string, period string, objective float64) *SLA {
	t.Helper()
	p, err := ParsePeriod(period, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compute(t.Context(), db, Service{Name: "api", Objective: objective, Monitors: monitors}, p, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func h(x float64) Duration { return Duration(time.Duration(x * float64(time.Hour))) }

func TestTwoMonitorsOverlappingOutagesNoDataMaintenanceOverrun(t *testing.T) {
	r := compute(t, history(t), []string{"web", "db"}, "2026-10", 99.9)
	// Down: Oct 10 23:00 - Oct 11 02:00 (web then db: one outage of 3h) and Oct 31 23:30 -
	// 24:00 (the part of the second outage inside October).
	want := Times{Up: h(744 - 3.5 - 2 - 6 - 24), Degraded: h(6), Down: h(3.5), Maintenance: h(2), NoData: h(24)}
	if r.Times != want {
		t.Fatalf("times = %+v, want %+v", r.Times, want)
	}
	// measured = 718h; available = 714.5h
	if r.Availability == nil || *r.Availability != 100*714.5/718 {
		t.Errorf("availability = %v, want %v", r.Availability, 100*714.5/718)
	}
	allowed := Duration(718 * time.Hour / 1000) // 0.1% of 718h = 2584.8s
	if *r.AllowedDowntime != allowed || *r.BudgetRemaining != allowed-h(3.5) || *r.Met {
		t.Errorf("allowed %v remaining %v met %v; want %v, %v (overrun), false", *r.AllowedDowntime, *r.BudgetRemaining, *r.Met, allowed, allowed-h(3.5))
	}
	if r.Incidents != 2 || r.MTTR != h(1.75) || r.LongestOutage != h(3) {
		t.Errorf("outages %d, MTTR %v, longest %v; want 2, 1h45m, 3h", r.Incidents, r.MTTR, r.LongestOutage)
	}
	if len(r.Breakdown) != 31 {
		t.Fatalf("%d days", len(r.Breakdown))
	}
	days := map[int]Times{
		5:  {Up: h(18), Degraded: h(6)},
		10: {Up: h(23), Down: h(1)},
		11: {Up: h(22), Down: h(2)},
		15: {Up: h(22), Maintenance: h(2)},
		20: {NoData: h(24)},
		31: {Up: h(23.5), Down: h(0.5)},
	}
	for d, w := range days {
		if got := r.Breakdown[d-1]; got.Times != w || got.Label != at(d, 0, 0).Format(time.DateOnly) {
			t.Errorf("day %d (%s) = %+v, want %+v", d, got.Label, got.Times, w)
		}
	}
	if r.Breakdown[19].Availability != nil {
		t.Errorf("a day without data has availability %v", *r.Breakdown[19].Availability)
	}
}

func TestNinesTable(t *testing.T) {
	r := compute(t, history(t), []string{"web", "db"}, "2026-10", 0)
	if r.Objective != nil || r.Met != nil || r.AllowedDowntime != nil {
		t.Errorf("a service without an objective has a budget")
	}
	// 718h measured, 3.5h (12600s) down.
	want := []Nine{
		{99, Duration(7.18 * float64(time.Hour)), true},
		{99.5, Duration(3.59 * float64(time.Hour)), true},
		{99.9, Duration(2584800 * time.Millisecond), false},
		{99.95, Duration(1292400 * time.Millisecond), false},
		{99.99, Duration(258480 * time.Millisecond), false},
		{99.999, Duration(25848 * time.Millisecond), false},
	}
	for i, n := range r.Nines {
		if d := time.Duration(n.Allowed - want[i].Allowed); n.Target != want[i].Target || d > time.Microsecond || d < -time.Microsecond || n.Met != want[i].Met {
			t.Errorf("nine %d = %+v, want %+v", i, n, want[i])
		}
	}
}

func TestOneMonitorMonthAfterAndYear(t *testing.T) {
	db := history(t)
	// November: web down until 00:30, then up until the last sign of life on Nov 2; the rest
	// of the month is no data (the engine was killed, and then it is the future).
	r := compute(t, db, []string{"web"}, "2026-11", 0)
	want := Times{Up: h(23.5), Down: h(0.5), NoData: h(30*24 - 24)}
	if r.Times != want || r.Incidents != 1 {
		t.Errorf("November = %+v, %d outages; want %+v, 1", r.Times, r.Incidents, want)
	}
	y := compute(t, db, []string{"web", "db"}, "2026", 0)
	if len(y.Breakdown) != 12 || y.Breakdown[9].Label != "2026-10" {
		t.Fatalf("year breakdown = %d rows", len(y.Breakdown))
	}
	oct := compute(t, db, []string{"web", "db"}, "2026-10", 0)
	if y.Breakdown[9].Times != oct.Times || y.Breakdown[0].Times != (Times{NoData: h(31 * 24)}) {
		t.Errorf("October in the year = %+v, want %+v", y.Breakdown[9].Times, oct.Times)
	}
}

func TestParsePeriod(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database")
	}
	for _, c := range []struct {
		in       string
		from, to time.Time
	}{
		{"2026-10", time.Date(2026, 10, 1, 0, 0, 0, 0, paris), time.Date(2026, 11, 1, 0, 0, 0, 0, paris)},
		{"2026-Q4", time.Date(2026, 10, 1, 0, 0, 0, 0, paris), time.Date(2027, 1, 1, 0, 0, 0, 0, paris)},
		{"2026", time.Date(2026, 1, 1, 0, 0, 0, 0, paris), time.Date(2027, 1, 1, 0, 0, 0, 0, paris)},
		{"2026-10-01..2026-10-15", time.Date(2026, 10, 1, 0, 0, 0, 0, paris), time.Date(2026, 10, 16, 0, 0, 0, 0, paris)},
	} {
		p, err := ParsePeriod(c.in, paris)
		if err != nil || !p.From.Equal(c.from) || !p.To.Equal(c.to) {
			t.Errorf("%s = %v, %v; want %v, %v (%v)", c.in, p.From, p.To, c.from, c.to, err)
		}
	}
	// October in Paris has a 25-hour day (the end of summer time).
	p, _ := ParsePeriod("2026-10", paris)
	if b := p.buckets(); len(b) != 31 || b[24][1].Sub(b[24][0]) != 25*time.Hour {
		t.Errorf("Paris October days = %d, Oct 25 lasts %v", len(b), b[24][1].Sub(b[24][0]))
	}
	for _, bad := range []string{"", "2026-13", "2026-Q5", "26", "2026-10-15..2026-10-01", "last month"} {
		if _, err := ParsePeriod(bad, time.UTC); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
