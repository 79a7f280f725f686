package incident

import (
	"context"
	"sync/atomic"

	"github.com/upkeep-dev/upkeep"
)

// versionedStore counts the incident transactions that committed, so that readers (the status
// page's cache) know when what they made of the incidents is out of date.
type versionedStore struct {
	Store
	version *atomic.Uint64
}

func (s versionedStore) IncidentTx(ctx context.Context, fn func(upkeep.IncidentTx) error) error {
	err := s.Store.IncidentTx(ctx, fn)
	if err == nil {
		s.version.Add(1)
	}
	return err
}

// Version changes after every committed change of incidents (opened, updated, acknowledged,
// escalated, resolved, reported). A transaction that changed nothing counts too: the number
// only ever tells that something may have changed.
func (m *Manager) Version() uint64 { return m.version.Load() }
