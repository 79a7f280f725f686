package upkeep

import "time"

// Kinds of status page subscriber.
const (
	SubscriberEmail   = "email"
	SubscriberWebhook = "webhook"
)

// Subscriber is someone told about the status page's incidents and maintenance: an e-mail
// address (after double opt-in) or a webhook URL. Address is personal data: it is never logged,
// shown in public output or put in errors (package subscription masks it).
type Subscriber struct {
	ID       int64
	Kind     string   // SubscriberEmail or SubscriberWebhook
	Address  string   // the e-mail address (lower case) or the webhook URL
	Services []string // the services subscribed to; empty: all
	// Secret signs webhook bodies (HMAC-SHA256, as the webhook channel does); empty for e-mail.
	Secret      string
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while an e-mail subscription awaits its confirmation
}

// Confirmed reports whether the subscriber receives notices.
func (s Subscriber) Confirmed() bool { return !s.ConfirmedAt.IsZero() }

// PublicUpdate is an incident update as the status page's subscribers are told it, with what
// the incident was when the fan-out read it.
type PublicUpdate struct {
	Update   IncidentUpdate
	Incident int64
	Title    string
	Impact   Impact
	Services []string
	// First is whether it is the incident's first update (the incident was opened);
	// PrevStatus is the incident's status before it ("" for the first).
	First      bool
	PrevStatus IncidentStatus
	StartedAt  time.Time
	ResolvedAt time.Time
}

// SubscriberTx is the store inside one write transaction of the subscribers' fan-out.
type SubscriberTx interface {
	// Watermark is the id of the last incident update fanned out to subscribers.
	Watermark() (int64, error)
	SetWatermark(id int64) error
	// UpdatesAfter returns up to limit incident updates with an id above after, in id order.
	UpdatesAfter(after int64, limit int) ([]PublicUpdate, error)
	// Subscribers returns the confirmed subscribers.
	Subscribers() ([]Subscriber, error)
	// Enqueue adds a pending notification unless one with its key exists.
	Enqueue(n Notification) (bool, error)
}
