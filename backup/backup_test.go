package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

const dests = `
destinations:
  onsite: {path: /b/onsite, password: "${PW}"}
  offsite: {path: /b/offsite, password: "${PW}"}
`

// t0 is a Monday at 05:00 UTC; the daily backups of the tests run at 06:00.
var t0 = time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)

func TestRunWritesEveryDestination(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, command: {run: "dump-data", name: app.sql}, schedule: "0 6 * * *", to: [onsite, offsite], keep: {last: 2}}
`, t0)
	var events []Event
	run, err := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != upkeep.BackupSucceeded || run.Error != "" || len(run.Destinations) != 2 {
		t.Fatalf("run %+v", run)
	}
	stored := f.runs("app")
	if len(stored) != 1 || stored[0].Status != upkeep.BackupSucceeded || stored[0].Trigger != upkeep.TriggerCLI || len(stored[0].Destinations) != 2 {
		t.Fatalf("stored %+v", stored)
	}
	for i, d := range stored[0].Destinations {
		if d.Destination != []string{"onsite", "offsite"}[i] || d.Status != upkeep.BackupSucceeded || d.Snapshot == "" || d.BytesRead != int64(len("dump-data")) || d.Files != 1 {
			t.Errorf("destination %d: %+v", i, d)
		}
		if got := f.repos.data[d.Snapshot]; string(got) != "dump-data" {
			t.Errorf("snapshot %s holds %q", d.Snapshot, got)
		}
	}
	if r := <-f.in.ch; r.Monitor != "app" || r.Outcome != upkeep.StateUp {
		t.Errorf("monitoring got %+v", r)
	}
	if events[0].Kind != "start" || events[len(events)-1].Kind != "done" {
		t.Errorf("events %+v", events)
	}
}

func TestPartialRunWhenOneDestinationFails(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, command: {run: "dump-data"}, schedule: "0 6 * * *", to: [offsite, onsite]}
`, t0)
	f.repos.fail["offsite"] = errors.New("dial tcp 192.0.2.1:443: connect: connection refused")
	run, err := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != upkeep.BackupPartial || !strings.Contains(run.Error, "offsite: opening the repository: dial tcp") {
		t.Fatalf("run %+v", run)
	}
	// The failing destination, first in the list, did not stop the other.
	if ids := f.repos.snapshotIDs("onsite"); len(ids) != 1 {
		t.Errorf("onsite snapshots %v", ids)
	}
	d := f.runs("app")[0].Destinations
	if d[0].Status != upkeep.BackupFailed || d[0].Snapshot != "" || d[1].Status != upkeep.BackupSucceeded || d[1].Snapshot == "" {
		t.Errorf("destinations %+v", d)
	}
	if r := <-f.in.ch; r.Outcome != upkeep.StateDown || !strings.Contains(r.Error, "backup partial: offsite") {
		t.Errorf("monitoring got %+v", r)
	}

	// Every destination failing, including through the source: the run failed.
	f.repos.fail["onsite"] = errors.New("no space left on device")
	run, _ = f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	if run.Status != upkeep.BackupFailed {
		t.Errorf("run %+v", run)
	}
}

func TestFailedProducerIsNoSnapshot(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, command: {run: fail}, schedule: "0 6 * * *", to: [onsite]}
`, t0)
	run, _ := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	if run.Status != upkeep.BackupFailed || !strings.Contains(run.Error, "exporter exited with status 3: disk full") {
		t.Fatalf("run %+v", run)
	}
	if ids := f.repos.snapshotIDs("onsite"); len(ids) != 0 {
		t.Errorf("snapshots %v", ids)
	}
}

func TestRetentionPerDestination(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite, offsite], keep: {last: 2}}
`, t0)
	f.repos.fail["offsite"] = errors.New("down")
	for range 2 {
		f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	}
	delete(f.repos.fail, "offsite")
	for range 2 {
		f.clock.Advance(time.Hour)
		f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	}
	// onsite has had four snapshots and keeps the newest two; offsite had two and keeps both.
	if got := f.repos.snapshotIDs("onsite"); len(got) != 2 {
		t.Errorf("onsite keeps %v", got)
	}
	if got := f.repos.forgot["onsite"]; len(got) != 2 {
		t.Errorf("onsite forgot %v", got)
	}
	if got := f.repos.forgot["offsite"]; len(got) != 0 {
		t.Errorf("offsite forgot %v", got)
	}
	if f.repos.maint["onsite"] != 2 || f.repos.maint["offsite"] != 0 {
		t.Errorf("maintenance runs %v", f.repos.maint)
	}
	last := f.runs("app")[0]
	if last.Destinations[0].Forgotten != 1 || last.Destinations[1].Forgotten != 0 {
		t.Errorf("forgotten %+v", last.Destinations)
	}
}

