// Package notify sends Upkeep's notifications through the channels of the policy: e-mail
// (SMTP), signed webhooks, SMS (Twilio or any HTTP provider), Slack, Microsoft Teams, Discord,
// Telegram, ntfy, PagerDuty and Opsgenie. New turns one policy.Channel into a Sender; the
// incident package's durable outbox calls Send, and retries when the error allows it.
//
// # One Send, one delivery attempt
//
// Send makes one attempt and says whether another can help: an error wrapping ErrPermanent
// (a 4xx answer other than 408 and 429, an address the SMTP server refuses, a bad credential)
// will fail again; any other error (connection refused, timeout, 429, 5xx, a 4xx SMTP reply)
// may pass later, and RetryAfter gives the wait the provider asked for. Retries, backoff and
// rate limits belong to the outbox, which knows what was sent already.
//
// Every event carries an idempotency key chosen by the caller. It travels as far as each
// provider lets it: the Idempotency-Key header of webhooks, the Message-ID of e-mail (so a
// duplicate is recognisable), PagerDuty's dedup_key and Opsgenie's alias (the incident ID, so
// the provider's incident follows Upkeep's through acknowledge and resolve). Chat providers
// have no such key; SMS senders remember, per process, which recipients of a key were already
// sent to, so that a retry after a partial failure does not text the others twice.
//
// Secrets (passwords, tokens, webhook URLs, which are credentials themselves) never appear in
// errors: transport errors name only the scheme and host, and every error a Sender returns is
// scrubbed of the channel's secret values.
//
// # Why the providers are written by hand (and not with shoutrrr)
//
// The maintained fork of shoutrrr (github.com/nicholas-fedor/shoutrrr v0.13.2, evaluated
// here) builds with this module at that pinned version and covers every chat provider we
// need behind one URL syntax. It is not used, because:
//
//   - Lifecycle: its Opsgenie service can only create alerts (no acknowledge, close or note),
//     so Upkeep's acknowledgement and resolution could not reach Opsgenie. Its PagerDuty service
//     does take an event action and dedup key, but as strings in URL parameters.
//   - Idempotency and errors: Send(message string, params) takes text, not an event, and its
//     errors do not tell a permanent failure (400) from one worth retrying (429, 503), nor carry
//     Retry-After; the outbox needs both. Most services take no context.
//   - Secrets: its configuration is a URL with the token inside (telegram://token@telegram),
//     and its errors may quote it; Upkeep keeps secrets in policy.Secret and out of errors.
//   - Testability: base URLs are fixed per service (api.telegram.org, events.pagerduty.com), so
//     tests could not point it at a local receiver without a proxy.
//   - Size: it adds about 4.3 MB to a binary (8.5 MB to 12.8 MB for a one-line program), for
//     some twenty providers of which we use seven, each a single JSON POST of under 100 lines
//     here.
//
// E-mail uses github.com/wneessen/go-mail (STARTTLS, implicit TLS, SMTP AUTH, multipart),
// which has none of these problems and would be much more work to replace.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// Event kinds.
const (
	EventDown                 = "down"                  // a monitor is confirmed down: incident opened, or escalated to Step
	EventDegraded             = "degraded"              // a monitor is confirmed degraded
	EventRecovered            = "recovered"             // a monitor is up again
	EventReminder             = "reminder"              // the incident is still unacknowledged
	EventAcknowledged         = "acknowledged"          // someone acknowledged the incident
	EventUpdate               = "update"                // the incident has a new update message or status
	EventResolved             = "resolved"              // the incident is resolved
	EventMaintenanceScheduled = "maintenance_scheduled" // a maintenance window is coming (Incident describes the window)
	EventMaintenanceStarted   = "maintenance_started"   // a maintenance window began
	EventMaintenanceEnded     = "maintenance_ended"     // a maintenance window ended
)

// EventKinds lists every event kind, in the order of policy.EventKinds.
var EventKinds = []string{EventDown, EventDegraded, EventRecovered, EventReminder, EventAcknowledged, EventUpdate,
	EventResolved, EventMaintenanceScheduled, EventMaintenanceStarted, EventMaintenanceEnded}

// Event is something to tell people about. Channels format it themselves: subject, text and
// HTML from templates, or a provider's own payload.
type Event struct {
	Kind     string    // one of the Event* constants
	Key      string    // idempotency key chosen by the caller (incident, step, channel, event)
	At       time.Time // when it happened; zero means now
	Incident Incident
	Monitor  string // the monitor whose change caused it, if any
	State    string // its state
	Cause    string // the error, status or latency that confirmed it
	Step     int    // escalation step (0-based), for reminders and "escalated to step 2"
}

