package subscription

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/notify"
)

// Sender returns the sender of one of this package's outbox channels; false for any other.
func (s *Service) Sender(channel string) (incident.Sender, bool) {
	switch channel {
	case FanOutChannel:
		return incident.SenderFunc(s.fanOutMaintenance), true
	case EmailChannel:
		return incident.SenderFunc(s.sendEmail), true
	case WebhookChannel:
		return incident.SenderFunc(s.sendWebhook), true
	}
	return nil, false
}

// errGone is the outcome of a notice whose subscriber unsubscribed after it was enqueued.
var errGone = fmt.Errorf("%w: the subscriber unsubscribed", notify.ErrPermanent)

// subscriberOf reads the subscriber a notice is for from its key (subscriber/{id}/...).
func (s *Service) subscriberOf(ctx context.Context, key string) (upkeep.Subscriber, error) {
	rest, ok := strings.CutPrefix(key, "subscriber/")
	idText, _, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return upkeep.Subscriber{}, fmt.Errorf("%w: key %q names no subscriber", notify.ErrPermanent, key)
	}
	sub, err := s.cfg.Store.Subscriber(ctx, id)
	if errors.Is(err, upkeep.ErrNotFound) {
		return sub, errGone
	}
	return sub, err
}

func (s *Service) sendEmail(ctx context.Context, ev incident.Event) error {
	sub, err := s.subscriberOf(ctx, ev.Key)
	if err != nil {
		return err
	}
	c := s.emailChannel()
	if c == nil {
		return fmt.Errorf("%w: e-mail subscriptions are not configured (status_page.subscriptions.email)", notify.ErrPermanent)
	}
	if ev.Kind != EventConfirm && !sub.Confirmed() {
		return fmt.Errorf("%w: subscriber %d is not confirmed", notify.ErrPermanent, sub.ID)
	}
	unsub, err := s.unsubscribeURL(ctx, sub.ID)
	if err != nil {
		return err
	}
	m := notify.Mail{To: sub.Address, Key: ev.Key, At: ev.At, Headers: map[string]string{
		"List-Unsubscribe":      "<" + unsub + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Upkeep-Event":        ev.Kind,
	}}
	if ev.Kind == EventConfirm {
		confirm, err := s.confirmURL(ctx, sub.ID, ev.Incident.Services, ev.At)
		if err != nil {
			return err
		}
		m.Subject, m.Text = s.confirmMail(ev.Incident.Services, confirm, unsub)
	} else {
		m.Subject, m.Text = s.noticeMail(ev, unsub)
	}
	if err := notify.SendMail(ctx, c, s.cfg.Send, m); err != nil {
		return fmt.Errorf("mail to subscriber %d: %w", sub.ID, err)
	}
	return nil
}

func (s *Service) title() string {
	if p := s.policy(); p.StatusPage != nil && p.StatusPage.Title != "" {
		return p.StatusPage.Title
	}
	return "Status"
}

func (s *Service) confirmMail(services []string, confirm, unsub string) (subject, text string) {
	what := "all services"
	if len(services) > 0 {
		what = strings.Join(services, ", ")
	}
	subject = "Confirm your subscription to " + s.title()
	text = fmt.Sprintf("Someone, probably you, asked to receive incident and maintenance notices of %s (%s) at this address.\n\n"+
		"To confirm, open this link and press the button:\n%s\n\nThe link works for 48 hours. If you did not ask for this, ignore this mail: nothing will be sent.\n\n"+
		"Unsubscribe: %s\n", s.title(), what, confirm, unsub)
	return subject, text
}

// subjects of notices, by event.
var subjects = map[string]string{
	EventIncidentOpened:              "Incident",
	EventIncidentUpdated:             "Update",
	EventIncidentResolved:            "Resolved",
	upkeep.EventMaintenanceScheduled: "Scheduled maintenance",
	upkeep.EventMaintenanceStarted:   "Maintenance started",
	upkeep.EventMaintenanceEnded:     "Maintenance completed",
}

