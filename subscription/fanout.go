package subscription

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/policy"
)

// Events of incident notices to subscribers (maintenance notices keep the maintenance events).
const (
	EventIncidentOpened   = "incident_opened"
	EventIncidentUpdated  = "incident_updated"
	EventIncidentResolved = "incident_resolved"
)

// pollEvery is how often Run looks for new incident updates when nothing woke it.
const pollEvery = time.Second

// fanOutBatch is how many incident updates one transaction fans out at most.
const fanOutBatch = 200

// Wake makes Run look for new incident updates now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run fans out incident updates to subscribers and expires unconfirmed subscriptions, until ctx
// ends.
func (s *Service) Run(ctx context.Context) error {
	timer := s.cfg.Clock.NewTimer(pollEvery)
	defer timer.Stop()
	var expired time.Time
	for {
		if _, err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("subscribers: fan-out of incident updates failed; retrying", "err", err)
		}
		if now := s.cfg.Clock.Now(); now.Sub(expired) >= time.Minute {
			expired = now
			n, err := s.cfg.Store.ExpireSubscribers(ctx, now.Add(-ConfirmValidity))
			if err != nil && ctx.Err() == nil {
				s.log.Error("subscribers: expiring unconfirmed subscriptions", "err", err)
			} else if n > 0 {
				s.log.Info("subscribers: unconfirmed subscriptions expired", "count", n)
			}
		}
		timer.Stop()
		timer.Reset(pollEvery)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer.C():
		}
	}
}

// Step fans out the incident updates written since the last step and returns how many notices
// it enqueued. Each batch is one transaction: the notices and the watermark move together.
func (s *Service) Step(ctx context.Context) (int, error) {
	total := 0
	for {
		var n, read int
		err := s.cfg.Store.SubscriberTx(ctx, func(tx upkeep.SubscriberTx) error {
			n, read = 0, 0
			mark, err := tx.Watermark()
			if err != nil {
				return err
			}
			ups, err := tx.UpdatesAfter(mark, fanOutBatch)
			if err != nil || len(ups) == 0 {
				return err
			}
			read = len(ups)
			var subs []upkeep.Subscriber
			if s.Enabled() {
				if subs, err = tx.Subscribers(); err != nil {
					return err
				}
			}
			now := s.cfg.Clock.Now()
			for _, u := range ups {
				event, message := publicEvent(u)
				if event == "" {
					continue
				}
				for _, sub := range subs {
					if !s.kindEnabled(sub.Kind) || !wants(sub, u.Services) {
						continue
					}
					ok, err := tx.Enqueue(upkeep.Notification{
						Key:      fmt.Sprintf("subscriber/%d/incident/%d/update/%d", sub.ID, u.Incident, u.Update.ID),
						Incident: u.Incident, Channel: channelOf(sub.Kind), Event: event,
						Payload: upkeep.NotificationPayload{Title: u.Title, Status: u.Update.Status, Impact: u.Impact,
							Services: u.Services, StartedAt: u.StartedAt, ResolvedAt: u.ResolvedAt, Message: message, At: u.Update.At},
						CreatedAt: now, NextAttemptAt: now,
					})
					if err != nil {
						return err
					}
					if ok {
						n++
					}
				}
			}
			return tx.SetWatermark(ups[len(ups)-1].Update.ID)
		})
		if err != nil {
			return total, fmt.Errorf("fan-out of incident updates: %w", err)
		}
		total += n
		if n > 0 {
			s.cfg.Notify()
		}
		if read < fanOutBatch {
			if total > 0 {
				s.log.Info("subscribers: incident notices enqueued", "notices", total)
			}
			return total, nil
		}
	}
}

// publicEvent says which notice subscribers get for an incident update, if any, and its
// public text. Only what people wrote is shown: Upkeep's own entries (a monitor's cause, an
// escalation step, an acknowledgement) stay internal.
func publicEvent(u upkeep.PublicUpdate) (event, message string) {
	if u.Update.Kind == upkeep.UpdateMessage {
		message = u.Update.Message
	}
	switch {
	case u.First:
		if message == "" {
			message = "We are investigating a problem."
		}
		return EventIncidentOpened, message
	case u.Update.Status == upkeep.StatusResolved && u.PrevStatus != upkeep.StatusResolved:
		if message == "" {
			message = "The problem is resolved."
		}
		return EventIncidentResolved, message
	case u.Update.Kind == upkeep.UpdateMessage:
		return EventIncidentUpdated, message
	}
	return "", ""
}

// wants reports whether sub subscribed to any of services (a subscriber of every service
// wants everything).
func wants(sub upkeep.Subscriber, services []string) bool {
	if len(sub.Services) == 0 {
		return true
	}
	return slices.ContainsFunc(sub.Services, func(s string) bool { return slices.Contains(services, s) })
}

func channelOf(kind string) string {
	if kind == upkeep.SubscriberWebhook {
		return WebhookChannel
	}
	return EmailChannel
}

// kindEnabled reports whether the policy in force has subscriptions of that kind.
func (s *Service) kindEnabled(kind string) bool {
	_, sub := s.settings()
	if sub == nil {
		return false
	}
	if kind == upkeep.SubscriberWebhook {
		return sub.Webhooks
	}
	return sub.Email != nil
}

// fanOutMaintenance enqueues a maintenance notice (an outbox row of FanOutChannel) for every
// subscriber of the window's services, in one transaction.
func (s *Service) fanOutMaintenance(ctx context.Context, ev incident.Event) error {
	base := strings.TrimSuffix(ev.Key, "/"+FanOutChannel)
	services := windowServices(s.policy(), ev.Incident.Services, ev.Incident.Monitors)
	n := 0
	err := s.cfg.Store.SubscriberTx(ctx, func(tx upkeep.SubscriberTx) error {
		n = 0
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		now := s.cfg.Clock.Now()
		for _, sub := range subs {
			if !s.kindEnabled(sub.Kind) || !wants(sub, services) {
				continue
			}
			ok, err := tx.Enqueue(upkeep.Notification{
				Key: fmt.Sprintf("subscriber/%d/%s", sub.ID, base), Channel: channelOf(sub.Kind), Event: ev.Kind,
				Payload: upkeep.NotificationPayload{Title: ev.Incident.Title, Services: services, Monitors: ev.Incident.Monitors,
					StartedAt: ev.Incident.StartedAt, ResolvedAt: ev.Incident.ResolvedAt, Message: ev.Incident.Message,
					Window: ev.Incident.Window, At: ev.At},
				CreatedAt: now, NextAttemptAt: now,
			})
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fan-out of a maintenance notice: %w", err)
	}
	if n > 0 {
		s.log.Info("subscribers: maintenance notices enqueued", "notices", n)
		s.cfg.Notify()
	}
	return nil
}

// windowServices returns the services a window covers: its own and those of its monitors.
func windowServices(p *policy.Policy, services, monitors []string) []string {
	out := slices.Clone(services)
	for _, m := range p.Monitors {
		if slices.Contains(monitors, m.Name) && m.Service != "" && !slices.Contains(out, m.Service) {
			out = append(out, m.Service)
		}
	}
	return out
}