// Incident is what an event says about its incident. For maintenance events it describes the
// window: Title is its name, StartedAt and ResolvedAt its start and end.
type Incident struct {
	ID         string
	Title      string
	Status     string // investigating, identified, monitoring, resolved
	Impact     string // none, minor, major, critical
	Services   []string
	Monitors   []string
	StartedAt  time.Time
	ResolvedAt time.Time // zero while open
	URL        string    // the incident's page
	AckURL     string    // one-click acknowledge; empty when not applicable
	Message    string    // the latest update text
}

// Sender sends events through one channel.
type Sender interface {
	// Send makes one attempt to deliver ev. An error wrapping ErrPermanent will not pass on a
	// retry; any other error may.
	Send(ctx context.Context, ev Event) error
}

// Options are what senders need from the program.
type Options struct {
	// HTTPClient sends the HTTP requests; nil means a client with timeouts (10 s to connect,
	// 30 s in all).
	HTTPClient *http.Client
	// Version is Upkeep's version, sent in User-Agent and X-Mailer.
	Version string
	// Now gives the time for events without one; nil means time.Now.
	Now func() time.Time
	// TLSConfig is used for SMTP connections; nil means the system's roots. (HTTP requests use
	// HTTPClient's transport.)
	TLSConfig *tls.Config
}

// ErrPermanent is wrapped by errors that a retry cannot fix.
var ErrPermanent = errors.New("permanent failure")

// New returns the Sender of the channel called name. Its templates are tried on a sample
// event first, so that one naming a field that does not exist ({{.Incident.Titel}}) fails here
// rather than at the first outage.
func New(name string, c policy.Channel, o Options) (Sender, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	b := &base{name: name, opts: o, templates: c.Templates}
	var s Sender
	switch {
	case c.Email != nil:
		b.secrets = []string{c.Email.SMTP.Password.Reveal()}
		s = &emailSender{base: b, c: c.Email}
	case c.Webhook != nil:
		b.secrets = append(secretValues(c.Webhook.Headers), c.Webhook.Secret.Reveal())
		s = &webhookSender{base: b, c: c.Webhook}
	case c.SMS != nil && c.SMS.Twilio != nil:
		b.secrets = []string{c.SMS.Twilio.AuthToken.Reveal()}
		s = &twilioSender{base: b, c: c.SMS.Twilio, sent: newSentSet()}
	case c.SMS != nil && c.SMS.HTTP != nil:
		b.secrets = secretValues(c.SMS.HTTP.Headers)
		s = &httpSMSSender{base: b, c: c.SMS.HTTP, sent: newSentSet()}
	case c.Slack != nil:
		b.secrets = []string{c.Slack.URL.Reveal()}
		s = &slackSender{base: b, url: c.Slack.URL.Reveal()}
	case c.Teams != nil:
		b.secrets = []string{c.Teams.URL.Reveal()}
		s = &teamsSender{base: b, url: c.Teams.URL.Reveal(), format: c.Teams.Format}
	case c.Discord != nil:
		b.secrets = []string{c.Discord.URL.Reveal()}
		s = &discordSender{base: b, url: c.Discord.URL.Reveal()}
	case c.Telegram != nil:
		b.secrets = []string{c.Telegram.BotToken.Reveal()}
		s = &telegramSender{base: b, c: c.Telegram}
	case c.Ntfy != nil:
		b.secrets = []string{c.Ntfy.Token.Reveal()}
		s = &ntfySender{base: b, c: c.Ntfy}
	case c.PagerDuty != nil:
		b.secrets = []string{c.PagerDuty.RoutingKey.Reveal()}
		s = &pagerDutySender{base: b, c: c.PagerDuty}
	case c.Opsgenie != nil:
		b.secrets = []string{c.Opsgenie.APIKey.Reveal()}
		s = &opsgenieSender{base: b, c: c.Opsgenie}
	default:
		return nil, fmt.Errorf("channel %q has no kind", name)
	}
	if err := b.tryTemplates(); err != nil {
		return nil, fmt.Errorf("channel %q: %w", name, err)
	}
	return &scrubbing{b: b, s: s}, nil
}

// scrubbing makes sure no error of a sender shows a secret and that every event has a time.
type scrubbing struct {
	b *base
	s Sender
}

func (s *scrubbing) Send(ctx context.Context, ev Event) error {
	if ev.At.IsZero() {
		ev.At = s.b.opts.Now()
	}
	err := s.s.Send(ctx, ev)
	if err == nil {
		return nil
	}
	return s.b.scrub(fmt.Errorf("channel %q: %w", s.b.name, err))
}

// base holds what every sender shares.
type base struct {
	name      string
	opts      Options
	templates policy.ChannelTemplates
	secrets   []string
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 20 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

func (b *base) userAgent() string { return "Upkeep/" + b.opts.Version }

func secretValues(m map[string]policy.Secret) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v.Reveal())
	}
	return out
}
