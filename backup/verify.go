package backup

import (
	"context"
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
}

// Verify checks the repositories of job's destinations (only one when only is set) and
// re-reads readData (0 to 1) of their content. A damaged or unreadable repository has its error;
// the others are checked all the same.
func (s *Service) Verify(ctx context.Context, name, only string, readData float64) ([]VerifyResult, error) {
	dests, err := s.destinationsOf(name, only)
	if err != nil {
		return nil, err
	}
	out := make([]VerifyResult, 0, len(dests))
	for _, d := range dests {
		res := VerifyResult{Destination: d.name}
		res.Err = s.withRepo(ctx, d, func(r Repository) error {
			var err error
			res.Report, err = r.Verify(ctx, readData)
			return err
		})
		out = append(out, res)
	}
	return out, nil
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
	results, err := s.Verify(ctx, name, "", readData)
	if err != nil {
		s.log.Error("scheduled verification could not run", "job", name, "err", err)
		return
	}
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Destination+": "+r.Err.Error())
			continue
		}
		s.log.Info("backup repository verified", "job", name, "destination", r.Destination, "snapshots", r.Report.Snapshots, "read_bytes", r.Report.ReadBytes)
	}
	if len(failed) == 0 || ctx.Err() != nil {
		return
	}
	msg := "verification failed: " + strings.Join(failed, "; ")
	s.log.Error("backup verification found problems", "job", name, "err", msg)
	if s.ingest != nil {
		s.ingest.Ingest(upkeep.Result{Monitor: name, Location: upkeep.LocalLocation, Time: s.clock.Now().UTC().Truncate(time.Millisecond),
			Outcome: upkeep.StateDown, Error: msg})
	}
}

func (s *Service) scheduledMaintenance(ctx context.Context, name string) {
	if err := s.Maintain(ctx, name); err != nil {
		s.log.Error("scheduled backup maintenance failed", "job", name, "err", err)
		return
	}
	s.log.Info("backup repositories maintained", "job", name)
}
