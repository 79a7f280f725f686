package incident

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// OpenRequest declares a manual incident.
type OpenRequest struct {
	Title    string
	Status   upkeep.IncidentStatus // default investigating
	Impact   upkeep.Impact         // default minor
	Services []string
	Message  string
	Author   string
}

// Open declares a manual incident. Manual incidents page nobody: they are for telling people
// (the status page, its subscribers) what is going on.
func (m *Manager) Open(ctx context.Context, r OpenRequest) (upkeep.Incident, error) {
	r.Title = strings.TrimSpace(r.Title)
	if r.Title == "" {
		return upkeep.Incident{}, invalid("an incident needs a title")
	}
	if r.Status == "" {
		r.Status = upkeep.StatusInvestigating
	}
	if r.Impact == "" {
		r.Impact = upkeep.ImpactMinor
	}
	if err := m.checkFields(r.Status, r.Impact, r.Services); err != nil {
		return upkeep.Incident{}, err
	}
	now := m.clock.Now()
	var inc upkeep.Incident
	err := m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		inc = upkeep.Incident{Title: r.Title, Status: r.Status, Impact: r.Impact, Services: slices.Clone(r.Services),
			StartedAt: now, OpenedAt: now}
		if r.Status == upkeep.StatusResolved {
			inc.ResolvedAt = now
		}
		if err := tx.InsertIncident(&inc); err != nil {
			return err
		}
		msg := r.Message
		if msg == "" {
			msg = r.Title
		}
		return tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: now, Kind: upkeep.UpdateMessage, Status: r.Status, Message: msg, Author: r.Author})
	})
	if err != nil {
		return upkeep.Incident{}, err
	}
	m.log.Info("incident declared", "incident", inc.ID, "title", inc.Title, "by", r.Author)
	return m.store.Incident(ctx, inc.ID)
}

func (m *Manager) checkFields(s upkeep.IncidentStatus, i upkeep.Impact, services []string) error {
	if s != "" && !s.Valid() {
		return invalid("status %q is not one of investigating, identified, monitoring, resolved", s)
	}
	if i != "" && !i.Valid() {
		return invalid("impact %q is not one of none, minor, major, critical", i)
	}
	p := m.policy()
	for _, name := range services {
		if p.Service(name) == nil {
			return invalid("unknown service %q", name)
		}
	}
	return nil
}

// UpdateRequest adds an update to an incident.
type UpdateRequest struct {
	Status  upkeep.IncidentStatus // empty: unchanged
	Impact  upkeep.Impact         // empty: unchanged
	Message string
	Author  string
}

// PostUpdate adds an update to an incident, changing its status or impact. Status resolved
// resolves it (and tells every channel that was paged); other updates of a paged incident are
// sent to the channels paged too. A resolved incident cannot be reopened.
func (m *Manager) PostUpdate(ctx context.Context, id int64, r UpdateRequest) (upkeep.Incident, error) {
	if strings.TrimSpace(r.Message) == "" && r.Status == "" && r.Impact == "" {
		return upkeep.Incident{}, invalid("an update needs a message, a status or an impact")
	}
	if err := m.checkFields(r.Status, r.Impact, nil); err != nil {
		return upkeep.Incident{}, err
	}
	now := m.clock.Now()
	enqueued := 0
	err := m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		enqueued = 0
		inc, err := tx.Incident(id)
		if err != nil {
			return err
		}
		if !inc.Open() && r.Status != "" && r.Status != upkeep.StatusResolved {
			return fmt.Errorf("%w: incident %d is resolved; declare a new one instead of reopening it", ErrState, id)
		}
		if !inc.Open() && r.Status == upkeep.StatusResolved {
			return fmt.Errorf("%w: incident %d is already resolved", ErrState, id)
		}
		resolving := inc.Open() && r.Status == upkeep.StatusResolved
		if r.Status != "" {
			inc.Status = r.Status
		}
		if r.Impact != "" {
			inc.Impact = r.Impact
		}
		if resolving {
			inc.ResolvedAt = now
		}
		if err := tx.SaveIncident(&inc); err != nil {
			return err
		}
		msg := strings.TrimSpace(r.Message)
		if msg == "" {
			msg = "status " + string(inc.Status) + ", impact " + string(inc.Impact)
		}
		// The update's id is not known before it is stored; its time keys the notification.
		if err := tx.AddUpdate(id, upkeep.IncidentUpdate{At: now, Kind: upkeep.UpdateMessage, Status: inc.Status, Message: msg, Author: r.Author}); err != nil {
			return err
		}
		event, suffix := upkeep.EventUpdate, fmt.Sprintf("/%d", now.UnixMilli())
		if resolving {
			event, suffix = upkeep.EventResolved, ""
		}
		enqueued, err = m.tellNotified(tx, &inc, event, suffix, now, upkeep.NotificationPayload{Message: msg})
		return err
	})
	if err != nil {
		return upkeep.Incident{}, err
	}
	if enqueued > 0 {
		m.notify()
	}
	m.poke()
	return m.store.Incident(ctx, id)
}