func TestHooks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "after")
	f := newFixture(t, dests+`
backups:
  - name: app
    files: {paths: [/srv]}
    schedule: "0 6 * * *"
    to: [onsite]
    hooks:
      before: ["sh", "-c", "test ! -e `+dir+`/stop || { echo maintenance mode failed >&2; exit 4; }"]
      after: "echo $UPKEEP_BACKUP_JOB $UPKEEP_BACKUP_STATUS >> `+out+`"
`, t0)
	run, _ := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	if run.Status != upkeep.BackupSucceeded {
		t.Fatalf("run %+v", run)
	}
	// A failing before hook aborts the run: nothing is written; the after hook still runs.
	if err := os.WriteFile(filepath.Join(dir, "stop"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run, _ = f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	if run.Status != upkeep.BackupFailed || !strings.Contains(run.Error, "before hook:") || !strings.Contains(run.Error, "exit status 4: maintenance mode failed") {
		t.Fatalf("run %+v", run)
	}
	if ids := f.repos.snapshotIDs("onsite"); len(ids) != 1 {
		t.Errorf("snapshots %v", ids)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != "app succeeded\n" {
		t.Errorf("after hook wrote %q, %v", got, err)
	}
}

func TestOneRunPerJob(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite]}
  - {name: other, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [offsite]}
  - {name: third, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite]}
`, t0)
	f.run()
	block := make(chan struct{})
	f.repos.block = block
	id, err := f.svc.Start(t.Context(), "app", upkeep.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	<-f.repos.started
	if _, err := f.svc.Start(t.Context(), "app", upkeep.TriggerManual); !errors.Is(err, ErrRunning) {
		t.Errorf("second start: %v", err)
	}
	// Another process on the same data directory (upkeep backup run) is refused too.
	other := f.newService()
	if err := other.Apply(t.Context(), f.policy); err != nil {
		t.Fatal(err)
	}
	if _, err := other.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil); !errors.Is(err, ErrRunning) {
		t.Errorf("run from another service: %v", err)
	}
	// Other jobs are not held up; one writing to the same destination waits for its turn.
	id2, err := f.svc.Start(t.Context(), "other", upkeep.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	<-f.repos.started
	id3, err := f.svc.Start(t.Context(), "third", upkeep.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if st := f.svc.Jobs(); st[0].Running != id || st[1].Running != id2 || st[2].Running != id3 {
		t.Errorf("jobs %+v", st)
	}
	select {
	case d := <-f.repos.started:
		t.Errorf("a second writer on %s", d)
	default:
	}
	close(block)
	if r := f.waitRun(id); r.Status != upkeep.BackupSucceeded || r.Trigger != upkeep.TriggerManual {
		t.Errorf("run %+v", r)
	}
	f.waitRun(id2)
	if r := f.waitRun(id3); r.Status != upkeep.BackupSucceeded {
		t.Errorf("third run %+v", r)
	}
	if _, err := other.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil); err != nil {
		t.Errorf("run after the first ended: %v", err)
	}
	if _, err := f.svc.Start(t.Context(), "nope", upkeep.TriggerManual); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("unknown job: %v", err)
	}
}

func TestTimeoutCancelsTheRun(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite, offsite], timeout: 1s}
`, t0)
	f.repos.block = make(chan struct{}) // never released: only the timeout ends the run
	run, err := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != upkeep.BackupFailed || !strings.Contains(run.Error, "onsite: writing the snapshot: timed out after 1s") {
		t.Fatalf("run %+v", run)
	}
}

