package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// WebhookVersion is the version of the webhook body. It changes only when a field changes its
// meaning or goes away; new fields may appear within a version.
const WebhookVersion = 1

// WebhookPayload is the JSON body of a webhook request (docs/notifications.md).
type WebhookPayload struct {
	Version  int             `json:"version"`
	ID       string          `json:"id"`    // the idempotency key, also in the Idempotency-Key header
	Event    string          `json:"event"` // down, degraded, recovered, ...
	At       time.Time       `json:"at"`
	Subject  string          `json:"subject"`
	Text     string          `json:"text"`
	Incident WebhookIncident `json:"incident"`
	Monitor  string          `json:"monitor,omitempty"`
	State    string          `json:"state,omitempty"`
	Cause    string          `json:"cause,omitempty"`
	Step     int             `json:"step"`
	Links    WebhookLinks    `json:"links"`
}

// WebhookIncident is the incident in a webhook body.
type WebhookIncident struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Status     string     `json:"status,omitempty"`
	Impact     string     `json:"impact,omitempty"`
	Services   []string   `json:"services"`
	Monitors   []string   `json:"monitors"`
	StartedAt  *time.Time `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Message    string     `json:"message,omitempty"`
}

// WebhookLinks are the links of a webhook body.
type WebhookLinks struct {
	Incident    string `json:"incident,omitempty"`
	Acknowledge string `json:"acknowledge,omitempty"`
}

// Headers of webhook requests.
const (
	HeaderSignature = "X-Upkeep-Signature"
	HeaderTimestamp = "X-Upkeep-Timestamp"
	HeaderEvent     = "X-Upkeep-Event"
)

// Sign returns the signature of a webhook body sent at timestamp (Unix seconds):
// "sha256=" and the hex HMAC-SHA256 of timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a webhook request's signature and that its timestamp is within tolerance of
// now; receivers written in Go can use it (docs/notifications.md shows other languages).
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) bool {
	ts := header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(header.Get(HeaderSignature)), []byte(Sign(secret, ts, body)))
}

type webhookSender struct {
	*base
	c *policy.WebhookChannel
}

func (s *webhookSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	body, err := json.Marshal(webhookPayload(ev, m))
	if err != nil {
		return permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, s.c.Method, s.c.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(err)
	}
	for k, v := range s.c.Headers {
		req.Header.Set(k, v.Reveal())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, ev.Kind)
	if ev.Key != "" {
		req.Header.Set("Idempotency-Key", ev.Key)
	}
	if secret := s.c.Secret.Reveal(); secret != "" {
		ts := strconv.FormatInt(s.opts.Now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	}
	_, err = s.do(req)
	return err
}

func webhookPayload(ev Event, m message) WebhookPayload {
	timePtr := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return WebhookPayload{
		Version: WebhookVersion, ID: ev.Key, Event: ev.Kind, At: ev.At.UTC(), Subject: m.Subject, Text: m.Text,
		Incident: WebhookIncident{
			ID: ev.Incident.ID, Title: ev.Incident.Title, Status: ev.Incident.Status, Impact: ev.Incident.Impact,
			Services: nonNil(ev.Incident.Services), Monitors: nonNil(ev.Incident.Monitors),
			StartedAt: timePtr(ev.Incident.StartedAt), ResolvedAt: timePtr(ev.Incident.ResolvedAt), Message: ev.Incident.Message,
		},
		Monitor: ev.Monitor, State: ev.State, Cause: ev.Cause, Step: ev.Step,
		Links: WebhookLinks{Incident: ev.Incident.URL, Acknowledge: ackURL(ev)},
	}
}
