// Package drill runs restore drills: it restores a backup into the target the policy names,
// verifies the restored data and measures the recovery against the objectives.
//
// A run has three phases, each timed:
//
//   - fetch: open the repository of one destination of the backup, reading every byte from the
//     destination itself (a fresh, private state directory and no cache), and pick the snapshot;
//   - restore: wipe the target (only a target the policy marks as wipeable) and restore into it
//     (files with the repository's RestoreFiles, databases with package backup/restore);
//   - verify: the policy's checks, in order; the first failure fails the drill.
//
// RTO is measured from the drill's start until the last check passed, RPO as the age of the
// restored data at the start (the snapshot's time, or freshness_sql's answer). Exceeding
// max_rto or max_rpo fails the drill. Every run is recorded (Store) as it starts and when it
// ends, so a run cut short by a crash is found and marked interrupted at the next start.
//
// The package needs little from the backup side, through the Backups interface: what a job
// backs up and which destinations it writes to, and a way to open one destination's repository
// without a cache. RepoBackups implements it over backup/repo for callers that already know
// each destination's repo.Destination and password; backup.DrillBackups is the policy's.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/policy"
)

// Job is what a drill needs to know about a backup job.
type Job struct {
	Name string
	// Source is the job's source kind, as policy.Backup.Source names it (policy.SourceFiles, ...).
	Source string
	// Paths are the paths a files job backs up, to compare restored files with the live ones.
	Paths []string
	// Destinations are the names of the destinations the job writes to, in policy order.
	Destinations []string
}

// Repository is what a drill reads of an open backup repository; *repo.Repo has it.
type Repository interface {
	Snapshots(ctx context.Context, source string) ([]repo.Snapshot, error)
	RestoreFiles(ctx context.Context, id, target string, progress func(repo.Progress)) error
	Entries(ctx context.Context, id string) ([]string, error)
	OpenEntry(ctx context.Context, id, name string) (io.ReadCloser, error)
	Close(ctx context.Context) error
}

// Backups is the drill's view of the backup jobs.
type Backups interface {
	// Job describes the backup job called name.
	Job(name string) (Job, error)
	// OpenUncached opens the repository of destination dest of job so that every byte is read
	// from the destination: stateDir is an empty directory private to this run.
	OpenUncached(ctx context.Context, job, dest, stateDir string) (Repository, error)
}

// Store records drill runs.
type Store interface {
	// StartDrillRun stores a running run and sets its ID.
	StartDrillRun(ctx context.Context, r *upkeep.DrillRun) error
	// FinishDrillRun stores the outcome of a run started with StartDrillRun.
	FinishDrillRun(ctx context.Context, r *upkeep.DrillRun) error
	// LastDrillDestination is the destination of the drill's newest run, "" if none.
	LastDrillDestination(ctx context.Context, drill string) (string, error)
}