func (s *Service) noticeMail(ev incident.Event, unsub string) (subject, text string) {
	in := ev.Incident
	subject = fmt.Sprintf("[%s] %s: %s", s.title(), subjects[ev.Kind], in.Title)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", subjects[ev.Kind], in.Title)
	if in.Message != "" {
		fmt.Fprintf(&b, "%s\n\n", in.Message)
	}
	if len(in.Services) > 0 {
		fmt.Fprintf(&b, "Services: %s\n", strings.Join(in.Services, ", "))
	}
	if in.Window != "" {
		fmt.Fprintf(&b, "From %s to %s\n", in.StartedAt.UTC().Format("2006-01-02 15:04 MST"), in.ResolvedAt.UTC().Format("2006-01-02 15:04 MST"))
	} else {
		fmt.Fprintf(&b, "Status: %s\nStarted: %s\n", in.Status, in.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
		if !in.ResolvedAt.IsZero() && ev.Kind == EventIncidentResolved {
			fmt.Fprintf(&b, "Resolved: %s\n", in.ResolvedAt.UTC().Format("2006-01-02 15:04 MST"))
		}
	}
	fmt.Fprintf(&b, "\nStatus page: %s\n\nYou receive this because you subscribed to %s. Unsubscribe with one click: %s\n", s.link(ev), s.title(), unsub)
	return subject, b.String()
}

// link is the status page's address of what a notice is about: the incident's page, or the
// status page for maintenance.
func (s *Service) link(ev incident.Event) string {
	if ev.Incident.ID != 0 {
		return fmt.Sprintf("%s/incidents/%d", s.publicURL(), ev.Incident.ID)
	}
	return s.publicURL() + "/"
}

// webhookBody is the JSON a webhook subscriber receives: the webhook channel's body (see
// docs/notifications.md), with the status page as the incident's link and no acknowledgement.
func (s *Service) webhookBody(ev incident.Event) ([]byte, error) {
	subject, text := s.noticeMail(ev, "")
	text, _, _ = strings.Cut(text, "\nStatus page:")
	timePtr := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	id := ev.Incident.Window
	if ev.Incident.ID != 0 {
		id = strconv.FormatInt(ev.Incident.ID, 10)
	}
	return json.Marshal(notify.WebhookPayload{
		Version: notify.WebhookVersion, ID: ev.Key, Event: ev.Kind, At: ev.At.UTC(), Subject: subject, Text: text,
		Incident: notify.WebhookIncident{ID: id, Title: ev.Incident.Title, Status: ev.Incident.Status, Impact: ev.Incident.Impact,
			Services: nonNil(ev.Incident.Services), Monitors: nonNil(ev.Incident.Monitors),
			StartedAt: timePtr(ev.Incident.StartedAt), ResolvedAt: timePtr(ev.Incident.ResolvedAt), Message: ev.Incident.Message},
		Links: notify.WebhookLinks{Incident: s.link(ev)},
	})
}

func (s *Service) sendWebhook(ctx context.Context, ev incident.Event) error {
	sub, err := s.subscriberOf(ctx, ev.Key)
	if err != nil {
		return err
	}
	body, err := s.webhookBody(ev)
	if err != nil {
		return fmt.Errorf("%w: %w", notify.ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Address, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: webhook subscriber %d: bad URL", notify.ErrPermanent, sub.ID)
	}
	ts := strconv.FormatInt(s.cfg.Clock.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Upkeep/"+s.cfg.Send.Version)
	req.Header.Set(notify.HeaderEvent, ev.Kind)
	req.Header.Set("Idempotency-Key", ev.Key)
	req.Header.Set(notify.HeaderTimestamp, ts)
	req.Header.Set(notify.HeaderSignature, notify.Sign(sub.Secret, ts, body))
	client := s.cfg.Send.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, whose path may be a credential: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook subscriber %d: %w", sub.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook subscriber %d: %w", sub.ID, &notify.StatusError{Code: resp.StatusCode})
	}
	return nil
}

// newSecret returns a fresh webhook signing secret.
func newSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + hex.EncodeToString(b), nil
}
