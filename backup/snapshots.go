package backup

import (
	"context"
	"fmt"
	"slices"
)

// DestinationSnapshots are the snapshots of a job at one destination, oldest first, or the
// error that kept them from being listed.
type DestinationSnapshots struct {
	Destination string
	Snapshots   []Snapshot
	Err         error
}

// Snapshots lists the snapshots of job at each of its destinations, or only at destination
// only when it is not empty. A destination that cannot be read has its error; the others are listed.
func (s *Service) Snapshots(ctx context.Context, name, only string) ([]DestinationSnapshots, error) {
	s.mu.Lock()
	j := s.jobs[name]
	var dests []destination
	if j != nil {
		for _, d := range j.pol.To {
			dests = append(dests, destination{d, s.dests[d]})
		}
	}
	s.mu.Unlock()
	if j == nil {
		return nil, fmt.Errorf("backup %q: %w", name, ErrUnknownJob)
	}
	if only != "" {
		i := slices.IndexFunc(dests, func(d destination) bool { return d.name == only })
		if i < 0 {
			return nil, fmt.Errorf("backup %q is not written to a destination named %q: %w", name, only, ErrUnknownDestination)
		}
		dests = dests[i : i+1]
	}
	out := make([]DestinationSnapshots, 0, len(dests))
	for _, d := range dests {
		snaps, err := s.listSnapshots(ctx, name, d)
		out = append(out, DestinationSnapshots{Destination: d.name, Snapshots: snaps, Err: err})
	}
	return out, nil
}

func (s *Service) listSnapshots(ctx context.Context, job string, d destination) ([]Snapshot, error) {
	unlock, err := s.lockDestination(ctx, d.name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := s.open(ctx, d.name, d.pol)
	if err != nil {
		return nil, err
	}
	defer r.Close(context.WithoutCancel(ctx))
	return r.Snapshots(ctx, job)
}