// Runner runs drills.
type Runner struct {
	Backups Backups
	Store   Store
	// WorkDir holds the private state directories of the runs and the restored files of command
	// targets; each run empties what it uses.
	WorkDir string
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// afterRestore, when set (tests), runs between the restore and the checks.
	afterRestore func(target string)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Failure is the reason a drill failed; Run returns it (wrapped) with the recorded run.
type Failure struct {
	Phase  string // fetch, restore, verify, rto, rpo
	Reason string
}

func (f *Failure) Error() string { return f.Phase + ": " + f.Reason }

func fail(phase string, err error) *Failure { return &Failure{Phase: phase, Reason: err.Error()} }

// Run runs drill d once and records it. destination overrides the drill's choice of destination
// when not empty. The run is returned whatever its outcome; the error is a *Failure when the
// drill failed, or another error when it could not be recorded.
func (r *Runner) Run(ctx context.Context, d *policy.Drill, destination string) (*upkeep.DrillRun, error) {
	run, job, err := r.begin(ctx, d, destination, upkeep.TriggerCLI, time.Time{})
	if err != nil {
		return nil, err
	}
	return run, r.complete(ctx, d, job, run)
}

// begin picks the destination and records the start of a run of d.
func (r *Runner) begin(ctx context.Context, d *policy.Drill, destination string, trigger upkeep.BackupTrigger, slot time.Time) (*upkeep.DrillRun, Job, error) {
	job, err := r.Backups.Job(d.Backup)
	if err != nil {
		return nil, Job{}, fmt.Errorf("drill %s: %w", d.Name, err)
	}
	if destination == "" {
		destination, err = r.pickDestination(ctx, d, job)
		if err != nil {
			return nil, Job{}, err
		}
	}
	run := &upkeep.DrillRun{
		Drill: d.Name, Backup: d.Backup, Destination: destination, Status: upkeep.DrillRunning, Trigger: trigger, Scheduled: slot,
		Started: r.now(), MaxRTO: d.MaxRTO.Duration, MaxRPO: d.MaxRPO.Duration,
	}
	if err := r.Store.StartDrillRun(ctx, run); err != nil {
		return nil, Job{}, fmt.Errorf("drill %s: recording the start: %w", d.Name, err)
	}
	r.logger().Info("drill started", "drill", d.Name, "run", run.ID, "destination", destination, "backup", d.Backup, "trigger", trigger)
	return run, job, nil
}

// complete does the run that begin recorded and records its outcome: passed, failed, or
// interrupted when ctx ended first (Upkeep is stopping). It returns a *Failure when the drill
// failed or was interrupted, another error when the outcome could not be recorded.
func (r *Runner) complete(ctx context.Context, d *policy.Drill, job Job, run *upkeep.DrillRun) error {
	log := r.logger().With("drill", d.Name, "run", run.ID, "destination", run.Destination)
	timeout := d.Timeout.Duration
	if timeout <= 0 {
		timeout = policy.DefaultDrillTimeout
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	failure := r.run(runCtx, d, job, run)
	timedOut := errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if failure != nil && timedOut {
		failure = &Failure{Phase: failure.Phase, Reason: fmt.Sprintf("timed out after %s (%s)", policy.Duration{Duration: timeout}, failure.Reason)}
	}

	run.Finished = r.now()
	run.Status = upkeep.DrillPassed
	switch {
	case failure != nil && ctx.Err() != nil:
		run.Status, run.Reason = upkeep.DrillInterrupted, "interrupted: Upkeep stopped during the drill ("+failure.Error()+")"
		failure = &Failure{Phase: failure.Phase, Reason: run.Reason}
	case failure != nil:
		run.Status, run.Reason = upkeep.DrillFailed, failure.Error()
	}
	// The outcome is recorded even when ctx was cancelled (shutdown): the run did end.
	if err := r.Store.FinishDrillRun(context.WithoutCancel(ctx), run); err != nil {
		return fmt.Errorf("drill %s: recording the outcome: %w", d.Name, err)
	}
	if failure != nil {
		log.Warn("drill "+string(run.Status), "reason", run.Reason)
		return failure
	}
	log.Info("drill passed", "rto", run.RTO, "rpo", run.RPO)
	return nil
}

// pickDestination is the drill's destination, or the backup's destination after the one of the
// drill's previous run, so that the runs prove every copy in turn.
func (r *Runner) pickDestination(ctx context.Context, d *policy.Drill, job Job) (string, error) {
	if d.Destination != "" {
		return d.Destination, nil
	}
	if len(job.Destinations) == 0 {
		return "", fmt.Errorf("drill %s: backup %s has no destinations", d.Name, job.Name)
	}
	last, err := r.Store.LastDrillDestination(ctx, d.Name)
	if err != nil {
		return "", fmt.Errorf("drill %s: %w", d.Name, err)
	}
	for i, name := range job.Destinations {
		if name == last {
			return job.Destinations[(i+1)%len(job.Destinations)], nil
		}
	}
	return job.Destinations[0], nil
}

// run does the phases, filling in run; it returns why the drill failed, or nil.
func (r *Runner) run(ctx context.Context, d *policy.Drill, job Job, run *upkeep.DrillRun) *Failure {
	// fetch
	phase := r.now()
	stateDir := filepath.Join(r.WorkDir, "state", d.Name)
	if err := emptyDir(stateDir); err != nil {
		return fail("fetch", err)
	}
	defer os.RemoveAll(stateDir)
	rep, err := r.Backups.OpenUncached(ctx, job.Name, run.Destination, stateDir)
	if err != nil {
		return fail("fetch", err)
	}
	defer rep.Close(context.WithoutCancel(ctx)) //nolint:errcheck // read only
	snap, err := pickSnapshot(ctx, rep, job.Name, d.Snapshot, run.Started)
	if err != nil {
		return fail("fetch", err)
	}
	run.SnapshotID, run.SnapshotTime = snap.ID, snap.Time
	run.Fetch = r.now().Sub(phase)

	// restore
	phase = r.now()
	t := newTarget(d, r.WorkDir)
	restored, err := t.restore(ctx, rep, snap)
	run.Files, run.Bytes = restored.files, restored.bytes
	run.Restore = r.now().Sub(phase)
	if err != nil {
		return fail("restore", err)
	}
	if !d.Keep {
		defer t.cleanup(context.WithoutCancel(ctx), r.logger())
	}
	if r.afterRestore != nil {
		r.afterRestore(t.where())
	}
	done := r.now()

	// verify
	phase = r.now()
	env := t.env(d.Name)
	for _, step := range d.Verify {
		start := r.now()
		res := upkeep.DrillStep{Kind: step.Kind(), Passed: true}
		err := r.verify(ctx, &step, t, rep, snap, job, env)
		res.Duration = r.now().Sub(start)
		if err != nil {
			res.Passed, res.Message = false, err.Error()
		}
		run.Steps = append(run.Steps, res)
		if err != nil {
			run.Verify = r.now().Sub(phase)
			return &Failure{Phase: "verify", Reason: fmt.Sprintf("%s check: %s", step.Kind(), err)}
		}
		done = r.now()
	}
	run.Verify = r.now().Sub(phase)

	// measure
	run.RTO = done.Sub(run.Started)
	newest := snap.Time
	if d.FreshnessSQL != "" {
		ts, err := t.freshness(ctx, d.FreshnessSQL)
		if err != nil {
			return fail("rpo", fmt.Errorf("freshness_sql: %w", err))
		}
		newest = ts
	}
	run.RPO = max(run.Started.Sub(newest), 0)
	if d.MaxRTO.Duration > 0 && run.RTO > d.MaxRTO.Duration {
		return &Failure{Phase: "rto", Reason: fmt.Sprintf("recovery took %s, more than max_rto %s", round(run.RTO), d.MaxRTO)}
	}
	if d.MaxRPO.Duration > 0 && run.RPO > d.MaxRPO.Duration {
		return &Failure{Phase: "rpo", Reason: fmt.Sprintf("the restored data is %s old (from %s), more than max_rpo %s",
			round(run.RPO), newest.UTC().Format(time.RFC3339), d.MaxRPO)}
	}
	return nil
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(time.Millisecond)
	}
	return d
}

// ErrNoSnapshot is returned (wrapped) when the destination holds no suitable snapshot.
var ErrNoSnapshot = errors.New("no snapshot to restore")

// pickSnapshot returns the newest complete snapshot of job, taken at or before start minus
// choice.Before.
func pickSnapshot(ctx context.Context, rep Repository, job string, choice policy.DrillSnapshot, start time.Time) (repo.Snapshot, error) {
	snaps, err := rep.Snapshots(ctx, job)
	if err != nil {
		return repo.Snapshot{}, err
	}
	limit := start.Add(-choice.Before)
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if s.Incomplete == "" && !s.Time.After(limit) {
			return s, nil
		}
	}
	if choice.Before > 0 {
		return repo.Snapshot{}, fmt.Errorf("%w: none of backup %s's %d snapshots was taken before %s", ErrNoSnapshot, job, len(snaps), limit.UTC().Format(time.RFC3339))
	}
	return repo.Snapshot{}, fmt.Errorf("%w: backup %s has no complete snapshot at this destination", ErrNoSnapshot, job)
}

// emptyDir makes dir an empty directory (mode 0700).
func emptyDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("emptying %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}
