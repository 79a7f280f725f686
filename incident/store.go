package incident

import (
	"context"
	"time"
)

// Store is what the package needs from the store (store/sqlite implements it).
type Store interface {
	// IncidentTx runs fn in one write transaction. fn may be run more than once (the store
	// retries a batch another write broke), so it must not keep effects outside the transaction
	// except through values it recomputes on every run.
	IncidentTx(ctx context.Context, fn func(Tx) error) error
	// TransitionsAfter returns up to limit transitions with an id above after, in id order.
	TransitionsAfter(ctx context.Context, after int64, limit int) ([]StoredTransition, error)
	// Incidents lists incidents, open first (newest first within each group), with their
	// monitors. state is "open", "resolved" or "" for all.
	Incidents(ctx context.Context, state string, limit int) ([]Incident, error)
	// Incident returns one incident with its monitors, updates and report, or an error
	// wrapping upkeep.ErrNotFound.
	Incident(ctx context.Context, id int64) (Incident, error)
	// DueNotifications returns pending notifications in id order, at most limit.
	PendingNotifications(ctx context.Context, limit int) ([]Notification, error)
	// Notifications lists notifications, newest first; state "" means all.
	Notifications(ctx context.Context, state string, limit int) ([]Notification, error)
	MarkSent(ctx context.Context, id int64, at time.Time, attempts int) error
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	MarkFailed(ctx context.Context, id int64, at time.Time, attempts int, lastError string) error
	// AckKey returns the secret key of acknowledgement links, generated once per store.
	AckKey(ctx context.Context) ([]byte, error)
}

// Tx is the store inside one write transaction.
type Tx interface {
	// Watermark is the id of the last transition applied to incidents.
	Watermark() (int64, error)
	SetWatermark(id int64) error
	// OpenIncidents returns the incidents not resolved, with their monitors, oldest first.
	OpenIncidents() ([]Incident, error)
	// Incident returns one incident with its monitors (not its updates).
	Incident(id int64) (Incident, error)
	// InsertIncident stores a new incident (and its monitors) and sets its ID.
	InsertIncident(inc *Incident) error
	// SaveIncident stores the incident's fields and monitors.
	SaveIncident(inc *Incident) error
	AddUpdate(incident int64, u Update) error
	// Enqueue adds a pending notification unless one with its key exists; it reports whether
	// it added one.
	Enqueue(n Notification) (bool, error)
	// NotifiedChannels returns the channels that were sent (or are to be sent) a page for the
	// incident: down, degraded or reminder notifications.
	NotifiedChannels(incident int64) ([]string, error)
	SetReport(incident int64, r Report) error
}
