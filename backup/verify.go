package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// VerifyResult is the verification of one destination's repository.
type VerifyResult struct {
	Destination string
	Report      VerifyReport
	Err         error
	Took        time.Duration
}

// ErrNoSnapshots is the error of a repository that holds no snapshot: opening a destination
// creates a repository where there is none, so an emptied destination would look new.
var ErrNoSnapshots = errors.New("the repository holds no snapshots (was the destination emptied?)")

// Verify checks the repositories of job's destinations (only one when only is set) and
// re-reads readData (0 to 1) of their content. A damaged or unreadable repository has its error;
// the others are checked all the same. Each destination's verification is recorded in the store
// (trigger says who asked for it), and when one fails the backup's monitor goes down with the
// problems as the cause.
func (s *Service) Verify(ctx context.Context, name, only string, readData float64, trigger upkeep.BackupTrigger) ([]VerifyResult, error) {
	pending, err := s.beginVerify(ctx, name, only, readData, trigger)
	if err != nil {
		return nil, err
	}
	return s.finishVerify(ctx, name, pending), nil
}

// StartVerify records the verifications Verify would do, returns their ids and does them in the
// background, for as long as Run's context lives (not ctx, which only bounds the start).
func (s *Service) StartVerify(ctx context.Context, name, only string, readData float64, trigger upkeep.BackupTrigger) ([]int64, error) {
	s.mu.Lock()
	base := s.runCtx
	s.mu.Unlock()
	if base == nil {
		return nil, errors.New("backups are not running yet")
	}
	pending, err := s.beginVerify(ctx, name, only, readData, trigger)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(pending))
	for i, p := range pending {
		ids[i] = p.v.ID
	}
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.finishVerify(base, name, pending)
	}()
	return ids, nil
}

// pendingVerify is a verification of one destination, recorded as running.
type pendingVerify struct {
	d destination
	v upkeep.BackupVerification
}

// beginVerify records a running verification for each destination to verify.
func (s *Service) beginVerify(ctx context.Context, name, only string, readData float64, trigger upkeep.BackupTrigger) ([]pendingVerify, error) {
	dests, err := s.destinationsOf(name, only)
	if err != nil {
		return nil, err
	}
	out := make([]pendingVerify, len(dests))
	for i, d := range dests {
		v := upkeep.BackupVerification{Job: name, Destination: d.name, Trigger: trigger, Status: upkeep.VerifyRunning, Start: s.clock.Now(), ReadData: readData}
		if v.ID, err = s.store.StartBackupVerification(ctx, v); err != nil {
			return nil, err
		}
		out[i] = pendingVerify{d, v}
	}
	return out, nil
}

// finishVerify does the verifications, records their ends, and tells monitoring of a failure.
func (s *Service) finishVerify(ctx context.Context, name string, pending []pendingVerify) []VerifyResult {
	out := make([]VerifyResult, 0, len(pending))
	var failed []string
	for _, p := range pending {
		res := s.verifyDestination(ctx, p.d, p.v)
		if res.Err != nil {
			failed = append(failed, p.d.name+": "+res.Err.Error())
		}
		out = append(out, res)
	}
	if len(failed) > 0 && ctx.Err() == nil && s.ingest != nil {
		s.ingest.Ingest(upkeep.Result{Monitor: name, Location: upkeep.LocalLocation, Time: s.clock.Now().UTC().Truncate(time.Millisecond),
			Outcome: upkeep.StateDown, Error: "verification failed: " + strings.Join(failed, "; ")})
	}
	return out
}

// verifyDestination verifies the repository at d and records the end of verification v.
func (s *Service) verifyDestination(ctx context.Context, d destination, v upkeep.BackupVerification) VerifyResult {
	v.Start = s.clock.Now() // when this destination's turn came
	readData := v.ReadData
	res := VerifyResult{Destination: d.name}
	res.Err = s.withRepo(ctx, d, func(r Repository) error {
		var err error
		res.Report, err = r.Verify(ctx, readData)
		return err
	})
	if res.Err == nil && res.Report.Snapshots == 0 {
		res.Err = ErrNoSnapshots
	}
	v.End = s.clock.Now()
	res.Took = v.End.Sub(v.Start)
	v.Snapshots, v.Objects, v.ReadFiles, v.ReadBytes = res.Report.Snapshots, res.Report.Objects, res.Report.ReadFiles, res.Report.ReadBytes
	v.Status = upkeep.VerifyIntact
	if res.Err != nil {
		v.Status, v.Error = upkeep.VerifyFailed, res.Err.Error()
		if ctx.Err() != nil {
			v.Error = "interrupted: " + v.Error
		}
	}
	// The record of the end must survive the verification's context ending.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.store.FinishBackupVerification(rec, v); err != nil {
		s.log.Error("recording the end of a backup verification failed", "job", v.Job, "destination", d.name, "err", err)
	}
	return res
}

// Maintain runs the full maintenance of job's repositories, which frees the space of forgotten
// snapshots; it returns the errors per destination.
func (s *Service) Maintain(ctx context.Context, name string) error {
	dests, err := s.destinationsOf(name, "")
	if err != nil {
		return err
	}
	var failed []string
	for _, d := range dests {
		if err := s.withRepo(ctx, d, func(r Repository) error { return r.Maintenance(ctx, true) }); err != nil {
			failed = append(failed, d.name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("maintenance of backup %q: %s", name, strings.Join(failed, "; "))
	}
	return nil
}

// withRepo opens d's repository, alone among this process's writers, for fn.
func (s *Service) withRepo(ctx context.Context, d destination, fn func(Repository) error) error {
	unlock, err := s.lockDestination(ctx, d.name)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := s.open(ctx, d.name, d.pol)
	if err != nil {
		return err
	}
	defer r.Close(context.WithoutCancel(ctx))
	return fn(r)
}

// scheduledVerify verifies job on its verify schedule; a problem makes the backup monitor down.
func (s *Service) scheduledVerify(ctx context.Context, name string, readData float64) {
	results, err := s.Verify(ctx, name, "", readData, upkeep.TriggerSchedule)
	if err != nil {
		s.log.Error("scheduled verification could not run", "job", name, "err", err)
		return
	}
	for _, r := range results {
		if r.Err != nil {
			s.log.Error("backup verification found problems", "job", name, "destination", r.Destination, "err", r.Err)
			continue
		}
		s.log.Info("backup repository verified", "job", name, "destination", r.Destination, "snapshots", r.Report.Snapshots, "read_bytes", r.Report.ReadBytes)
	}
}

func (s *Service) scheduledMaintenance(ctx context.Context, name string) {
	if err := s.Maintain(ctx, name); err != nil {
		s.log.Error("scheduled backup maintenance failed", "job", name, "err", err)
		return
	}
	s.log.Info("backup repositories maintained", "job", name)
}
