package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// Start starts a run of job in the background and returns its id once the run is recorded.
// It returns ErrRunning when the job is running already, ErrUnknownJob for a job the policy
// does not have, and an error before Run has started. The run lives as long as Run's context,
// not ctx (which only bounds the start).
func (s *Service) Start(ctx context.Context, name string, trigger upkeep.BackupTrigger) (int64, error) {
	s.mu.Lock()
	base := s.runCtx
	s.mu.Unlock()
	if base == nil {
		return 0, errors.New("backups are not running yet")
	}
	r, err := s.begin(ctx, name, trigger, time.Time{})
	if err != nil {
		return 0, err
	}
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.finish(base, r, nil)
	}()
	return r.id, nil
}

// RunNow runs job and returns the run when it has ended; progress, if not nil, receives its
// events on the calling goroutine's behalf (it must be quick). For upkeep backup run without a
// server. The returned error is about starting or recording the run; how the run went is in
// the run's status.
func (s *Service) RunNow(ctx context.Context, name string, trigger upkeep.BackupTrigger, progress func(Event)) (upkeep.BackupRun, error) {
	r, err := s.begin(ctx, name, trigger, time.Time{})
	if err != nil {
		return upkeep.BackupRun{}, err
	}
	return s.finish(ctx, r, progress), nil
}

// running is a run that has begun: its lock is held and its row is stored.
type running struct {
	id     int64
	job    *job
	pol    policy.Backup
	dests  []destination
	run    upkeep.BackupRun
	unlock func()
}

type destination struct {
	name string
	pol  policy.Destination
}

// begin takes the job's lock and records the run's start.
func (s *Service) begin(ctx context.Context, name string, trigger upkeep.BackupTrigger, scheduled time.Time) (*running, error) {
	s.mu.Lock()
	j := s.jobs[name]
	var pol policy.Backup
	var dests []destination
	if j != nil {
		pol = j.pol
		for _, d := range pol.To {
			dests = append(dests, destination{d, s.dests[d]})
		}
	}
	s.mu.Unlock()
	if j == nil {
		return nil, fmt.Errorf("backup %q: %w", name, ErrUnknownJob)
	}
	if s.isRunning(j) {
		return nil, fmt.Errorf("backup %q: %w", name, ErrRunning)
	}
	unlock, err := s.lockJob(name)
	if err != nil {
		return nil, fmt.Errorf("backup %q: %w", name, err)
	}
	now := s.clock.Now()
	run := upkeep.BackupRun{Job: name, Trigger: trigger, Status: upkeep.BackupRunning, Scheduled: scheduled, Start: now}
	id, err := s.store.StartBackupRun(ctx, run)
	if err != nil {
		unlock()
		return nil, err
	}
	run.ID = id
	s.mu.Lock()
	if j.running != 0 { // another goroutine of this process got there first
		s.mu.Unlock()
		unlock()
		_ = s.store.FinishBackupRun(ctx, id, upkeep.BackupFailed, now, ErrRunning.Error())
		return nil, fmt.Errorf("backup %q: %w", name, ErrRunning)
	}
	j.running = id
	if scheduled.IsZero() {
		j.lastStart = now
	} else {
		j.lastStart = scheduled
	}
	s.mu.Unlock()
	s.log.Info("backup started", "job", name, "run", id, "trigger", trigger)
	return &running{id: id, job: j, pol: pol, dests: dests, run: run, unlock: unlock}, nil
}

// ready reports whether Prepare (or Run) has done its startup work and Start may be called.
func (s *Service) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runCtx != nil
}

func (s *Service) isRunning(j *job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return j.running != 0
}