// Acknowledge records that someone is on it: the escalation stops and the channels paged so
// far are told who acknowledged. Acknowledging twice keeps the first.
func (m *Manager) Acknowledge(ctx context.Context, id int64, by string) (upkeep.Incident, error) {
	now := m.clock.Now()
	enqueued := 0
	err := m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		enqueued = 0
		inc, err := tx.Incident(id)
		if err != nil {
			return err
		}
		if inc.Acknowledged() {
			return nil
		}
		if !inc.Open() {
			return fmt.Errorf("%w: incident %d is resolved", ErrState, id)
		}
		inc.AcknowledgedAt, inc.AcknowledgedBy = now, by
		if err := tx.SaveIncident(&inc); err != nil {
			return err
		}
		msg := "acknowledged by " + by
		if err := tx.AddUpdate(id, upkeep.IncidentUpdate{At: now, Kind: upkeep.UpdateEvent, Status: inc.Status, Message: msg, Author: by}); err != nil {
			return err
		}
		enqueued, err = m.tellNotified(tx, &inc, upkeep.EventAcknowledged, "", now, upkeep.NotificationPayload{Message: msg})
		return err
	})
	if err != nil {
		return upkeep.Incident{}, err
	}
	if enqueued > 0 {
		m.notify()
	}
	m.poke()
	return m.store.Incident(ctx, id)
}

// ReportRequest writes the post-mortem of a resolved incident. A nil Timeline keeps the one
// written before, or generates one from the incident's timeline.
type ReportRequest struct {
	Cause, Measures, Prevention string
	Timeline                    []upkeep.TimelineEntry
}

// SetReport writes the post-mortem of a resolved incident.
func (m *Manager) SetReport(ctx context.Context, id int64, r ReportRequest) (upkeep.Incident, error) {
	inc, err := m.store.Incident(ctx, id)
	if err != nil {
		return upkeep.Incident{}, err
	}
	if inc.Open() {
		return upkeep.Incident{}, fmt.Errorf("%w: incident %d is not resolved yet; a report comes after", ErrState, id)
	}
	rep := upkeep.IncidentReport{Cause: r.Cause, Measures: r.Measures, Prevention: r.Prevention, Timeline: r.Timeline, UpdatedAt: m.clock.Now().UTC()}
	if rep.Timeline == nil {
		if inc.Report != nil {
			rep.Timeline = inc.Report.Timeline
		} else {
			rep.Timeline = inc.Timeline()
		}
	}
	if err := m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error { return tx.SetReport(id, rep) }); err != nil {
		return upkeep.Incident{}, err
	}
	return m.store.Incident(ctx, id)
}

// Acknowledgement links: /ack/<token>, where the token is base64url(incident id, expiry in
// Unix seconds, the first 16 bytes of HMAC-SHA256 over both with the store's ack key). They
// need no login (one click from a mail or SMS), so they are signed, expire, and acknowledge
// only on POST: the GET shows a confirmation page, so link scanners that fetch every URL of a
// mail do not acknowledge.

const tokenLen = 8 + 8 + 16

func (m *Manager) ackKey(ctx context.Context) ([]byte, error) {
	m.keyOnce.Do(func() { m.key, m.keyErr = m.store.AckKey(ctx) })
	return m.key, m.keyErr
}

// AckToken returns a token acknowledging incident id that works until expires.
func (m *Manager) AckToken(ctx context.Context, id int64, expires time.Time) (string, error) {
	key, err := m.ackKey(ctx)
	if err != nil {
		return "", err
	}
	b := make([]byte, 16, tokenLen)
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	mac := hmac.New(sha256.New, key)
	mac.Write(b)
	b = append(b, mac.Sum(nil)[:16]...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CheckAckToken returns the incident a token acknowledges, or ErrInvalid if the token is
// forged, damaged or expired.
func (m *Manager) CheckAckToken(ctx context.Context, token string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != tokenLen {
		return 0, invalid("this acknowledgement link is damaged")
	}
	key, err := m.ackKey(ctx)
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(b[:16])
	if !hmac.Equal(mac.Sum(nil)[:16], b[16:]) {
		return 0, invalid("this acknowledgement link is not valid")
	}
	if exp := time.Unix(int64(binary.BigEndian.Uint64(b[8:16])), 0); m.clock.Now().After(exp) {
		return 0, invalid("this acknowledgement link expired at %s; acknowledge with upkeep incident ack or the API", exp.UTC().Format(time.RFC3339))
	}
	return int64(binary.BigEndian.Uint64(b[:8])), nil
}

// URLs returns the incident's page in the API and its acknowledgement link for a notification
// created at created (the link expires AckTTL later, so a resent notification has the same link).
func (m *Manager) URLs(ctx context.Context, id int64, created time.Time) (incidentURL, ackURL string, err error) {
	base := strings.TrimRight(m.policy().Server.PublicURL, "/")
	tok, err := m.AckToken(ctx, id, created.Add(m.ackTTL))
	if err != nil {
		return "", "", err
	}
	return fmt.Sprintf("%s/api/v1/incidents/%d", base, id), base + "/ack/" + tok, nil
}

// List lists incidents, open first (see Store.Incidents).
func (m *Manager) List(ctx context.Context, state string, limit int) ([]upkeep.Incident, error) {
	if state != "" && state != "open" && state != "resolved" {
		return nil, invalid("state %q is not open or resolved", state)
	}
	return m.store.Incidents(ctx, state, limit)
}

// Get returns one incident with its updates and report.
func (m *Manager) Get(ctx context.Context, id int64) (upkeep.Incident, error) {
	return m.store.Incident(ctx, id)
}

// Notifications lists the outbox, newest first; state is pending, sent, failed or "".
func (m *Manager) Notifications(ctx context.Context, state string, limit int) ([]upkeep.Notification, error) {
	switch state {
	case "", upkeep.DeliveryPending, upkeep.DeliverySent, upkeep.DeliveryFailed:
	default:
		return nil, invalid("state %q is not pending, sent or failed", state)
	}
	return m.store.Notifications(ctx, state, limit)
}
