package incident

import (
	"context"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Store is what the package needs from the store (store/sqlite implements it).
type Store interface {
	// IncidentTx runs fn in one write transaction. fn may be run more than once (the store
	// retries a batch another write broke), so it must not keep effects outside the transaction
	// except through values it recomputes on every run.
	IncidentTx(ctx context.Context, fn func(upkeep.IncidentTx) error) error
	// TransitionsAfter returns up to limit transitions with an id above after, in id order.
	TransitionsAfter(ctx context.Context, after int64, limit int) ([]upkeep.StoredTransition, error)
	// Incidents lists incidents, open first (newest first within each group), with their
	// monitors. state is "open", "resolved" or "" for all.
	Incidents(ctx context.Context, state string, limit int) ([]upkeep.Incident, error)
	// Incident returns one incident with its monitors, updates and report, or an error
	// wrapping upkeep.ErrNotFound.
	Incident(ctx context.Context, id int64) (upkeep.Incident, error)
	// DueNotifications returns pending notifications in id order, at most limit.
	PendingNotifications(ctx context.Context, limit int) ([]upkeep.Notification, error)
	// Notifications lists notifications, newest first; state "" means all.
	Notifications(ctx context.Context, state string, limit int) ([]upkeep.Notification, error)
	MarkSent(ctx context.Context, id int64, at time.Time, attempts int) error
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	MarkFailed(ctx context.Context, id int64, at time.Time, attempts int, lastError string) error
	// AckKey returns the secret key of acknowledgement links, generated once per store.
	AckKey(ctx context.Context) ([]byte, error)
}
