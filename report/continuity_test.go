package report

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// monthPolicy is the policy of the simulated month: api has objectives (availability, RPO, RTO),
// a monitor, a daily backup to two destinations and a weekly drill that takes its limits from
// the objectives; www has an RTO objective and nothing that measures it. The status page shows
// api only.
const monthPolicy = `
server: {public_url: "https://upkeep.example.com"}
services:
  - {name: api, title: Public API, objectives: {availability: "99.9%", rpo: 26h, rto: 15m}}
  - {name: www, objectives: {rto: 1h}}
monitors:
  - {name: web, service: api, http: {url: "http://127.0.0.1:1/"}, every: 1m}
  - {name: home, service: www, http: {url: "http://127.0.0.1:1/home"}, every: 1m}
destinations:
  onsite: {path: /b, password_file: /p}
  offsite: {path: /c, password_file: /p}
backups:
  - {name: app-db, service: api, sqlite: {path: /db}, schedule: "0 6 * * *", grace: 1h, to: [onsite, offsite]}
drills:
  - {name: restore-db, backup: app-db, schedule: "0 7 * * 4", into: {sqlite: {path: /srv/drill.db}}}
status_page: {services: [api]}
`

func oct(day, hour, minute int) time.Time {
	return time.Date(2026, time.October, day, hour, minute, 0, 0, time.UTC)
}

// monthNow is the injected clock of the report: two days after the month.
var monthNow = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)

