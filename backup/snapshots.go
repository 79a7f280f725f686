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
	dests, err := s.destinationsOf(name, only)
	if err != nil {
		return nil, err
	}
	out := make([]DestinationSnapshots, 0, len(dests))
	for _, d := range dests {
		var snaps []Snapshot
		err := s.withRepo(ctx, d, func(r Repository) error {
			var err error
			snaps, err = r.Snapshots(ctx, name)
			return err
		})
		out = append(out, DestinationSnapshots{Destination: d.name, Snapshots: snaps, Err: err})
	}
	return out, nil
}

// destinationsOf returns the destinations of job, or only the one named only when it is set.
func (s *Service) destinationsOf(name, only string) ([]destination, error) {
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
	if only == "" {
		return dests, nil
	}
	i := slices.IndexFunc(dests, func(d destination) bool { return d.name == only })
	if i < 0 {
		return nil, fmt.Errorf("backup %q is not written to a destination named %q: %w", name, only, ErrUnknownDestination)
	}
	return dests[i : i+1], nil
}
