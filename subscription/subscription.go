// Package subscription lets people subscribe to the status page's notices: incidents (opened,
// each update, resolved) and maintenance (scheduled, started, ended), by e-mail or by webhook.
//
// # E-mail: double opt-in
//
// POST /subscribe stores an unconfirmed subscriber and, in the same transaction, a confirmation
// mail in the outbox. The mail's link (/subscribe/confirm/{token}, signed with the store's
// subscription key, valid 48 hours) shows a page whose button POSTs: a mail scanner that
// fetches the link confirms nothing. Every mail carries a one-click unsubscribe link and the
// List-Unsubscribe and List-Unsubscribe-Post headers of RFC 8058; GET /unsubscribe/{token}
// shows a page, POST unsubscribes (deletes the subscriber). The answer to POST /subscribe is
// the same whether the address is new, pending or confirmed, so it tells nobody who subscribed.
// Unconfirmed subscriptions expire after 48 hours; at most max_pending may wait at once.
//
// # Rate limits
//
// POST /subscribe is limited per client IP (the connection's address: behind a reverse proxy
// all clients share the proxy's) and per address, in memory: a restart forgets the counts.
//
// # Webhooks
//
// Webhook subscribers are created only through the token API, never publicly: a public form
// would let anyone make Upkeep send requests to any URL. Their bodies are those of the webhook
// channel (package notify), signed with a secret generated per subscriber and shown once.
//
// # Durable notices
//
// Notices go through the outbox of package incident like alert notifications. The Publisher
// reads incident updates after a watermark and, in one transaction, enqueues one notice per
// subscriber of an incident's services and moves the watermark. Maintenance notices reach the
// outbox under the channel FanOutChannel (the maintenance scheduler adds it to every window);
// sending one enqueues a notice per subscriber, so a crash between the two only repeats the
// fan-out, which the idempotency keys make harmless. The keys are
// subscriber/{id}/incident/{n}/update/{m} and subscriber/{id}/maintenance/{window key}/{event}.
//
// Addresses are never logged, shown publicly or put in errors: the log shows subscriber ids.
package subscription

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/notify"
	"github.com/upkeep-dev/upkeep/policy"
)

// Channels of the outbox rows this package writes and sends. They begin with "@", which no
// channel of the policy can.
const (
	FanOutChannel  = "@subscribers"         // a maintenance notice, to be fanned out
	EmailChannel   = "@subscribers-email"   // one mail to one subscriber
	WebhookChannel = "@subscribers-webhook" // one request to one webhook subscriber
)

// Events of this package's own mails.
const EventConfirm = "subscription_confirm"

// Store is what the package needs from the store (store/sqlite implements it).
type Store interface {
	Subscribers(ctx context.Context, kind string) ([]upkeep.Subscriber, error)
	Subscriber(ctx context.Context, id int64) (upkeep.Subscriber, error)
	AddSubscriber(ctx context.Context, s *upkeep.Subscriber, maxPending int, notices func(upkeep.Subscriber) []upkeep.Notification) (bool, error)
	ConfirmSubscriber(ctx context.Context, id int64, services []string, at time.Time) (upkeep.Subscriber, error)
	RemoveSubscriber(ctx context.Context, id int64) error
	ExpireSubscribers(ctx context.Context, before time.Time) (int, error)
	SubscriptionKey(ctx context.Context) ([]byte, error)
	SubscriberTx(ctx context.Context, fn func(upkeep.SubscriberTx) error) error
}

// Config holds the dependencies of a Service.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Clock  engine.Clock // nil: the real clock
	// Notify wakes the outbox's delivery (wire it to (*incident.Delivery).Wake).
	Notify func()
	// Send are the options of the senders (HTTP client, version, TLS for SMTP).
	Send notify.Options
	// PerIP and PerAddress limit POST /subscribe: so many an hour (defaults 20 and 3).
	PerIP, PerAddress int
}

// ConfirmValidity is how long a confirmation link works and an unconfirmed subscription waits.
const ConfirmValidity = 48 * time.Hour

// DefaultMaxPending is the default cap on unconfirmed subscriptions.
const DefaultMaxPending = 1000

// Service runs subscriptions: the public pages, the API's operations, the senders and the
// fan-out of incident updates.
type Service struct {
	cfg   Config
	log   *slog.Logger
	pol   atomic.Pointer[policy.Policy]
	ipRL  *limiter
	adrRL *limiter
	wake  chan struct{}
}

// New returns a Service; Apply a policy before use.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if cfg.PerIP <= 0 {
		cfg.PerIP = 20
	}
	if cfg.PerAddress <= 0 {
		cfg.PerAddress = 3
	}
	if cfg.Send.Now == nil {
		cfg.Send.Now = cfg.Clock.Now
	}
	return &Service{cfg: cfg, log: cfg.Logger,
		ipRL: newLimiter(cfg.PerIP, time.Hour), adrRL: newLimiter(cfg.PerAddress, time.Hour), wake: make(chan struct{}, 1)}
}

// Apply puts a policy into effect.
func (s *Service) Apply(p *policy.Policy) {
	s.pol.Store(p)
	s.Wake()
}

func (s *Service) policy() *policy.Policy {
	if p := s.pol.Load(); p != nil {
		return p
	}
	return &policy.Policy{}
}

// settings returns the subscriptions of the policy in force, nil when there are none.
func (s *Service) settings() (*policy.Policy, *policy.Subscriptions) {
	p := s.policy()
	if p.StatusPage == nil {
		return p, nil
	}
	return p, p.StatusPage.Subscriptions
}

// emailChannel returns the e-mail channel that sends subscribers' mail, nil when e-mail
// subscriptions are off.
func (s *Service) emailChannel() *policy.EmailChannel {
	p, sub := s.settings()
	if sub == nil || sub.Email == nil {
		return nil
	}
	c, ok := p.Channels[sub.Email.Channel]
	if !ok {
		return nil
	}
	return c.Email
}

func (s *Service) maxPending() int {
	if _, sub := s.settings(); sub != nil && sub.Email != nil && sub.Email.MaxPending > 0 {
		return sub.Email.MaxPending
	}
	return DefaultMaxPending
}

// Enabled reports whether the policy in force has subscriptions (the maintenance scheduler
// adds FanOutChannel to windows only then).
func (s *Service) Enabled() bool {
	_, sub := s.settings()
	return sub != nil && (sub.Email != nil || sub.Webhooks)
}

// publicURL is the server's public URL without a trailing slash.
func (s *Service) publicURL() string {
	u := s.policy().Server.PublicURL
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	return u
}

// clientIP is the address of the request's connection, without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Mask shows an e-mail address as logs and errors may: its first letter only ("j***@***").
func Mask(addr string) string {
	if addr == "" {
		return "***"
	}
	return addr[:1] + "***@***"
}