// simulatedMonth writes October 2026 into a real store:
//
// Upkeep ran Oct 1 00:00 - Oct 4 05:00, was off for 2h, ran Oct 4 07:00 - Oct 12 00:00
// (clean stops), was off for 36h, and ran again from Oct 13 12:00 until now.
//
// Monitor web (service api): up from Oct 1; down Oct 7 10:00-10:30 (30m); maintenance Oct 20
// 02:00-04:00 (2h); down Oct 25 23:00 - Oct 26 00:15 (1h15m, across midnight).
//
// Incidents: "migration overran" (manual, api) Sep 30 23:00 - Oct 1 01:00, across the start;
// "web down" Oct 7 10:00-10:30 with a report; "web down" Oct 25 23:00 - Oct 26 00:15 without
// one; "home down" Oct 9 (www); "old" in September (in no report).
//
// Backup app-db, daily at 06:00 to onsite and offsite (first run ever: Sep 30): Oct 1-11
// succeeded, Oct 4 late: at the start on Oct 4 07:00 its miss was recorded and the slot caught
// up at once (both rows are for the same slot); Oct 12 and 13 fell while Upkeep was off: at its start on Oct 13 12:00 the miss of
// Oct 12 was recorded and Oct 13 caught up (succeeded); Oct 14 partial (offsite failed);
// Oct 15-19 succeeded; Oct 20 failed (the before hook, nothing written); Oct 21-27 succeeded;
// Oct 28 no run at all (nothing recorded); Oct 29-31 succeeded; plus a run by hand on Oct 22
// 15:00 (succeeded) and one on Nov 1 (after the period).
//
// Drill restore-db, Thursdays 07:00 (limits from api's objectives: max_rto 15m, max_rpo 26h):
// Oct 1 passed (RTO 10m, RPO 1h); Oct 8 passed (12m, 1h5m); Oct 15 failed, RTO breach (20m,
// 1h); Oct 22 failed, the verify query returned false (nothing measured); Oct 29 passed (11m,
// 1h2m); plus a run on Sep 24 (before the period).
func simulatedMonth(t *testing.T) (*sqlite.DB, map[string]int64) {
	t.Helper()
	ctx := t.Context()
	db := openStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	id, err := db.StartSession(ctx, oct(1, 0, 0))
	must(err)
	must(db.EndSession(ctx, id, oct(4, 5, 0)))
	id, err = db.StartSession(ctx, oct(4, 7, 0))
	must(err)
	must(db.EndSession(ctx, id, oct(12, 0, 0)))
	id, err = db.StartSession(ctx, oct(13, 12, 0))
	must(err)
	must(db.TouchSession(ctx, id, monthNow))

	tr := func(m string, to upkeep.State, at time.Time) upkeep.Transition {
		return upkeep.Transition{Monitor: m, To: to, At: at}
	}
	must(db.RecordMonitoring(ctx, nil, []upkeep.Transition{
		tr("web", upkeep.StateUp, oct(1, 0, 0)),
		tr("web", upkeep.StateDown, oct(7, 10, 0)),
		tr("web", upkeep.StateUp, oct(7, 10, 30)),
		tr("web", upkeep.StateMaintenance, oct(20, 2, 0)),
		tr("web", upkeep.StateUp, oct(20, 4, 0)),
		tr("web", upkeep.StateDown, oct(25, 23, 0)),
		tr("web", upkeep.StateUp, oct(26, 0, 15)),
		tr("home", upkeep.StateUp, oct(1, 0, 0)),
	}))

	incidents := map[string]int64{}
	must(db.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		for _, inc := range []upkeep.Incident{
			{Title: "old", Services: []string{"api"}, StartedAt: oct(1, 0, 0).AddDate(0, 0, -10), ResolvedAt: oct(1, 0, 0).AddDate(0, 0, -9)},
			{Title: "migration overran", Services: []string{"api"}, StartedAt: oct(1, 0, 0).Add(-time.Hour), ResolvedAt: oct(1, 1, 0)},
			{Title: "web down", Services: []string{"api"}, Automatic: true, StartedAt: oct(7, 10, 0), ResolvedAt: oct(7, 10, 30)},
			{Title: "home down", Services: []string{"www"}, Automatic: true, StartedAt: oct(9, 0, 0), ResolvedAt: oct(9, 1, 0)},
			{Title: "web down again", Services: []string{"api"}, Automatic: true, StartedAt: oct(25, 23, 0), ResolvedAt: oct(26, 0, 15)},
		} {
			inc.Status, inc.Impact, inc.OpenedAt = upkeep.StatusResolved, upkeep.ImpactMajor, inc.StartedAt
			if err := tx.InsertIncident(&inc); err != nil {
				return err
			}
			incidents[inc.Title] = inc.ID
		}
		return tx.SetReport(incidents["web down"], upkeep.IncidentReport{Cause: "connection pool exhausted", Measures: "pool enlarged", Prevention: "alert on pool usage"})
	}))

	both := []string{"onsite", "offsite"}
	backup := func(trigger upkeep.BackupTrigger, slot, start time.Time, status upkeep.BackupStatus, ok []string, runErr string) {
		t.Helper()
		id, err := db.StartBackupRun(ctx, upkeep.BackupRun{Job: "app-db", Trigger: trigger, Scheduled: slot, Start: start})
		must(err)
		for _, d := range ok {
			must(db.RecordBackupDestination(ctx, id, upkeep.BackupDestinationResult{Destination: d, Status: upkeep.BackupSucceeded, Start: start, End: start.Add(10 * time.Minute)}))
		}
		if status == upkeep.BackupPartial {
			must(db.RecordBackupDestination(ctx, id, upkeep.BackupDestinationResult{Destination: "offsite", Status: upkeep.BackupFailed, Start: start, End: start.Add(time.Minute), Error: "connection refused"}))
		}
		must(db.FinishBackupRun(ctx, id, status, start.Add(10*time.Minute), runErr))
	}
	daily := func(day int, status upkeep.BackupStatus, ok []string, runErr string) {
		backup(upkeep.TriggerSchedule, oct(day, 6, 0), oct(day, 6, 0), status, ok, runErr)
	}
	backup(upkeep.TriggerSchedule, oct(1, 6, 0).AddDate(0, 0, -1), oct(1, 6, 0).AddDate(0, 0, -1), upkeep.BackupSucceeded, both, "")
	for day := 1; day <= 11; day++ {
		if day != 4 {
			daily(day, upkeep.BackupSucceeded, both, "")
		}
	}
	_, err = db.RecordMissedBackup(ctx, "app-db", oct(4, 6, 0), oct(4, 7, 0), "Upkeep was not running at the scheduled time; caught up at startup")
	must(err)
	backup(upkeep.TriggerCatchUp, oct(4, 6, 0), oct(4, 7, 0), upkeep.BackupSucceeded, both, "")
	_, err = db.RecordMissedBackup(ctx, "app-db", oct(12, 6, 0), oct(13, 12, 0), "Upkeep was not running: 2 scheduled runs missed; caught up at startup")
	must(err)
	backup(upkeep.TriggerCatchUp, oct(13, 6, 0), oct(13, 12, 0), upkeep.BackupSucceeded, both, "")
	daily(14, upkeep.BackupPartial, []string{"onsite"}, "offsite: connection refused")
	for day := 15; day <= 19; day++ {
		daily(day, upkeep.BackupSucceeded, both, "")
	}
	daily(20, upkeep.BackupFailed, nil, "before hook: exit status 1")
	for day := 21; day <= 31; day++ {
		if day != 28 {
			daily(day, upkeep.BackupSucceeded, both, "")
		}
	}
	backup(upkeep.TriggerManual, time.Time{}, oct(22, 15, 0), upkeep.BackupSucceeded, both, "")
	backup(upkeep.TriggerSchedule, time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), upkeep.BackupSucceeded, both, "")

	drill := func(start time.Time, status upkeep.DrillStatus, rto, rpo time.Duration, reason string) {
		t.Helper()
		r := upkeep.DrillRun{Drill: "restore-db", Backup: "app-db", Destination: "onsite", Started: start, MaxRTO: 15 * time.Minute, MaxRPO: 26 * time.Hour}
		must(db.StartDrillRun(ctx, &r))
		r.Status, r.Finished, r.RTO, r.RPO, r.Reason = status, start.Add(max(rto, time.Minute)), rto, rpo, reason
		must(db.FinishDrillRun(ctx, &r))
	}
	drill(oct(1, 7, 0).AddDate(0, 0, -7), upkeep.DrillPassed, 9*time.Minute, time.Hour, "")
	drill(oct(1, 7, 0), upkeep.DrillPassed, 10*time.Minute, time.Hour, "")
	drill(oct(8, 7, 0), upkeep.DrillPassed, 12*time.Minute, 65*time.Minute, "")
	drill(oct(15, 7, 0), upkeep.DrillFailed, 20*time.Minute, time.Hour, "recovery took 20m0s, more than max_rto 15m")
	drill(oct(22, 7, 0), upkeep.DrillFailed, 0, 0, "verify: the query returned false")
	drill(oct(29, 7, 0), upkeep.DrillPassed, 11*time.Minute, 62*time.Minute, "")
	// A slot the server recorded as missed (it was down): listed and counted apart, not a run.
	missed := upkeep.DrillRun{Drill: "restore-db", Backup: "app-db", Started: oct(25, 7, 0), Scheduled: oct(25, 7, 0), Finished: oct(26, 9, 0), Reason: "Upkeep was not running"}
	must(db.RecordMissedDrill(ctx, &missed))
	return db, incidents
}