// finish does the run and records its end. The run is bounded by the job's timeout.
func (s *Service) finish(ctx context.Context, r *running, progress func(Event)) upkeep.BackupRun {
	defer r.unlock()
	emit := func(e Event) {
		if progress != nil {
			e.Run, e.Job = r.id, r.pol.Name
			progress(e)
		}
	}
	emit(Event{Kind: "start", Message: fmt.Sprintf("backup %s started (run %d)", r.pol.Name, r.id)})
	timeout := r.pol.Timeout.Duration
	if timeout <= 0 {
		timeout = 6 * time.Hour
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %s", r.pol.Timeout))
	defer cancel()

	status, runErr := s.execute(runCtx, r, emit)
	if ctx.Err() != nil && status != upkeep.BackupSucceeded {
		// Upkeep is stopping (or the command was interrupted): say so rather than "context canceled".
		runErr = "interrupted: Upkeep stopped during the run (" + runErr + ")"
		status = upkeep.BackupFailed
	}
	// The record of the end must survive the run's context ending (timeout, shutdown).
	rec, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelRec()
	end := s.clock.Now()
	r.run.Status, r.run.End, r.run.Error = status, end, runErr
	if err := s.store.FinishBackupRun(rec, r.id, status, end, runErr); err != nil {
		s.log.Error("recording the end of a backup run failed", "job", r.pol.Name, "run", r.id, "err", err)
	}
	if s.ingest != nil {
		res := upkeep.Result{Monitor: r.pol.Name, Location: upkeep.LocalLocation, Time: end.UTC().Truncate(time.Millisecond), Latency: end.Sub(r.run.Start)}
		if status == upkeep.BackupSucceeded {
			res.Outcome = upkeep.StateUp
		} else {
			res.Outcome, res.Error = upkeep.StateDown, fmt.Sprintf("backup %s: %s", status, runErr)
		}
		s.ingest.Ingest(res)
	}
	s.mu.Lock()
	if r.job.running == r.id {
		r.job.running = 0
	}
	done := r.run
	r.job.lastRun = &done
	s.mu.Unlock()
	level := s.log.Info
	if status != upkeep.BackupSucceeded {
		level = s.log.Warn
	}
	level("backup ended", "job", r.pol.Name, "run", r.id, "status", status, "duration", end.Sub(r.run.Start).Round(time.Millisecond), "err", runErr)
	emit(Event{Kind: "done", Message: fmt.Sprintf("backup %s %s", r.pol.Name, status)})
	return r.run
}

// execute runs the hooks and writes to every destination; it returns the run's status and error.
func (s *Service) execute(ctx context.Context, r *running, emit func(Event)) (upkeep.BackupStatus, string) {
	env := []string{"UPKEEP_BACKUP_JOB=" + r.pol.Name, fmt.Sprintf("UPKEEP_BACKUP_RUN=%d", r.id)}
	if !r.pol.Hooks.Before.IsZero() {
		emit(Event{Kind: "hook", Message: "before hook: " + r.pol.Hooks.Before.String()})
		if err := runHook(ctx, r.pol.Hooks.Before, env); err != nil {
			return upkeep.BackupFailed, "before hook: " + err.Error()
		}
	}
	var failures []string
	ok := 0
	for _, d := range r.dests {
		res := s.writeDestination(ctx, r, d, emit)
		r.run.Destinations = append(r.run.Destinations, res)
		if res.Status == upkeep.BackupSucceeded {
			ok++
		} else {
			failures = append(failures, d.name+": "+res.Error)
		}
	}
	status := upkeep.BackupSucceeded
	switch {
	case ok == 0:
		status = upkeep.BackupFailed
	case ok < len(r.dests):
		status = upkeep.BackupPartial
	}
	if !r.pol.Hooks.After.IsZero() {
		emit(Event{Kind: "hook", Message: "after hook: " + r.pol.Hooks.After.String()})
		// The after hook runs even when the run timed out: it may have to undo what before did.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hookTimeoutAfter)
		err := runHook(hctx, r.pol.Hooks.After, append(env, "UPKEEP_BACKUP_STATUS="+string(status)))
		cancel()
		if err != nil {
			failures = append(failures, "after hook: "+err.Error())
			status = upkeep.BackupFailed
		}
	}
	return status, strings.Join(failures, "; ")
}

// hookTimeoutAfter bounds the after hook of a run that has already used up its time.
const hookTimeoutAfter = 10 * time.Minute

// writeDestination writes one snapshot to d and applies retention there.
func (s *Service) writeDestination(ctx context.Context, r *running, d destination, emit func(Event)) upkeep.BackupDestinationResult {
	res := upkeep.BackupDestinationResult{Destination: d.name, Status: upkeep.BackupRunning, Start: s.clock.Now()}
	s.record(ctx, r.id, res)
	emit(Event{Kind: "destination", Destination: d.name, Message: "writing to " + d.name})
	fail := func(what string, err error) upkeep.BackupDestinationResult {
		res.Status, res.End, res.Error = upkeep.BackupFailed, s.clock.Now(), what+": "+err.Error()
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			res.Error = what + ": " + cause.Error()
		}
		s.record(ctx, r.id, res)
		emit(Event{Kind: "destination done", Destination: d.name, Result: &res, Message: res.Error})
		return res
	}
	unlock, err := s.lockDestination(ctx, d.name)
	if err != nil {
		return fail("waiting for another backup writing to the destination", err)
	}
	defer unlock()
	repo, err := s.open(ctx, d.name, d.pol)
	if err != nil {
		return fail("opening the repository", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := repo.Close(cctx); err != nil {
			s.log.Warn("closing a backup repository", "job", r.pol.Name, "destination", d.name, "err", err)
		}
	}()
	progress := func(p Progress) { emit(Event{Kind: "progress", Destination: d.name, Progress: p}) }
	tags := map[string]string{"upkeep-run": fmt.Sprint(r.id), "upkeep-trigger": string(r.run.Trigger)}
	var snap Snapshot
	if r.pol.Files != nil {
		spec := FilesSpec{Paths: r.pol.Files.Paths, Exclude: r.pol.Files.Exclude, OneFileSystem: r.pol.Files.OneFileSystem}
		snap, err = repo.SnapshotFiles(ctx, r.pol.Name, spec, tags, progress)
	} else {
		var streams []Stream
		if s.streams == nil {
			err = fmt.Errorf("%s sources are not available in this build", r.pol.Source())
		} else {
			streams, err = s.streams(ctx, &r.pol)
		}
		if err != nil {
			return fail("reading the source", err)
		}
		snap, err = repo.SnapshotStreams(ctx, r.pol.Name, streams, tags, progress)
	}
	if err != nil {
		return fail("writing the snapshot", err)
	}
	res.Snapshot, res.BytesRead, res.BytesAdded, res.Files = snap.ID, snap.Bytes, snap.BytesAdded, snap.Files
	res.Status, res.End = upkeep.BackupSucceeded, s.clock.Now()
	// Retention, then the maintenance that frees the space, unless it has a schedule of its own.
	n, err := s.applyRetention(ctx, r, repo)
	res.Forgotten = n
	if err != nil {
		// The snapshot is safe; keeping too much is not a failed backup, but it must be seen.
		res.Error = "retention: " + err.Error()
		s.log.Warn("applying retention failed", "job", r.pol.Name, "destination", d.name, "err", err)
	}
	res.End = s.clock.Now()
	s.record(ctx, r.id, res)
	emit(Event{Kind: "destination done", Destination: d.name, Result: &res,
		Message: fmt.Sprintf("%s: snapshot %s, %d files, %d bytes read, %d added", d.name, res.Snapshot, res.Files, res.BytesRead, res.BytesAdded)})
	return res
}

// applyRetention forgets what the job's keep rules do not keep, and returns how many snapshots
// were forgotten.
func (s *Service) applyRetention(ctx context.Context, r *running, repo Repository) (int, error) {
	if !r.pol.Keep.Any() || s.retention == nil {
		return 0, nil
	}
	snaps, err := repo.Snapshots(ctx, r.pol.Name)
	if err != nil {
		return 0, fmt.Errorf("listing snapshots: %w", err)
	}
	loc := r.job.loc
	if loc == nil {
		loc = time.UTC
	}
	forget := s.retention(r.pol.Keep, snaps, s.clock.Now(), loc)
	if len(forget) == 0 {
		return 0, nil
	}
	forget = slices.Clone(forget)
	if err := repo.Forget(ctx, forget); err != nil {
		return 0, fmt.Errorf("forgetting %d snapshots: %w", len(forget), err)
	}
	if r.pol.Maintenance == nil {
		if err := repo.Maintenance(ctx, false); err != nil {
			return len(forget), fmt.Errorf("maintenance: %w", err)
		}
	}
	return len(forget), nil
}

// record stores a destination's result; a failure is logged, the run goes on.
func (s *Service) record(ctx context.Context, run int64, res upkeep.BackupDestinationResult) {
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.store.RecordBackupDestination(rec, run, res); err != nil {
		s.log.Error("recording a backup destination failed", "run", run, "destination", res.Destination, "err", err)
	}
}