func TestScheduleAndCatchUp(t *testing.T) {
	doc := dests + `
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite]}
  - {name: nocatch, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite], catch_up: false}
`
	f := newFixture(t, doc, t0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Hour) // 06:00: both jobs run
	for range 2 {
		<-f.repos.started
	}
	for _, job := range []string{"app", "nocatch"} {
		r := f.runs(job)
		if len(r) != 1 {
			t.Fatalf("%s runs %+v", job, r)
		}
		if r = []upkeep.BackupRun{f.waitRun(r[0].ID)}; r[0].Trigger != upkeep.TriggerSchedule || !r[0].Scheduled.Equal(t0.Add(time.Hour)) || r[0].Status != upkeep.BackupSucceeded {
			t.Errorf("%s run %+v", job, r[0])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Upkeep is down for three days; at 07:00 on day 3 it starts again.
	f.clock.Advance(3*24*time.Hour + time.Hour)
	f.svc = f.newService()
	f.apply(doc)
	f.run()
	<-f.repos.started
	app := f.runs("app")
	if len(app) != 3 {
		t.Fatalf("app runs %+v", app)
	}
	catchUp, missed := f.waitRun(app[0].ID), app[1]
	day := 24 * time.Hour
	if missed.Status != upkeep.BackupMissed || !missed.Scheduled.Equal(t0.Add(day+time.Hour)) ||
		!strings.Contains(missed.Error, "3 scheduled runs missed") || !strings.Contains(missed.Error, "caught up at startup") {
		t.Errorf("missed %+v", missed)
	}
	if catchUp.Trigger != upkeep.TriggerCatchUp || !catchUp.Scheduled.Equal(t0.Add(3*day+time.Hour)) || catchUp.Status != upkeep.BackupSucceeded {
		t.Errorf("catch-up %+v", catchUp)
	}
	nc := f.runs("nocatch")
	if len(nc) != 2 || nc[0].Status != upkeep.BackupMissed || strings.Contains(nc[0].Error, "caught up") {
		t.Errorf("nocatch runs %+v", nc)
	}
	// The miss is recorded once: a restart does not record it again.
	f.svc = f.newService()
	f.apply(doc)
	if err := f.svc.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if nc2 := f.runs("nocatch"); len(nc2) != 2 {
		t.Errorf("nocatch runs after another restart %+v", nc2)
	}
}

func TestMonitorState(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite], grace: 30m}
`, t0)
	ev, err := f.svc.Evaluator(*f.policy.Monitor("app"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ev.Evaluate(t0.Add(90 * time.Minute)); ok {
		t.Error("reported before the deadline (06:30)")
	}
	r, ok := ev.Evaluate(t0.Add(91 * time.Minute))
	if !ok || r.Outcome != upkeep.StateDown || !r.Time.Equal(t0.Add(90*time.Minute)) || r.Monitor != "app" ||
		r.Error != "missed: the run scheduled at 2026-11-23 06:00 UTC had not started by 2026-11-23 06:30 UTC (grace 30m)" {
		t.Fatalf("missed: %+v %v", r, ok)
	}
	if _, ok := ev.Evaluate(t0.Add(2 * time.Hour)); ok {
		t.Error("the same miss reported twice")
	}
	// A run (late, by hand) makes the next deadline the next day's.
	f.clock.Advance(2 * time.Hour)
	if _, err := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil); err != nil {
		t.Fatal(err)
	}
	if r := <-f.in.ch; r.Outcome != upkeep.StateUp {
		t.Errorf("after a success: %+v", r)
	}
	if _, ok := ev.Evaluate(t0.Add(25 * time.Hour)); ok {
		t.Error("reported before the next deadline")
	}
	if r, ok := ev.Evaluate(t0.Add(26 * time.Hour)); !ok || !r.Time.Equal(t0.Add(25*time.Hour+30*time.Minute)) {
		t.Errorf("next day's miss: %+v %v", r, ok)
	}
}

func TestInterruptedRunsAtStartup(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite]}
`, t0)
	// A run left running by a process that died.
	id, err := f.db.StartBackupRun(t.Context(), upkeep.BackupRun{Job: "app", Trigger: upkeep.TriggerSchedule, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	f.run()
	for {
		if r, _ := f.db.BackupRun(t.Context(), id); r.Status != upkeep.BackupRunning {
			if r.Status != upkeep.BackupFailed || r.Error != sqlite.InterruptedError {
				t.Errorf("run %+v", r)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := f.svc.Jobs(); !reflect.DeepEqual(st[0].To, []string{"onsite"}) || st[0].Source != "files" || !st[0].Next.Equal(t0.Add(time.Hour)) {
		t.Errorf("jobs %+v", st)
	}
}

func TestScheduledVerifyAndMaintenance(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - name: app
    files: {paths: [/srv]}
    schedule: "0 6 * * *"
    to: [onsite, offsite]
    verify: {schedule: "30 5 * * *", read_data: "10%"}
    maintenance: {schedule: "30 5 * * *"}
`, t0)
	if _, err := f.svc.RunNow(t.Context(), "app", upkeep.TriggerCLI, nil); err != nil {
		t.Fatal(err)
	}
	if r := <-f.in.ch; r.Outcome != upkeep.StateUp {
		t.Fatalf("the run: %+v", r)
	}
	f.repos.corrupt["offsite"] = errors.New("snapshot app@2026-11-22: /srv/x: content is in pack p1, which is missing")
	f.run()
	f.clock.BlockUntil(1)
	f.clock.Advance(30 * time.Minute) // 05:30: verification and maintenance of both destinations
	r := <-f.in.ch
	if r.Monitor != "app" || r.Outcome != upkeep.StateDown || r.Error != "verification failed: offsite: snapshot app@2026-11-22: /srv/x: content is in pack p1, which is missing" {
		t.Errorf("monitoring got %+v", r)
	}
	for {
		f.repos.mu.Lock()
		done := f.repos.maint["onsite"] == 1 && f.repos.maint["offsite"] == 1 && f.repos.verified["onsite"] == 1
		f.repos.mu.Unlock()
		if done {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Each destination's verification is in the history.
	hist, err := f.db.BackupVerifications(t.Context(), "app", 10)
	if err != nil || len(hist) != 2 {
		t.Fatalf("verifications %+v %v", hist, err)
	}
	want := []upkeep.BackupVerification{
		{ID: 2, Job: "app", Destination: "offsite", Trigger: upkeep.TriggerSchedule, Status: upkeep.VerifyFailed, Start: t0.Add(30 * time.Minute),
			End: t0.Add(30 * time.Minute), ReadData: 0.1, Error: "snapshot app@2026-11-22: /srv/x: content is in pack p1, which is missing"},
		{ID: 1, Job: "app", Destination: "onsite", Trigger: upkeep.TriggerSchedule, Status: upkeep.VerifyIntact, Start: t0.Add(30 * time.Minute),
			End: t0.Add(30 * time.Minute), ReadData: 0.1, Snapshots: 1},
	}
	for i := range want {
		if hist[i] != want[i] {
			t.Errorf("verification %d\n got %+v\nwant %+v", i, hist[i], want[i])
		}
	}
	// On demand, for one destination.
	res, err := f.svc.Verify(t.Context(), "app", "onsite", 0.1, upkeep.TriggerCLI)
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Destination != "onsite" {
		t.Errorf("verify onsite: %+v %v", res, err)
	}
	if _, err := f.svc.Verify(t.Context(), "app", "elsewhere", 0, upkeep.TriggerCLI); !errors.Is(err, ErrUnknownDestination) {
		t.Errorf("unknown destination: %v", err)
	}
	// An emptied destination looks like a new repository: no snapshots is a failure.
	f.repos.mu.Lock()
	f.repos.snaps["onsite"] = nil
	f.repos.mu.Unlock()
	res, err = f.svc.Verify(t.Context(), "app", "onsite", 0, upkeep.TriggerCLI)
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, ErrNoSnapshots) {
		t.Errorf("verify of an emptied destination: %+v %v", res, err)
	}
	if r := <-f.in.ch; r.Outcome != upkeep.StateDown || !strings.Contains(r.Error, "verification failed: onsite: the repository holds no snapshots") {
		t.Errorf("monitoring got %+v", r)
	}
	if hist, err := f.db.BackupVerifications(t.Context(), "app", 1); err != nil || hist[0].Trigger != upkeep.TriggerCLI || hist[0].Status != upkeep.VerifyFailed {
		t.Errorf("last verification %+v %v", hist, err)
	}
}

func TestStopInterruptsTheRun(t *testing.T) {
	f := newFixture(t, dests+`
backups:
  - {name: app, files: {paths: [/srv]}, schedule: "0 6 * * *", to: [onsite]}
`, t0)
	f.repos.block = make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan upkeep.BackupRun, 1)
	go func() {
		r, _ := f.svc.RunNow(ctx, "app", upkeep.TriggerCLI, nil)
		done <- r
	}()
	<-f.repos.started
	cancel()
	r := <-done
	if r.Status != upkeep.BackupFailed || !strings.HasPrefix(r.Error, "interrupted: Upkeep stopped during the run (onsite: writing the snapshot: context canceled") {
		t.Errorf("run %+v", r)
	}
	if stored := f.runs("app"); stored[0].Status != upkeep.BackupFailed || stored[0].Error != r.Error {
		t.Errorf("stored %+v", stored[0])
	}
}