func monthReports(t *testing.T, db *sqlite.DB, now time.Time) []*Continuity {
	t.Helper()
	p, err := policy.Parse("month.yaml", []byte(monthPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := Services(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	per, err := ParsePeriod("2026-10", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := ComputeContinuity(t.Context(), db, p, svcs, per, now)
	if err != nil {
		t.Fatal(err)
	}
	return reports
}

func TestContinuitySimulatedMonth(t *testing.T) {
	db, ids := simulatedMonth(t)
	reports := monthReports(t, db, monthNow)
	if len(reports) != 2 || reports[0].Service != "api" || reports[1].Service != "www" {
		t.Fatalf("reports = %+v", reports)
	}
	api := reports[0]

	// Availability. October has 744h. No data: the 2h + 36h Upkeep was off (Oct 4 05:00-07:00,
	// Oct 12 00:00 - Oct 13 12:00). Maintenance: 2h. Down: 30m + 1h15m = 1h45m (6300 s).
	// Measured = 744 - 38 - 2 = 704h; up = 704h - 1h45m = 702h15m. Availability = 702.25 / 704
	// = 99.7514...%. Allowed downtime = 0.1% of 704h = 2534.4 s (42m14.4s); budget = 2534.4 -
	// 6300 = -3765.6 s: missed, overrun by 1h2m45.6s.
	a := api.Availability
	want := Times{Up: h(702.25), Down: h(1.75), Maintenance: h(2), NoData: h(38)}
	if a.Times != want {
		t.Errorf("times = %+v, want %+v", a.Times, want)
	}
	if a.Availability == nil || *a.Availability != 100*702.25/704 || *a.BudgetRemaining != Duration(-3765600*time.Millisecond) {
		t.Errorf("availability %v, budget %v; want %v, -3765.6s", a.Availability, a.BudgetRemaining, 100*702.25/704)
	}
	if a.Incidents != 2 || a.MTTR != h(0.875) || a.LongestOutage != h(1.25) {
		t.Errorf("outages %d, MTTR %v, longest %v; want 2, 52m30s, 1h15m", a.Incidents, a.MTTR, a.LongestOutage)
	}
	if o := api.Objectives; *o.Availability != 99.9 || *o.RPO != h(26) || *o.RTO != Duration(15*time.Minute) {
		t.Errorf("objectives = %+v", o)
	}

	// Incidents of api open at some time of October: the migration (2h, from Sep 30 23:00,
	// across the start), web down (30m, with its report), web down again (1h15m). Not the
	// September one, not www's. api is on the status page: links to its incident pages.
	if len(api.Incidents) != 3 {
		t.Fatalf("incidents = %+v", api.Incidents)
	}
	for i, w := range []struct {
		title  string
		d      time.Duration
		report bool
	}{{"migration overran", 2 * time.Hour, false}, {"web down", 30 * time.Minute, true}, {"web down again", 75 * time.Minute, false}} {
		got := api.Incidents[i]
		link := "https://upkeep.example.com/incidents/" + itoa(ids[w.title])
		if got.Title != w.title || got.Duration != Duration(w.d) || (got.Report != nil) != w.report || got.Link != link || got.End == nil {
			t.Errorf("incident %d = %+v, want %s lasting %v (report %v) at %s", i, got, w.title, w.d, w.report, link)
		}
	}
	if r := api.Incidents[1].Report; r.Cause != "connection pool exhausted" || r.Prevention != "alert on pool usage" {
		t.Errorf("report = %+v", r)
	}

	// Backups. The first run ever was Sep 30, so October's 31 slots (06:00) are all expected.
	// Succeeded: Oct 1-11 (11, Oct 4 caught up) + Oct 13 caught up (1) + Oct 15-19 (5) + Oct 21-27 (7) +
	// Oct 29-31 (3) = 27. Partial: Oct 14. Failed: Oct 20. Missed: Oct 12 (recorded) and Oct 28
	// (nothing recorded) = 2. 27 + 1 + 1 + 2 = 31. The run by hand on Oct 22 is unscheduled.
	if len(api.Backups) != 1 {
		t.Fatalf("backups = %+v", api.Backups)
	}
	b := api.Backups[0]
	if b.Expected != 31 || b.Succeeded != 27 || b.Partial != 1 || b.Failed != 1 || b.Missed != 2 || b.Running != 0 || b.CaughtUp != 2 || b.Unscheduled != 1 {
		t.Errorf("backup counts = expected %d, succeeded %d, partial %d, failed %d, missed %d, running %d, caught up %d, unscheduled %d; want 31, 27, 1, 1, 2, 0, 2, 1",
			b.Expected, b.Succeeded, b.Partial, b.Failed, b.Missed, b.Running, b.CaughtUp, b.Unscheduled)
	}
	if b.Since == nil || !b.Since.Equal(oct(1, 0, 0)) {
		t.Errorf("since = %v", b.Since)
	}
	// Per destination, over the 30 finished runs (27 succeeded + partial + failed + by hand):
	// onsite wrote 27 + 1 (the partial run) + 1 (by hand) = 29, failed 1 (Oct 20); offsite
	// wrote 27 + 1 = 28, failed 2 (Oct 14 and 20). Both last wrote on Oct 31 at 06:10.
	for i, w := range []DestinationSummary{{Destination: "onsite", Runs: 30, Succeeded: 29, Failed: 1}, {Destination: "offsite", Runs: 30, Succeeded: 28, Failed: 2}} {
		got := b.Destinations[i]
		if got.Destination != w.Destination || got.Runs != w.Runs || got.Succeeded != w.Succeeded || got.Failed != w.Failed || got.LastSuccess == nil || !got.LastSuccess.Equal(oct(31, 6, 10)) {
			t.Errorf("destination %d = %+v, want %+v, last success Oct 31 06:10", i, got, w)
		}
	}
	var problems []string
	for _, p := range b.Problems {
		problems = append(problems, p.Slot.Format("Jan 2")+" "+string(p.Status))
	}
	if strings.Join(problems, ", ") != "Oct 12 missed, Oct 14 partial, Oct 20 failed, Oct 28 missed" || b.Problems[3].Error != "no run for this slot" || b.Problems[2].Error != "before hook: exit status 1" {
		t.Errorf("problems = %q %+v", problems, b.Problems)
	}

	// Drills. Five runs in October: 3 passed, 2 failed. Measured (all but the verify failure of
	// Oct 22), in order: RTO 10m, 12m, 20m, 11m: first 10m, last 11m, best 10m, worst 20m,
	// median (11m + 12m) / 2 = 11m30s, 1 over 15m. RPO 1h, 1h5m, 1h, 1h2m: worst 1h5m, median
	// (1h + 1h2m) / 2 = 1h1m, none over 26h.
	if len(api.Drills) != 1 {
		t.Fatalf("drills = %+v", api.Drills)
	}
	d := api.Drills[0]
	if d.Runs != 5 || d.Missed != 1 || d.Running != 0 || d.Passed != 3 || d.Failed != 2 || d.Interrupted != 0 || len(d.List) != 6 || *d.MaxRTO != Duration(15*time.Minute) || *d.MaxRPO != h(26) {
		t.Errorf("drill = %+v", d)
	}
	m := func(x float64) Duration { return Duration(time.Duration(x * float64(time.Minute))) }
	if got, w := *d.RTO, (Trend{Measured: 4, First: m(10), Last: m(11), Best: m(10), Worst: m(20), Median: m(11.5)}); got != w {
		t.Errorf("RTO trend = %+v, want %+v", got, w)
	}
	if got, w := *d.RPO, (Trend{Measured: 4, First: m(60), Last: m(62), Best: m(60), Worst: m(65), Median: m(61)}); got != w {
		t.Errorf("RPO trend = %+v, want %+v", got, w)
	}
	if d.RTOBreaches != 1 || d.RPOBreaches != 0 || d.List[3].RTO != nil || d.List[3].Reason != "verify: the query returned false" {
		t.Errorf("breaches %d %d, Oct 22 = %+v", d.RTOBreaches, d.RPOBreaches, d.List[3])
	}

	// Verdicts: availability missed by 3765.6 s; RTO missed by 20m - 15m = 5m; RPO met with
	// 26h - 1h5m = 24h55m (89700 s) to spare.
	wantVerdicts := []struct {
		objective, of, status string
		margin                float64
		text                  string
	}{
		{"availability", "api", VerdictMissed, -3765.6, "Availability 99.751% against 99.9%: missed, 1h45m0s of downtime overran the 42m14s allowed by 1h2m46s."},
		{"rto", "restore-db", VerdictMissed, -300, "RTO of drill restore-db: worst 20m0s against 15m0s: missed by 5m0s (1 of 4 runs over)."},
		{"rpo", "restore-db", VerdictMet, 89700, "RPO of drill restore-db: worst 1h5m0s of 4 runs against 26h0m0s: met, 24h55m0s to spare."},
	}
	if len(api.Verdicts) != len(wantVerdicts) {
		t.Fatalf("verdicts = %+v", api.Verdicts)
	}
	for i, w := range wantVerdicts {
		v := api.Verdicts[i]
		if v.Objective != w.objective || v.Of != w.of || v.Status != w.status || v.Margin == nil || *v.Margin-w.margin > 1e-6 || w.margin-*v.Margin > 1e-6 || v.Text != w.text {
			t.Errorf("verdict %d = %+v (margin %v)\nwant %+v", i, v, v.Margin, w)
		}
	}

	// www: not on the status page (its incident links to the API), no availability objective,
	// and an RTO objective nothing measures.
	www := reports[1]
	if len(www.Incidents) != 1 || www.Incidents[0].Link != "https://upkeep.example.com/api/v1/incidents/"+itoa(ids["home down"]) {
		t.Errorf("www incidents = %+v", www.Incidents)
	}
	if len(www.Verdicts) != 1 || www.Verdicts[0].Status != VerdictNotMeasured || www.Verdicts[0].Objective != "rto" || www.Verdicts[0].Measured != nil ||
		www.Verdicts[0].Text != "RTO objective 1h0m0s: not measured, no restore drill of this service's backups has a limit for it." {
		t.Errorf("www verdicts = %+v", www.Verdicts)
	}
}

// TestContinuityBeforeTheMonthEnds reports on October from Oct 28 06:30: the slot of 06:00 has
// no run yet but is within its grace (1h), so it is not expected; the runs and drills after now
// are not counted.
func TestContinuityBeforeTheMonthEnds(t *testing.T) {
	db, _ := simulatedMonth(t)
	api := monthReports(t, db, oct(28, 6, 30))[0]
	// Slots Oct 1-27: succeeded 11 + 1 + 5 + 7 = 24, partial 1, failed 1, missed 1 (Oct 12).
	b := api.Backups[0]
	if b.Expected != 27 || b.Succeeded != 24 || b.Missed != 1 || len(b.Problems) != 3 {
		t.Errorf("backups = %+v", b)
	}
	if d := api.Drills[0]; d.Runs != 4 || d.RTO.Last != Duration(20*time.Minute) {
		t.Errorf("drill = %+v", d)
	}
	// Down 30m + 1h15m, no data 38h and everything after now.
	if a := api.Availability; a.Down != h(1.75) || a.NoData != h(38)+Duration(oct(1, 0, 0).AddDate(0, 1, 0).Sub(oct(28, 6, 30))) {
		t.Errorf("availability = %+v", a.Times)
	}
}

func TestContinuityRender(t *testing.T) {
	db, ids := simulatedMonth(t)
	reports := monthReports(t, db, monthNow)
	var buf bytes.Buffer
	if err := WriteContinuity(&buf, "json", monthNow, reports); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		GeneratedAt time.Time        `json:"generated_at"`
		Reports     []map[string]any `json:"reports"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Reports) != 2 || !doc.GeneratedAt.Equal(monthNow) {
		t.Fatalf("%v %s", err, buf.String())
	}
	api := doc.Reports[0]
	if v := api["verdicts"].([]any)[0].(map[string]any); v["status"] != "missed" || v["margin_seconds"] != -3765.6 || v["target"] != 99.9 {
		t.Errorf("availability verdict = %v", v)
	}
	if b := api["backups"].([]any)[0].(map[string]any); b["expected"] != 31.0 || b["missed"] != 2.0 {
		t.Errorf("backups = %v", b)
	}
	if d := api["drills"].([]any)[0].(map[string]any); d["rto"].(map[string]any)["median_seconds"] != 690.0 || d["max_rpo_seconds"] != 93600.0 {
		t.Errorf("drills = %v", d)
	}

	buf.Reset()
	if err := WriteContinuity(&buf, "html", monthNow, reports); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		"@media print", "break-after: page", `<section class="service">`,
		"Public API: continuity report, 2026-10",
		`<li class="bad">Availability 99.751% against 99.9%: missed`,
		`<li class="good">RPO of drill restore-db`,
		`<li class="unknown">RTO objective 1h0m0s: not measured`,
		`href="https://upkeep.example.com/incidents/` + itoa(ids["web down"]) + `"`,
		"connection pool exhausted",
		"2026-10-28 06:00</td><td>missed</td>",
		"recovery took 20m0s, more than max_rto 15m",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Count(html, `<section class="service">`) != 2 {
		t.Errorf("want one section per service")
	}
	if err := WriteContinuity(&buf, "csv", monthNow, reports); err == nil || !strings.Contains(err.Error(), "html or json") {
		t.Errorf("csv: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
