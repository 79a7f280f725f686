package subscription

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// ErrInvalid is wrapped by errors about the caller's input (the API answers 400).
var ErrInvalid = errors.New("invalid")

// List returns the subscribers; address "" means all, otherwise the one with that address.
func (s *Service) List(ctx context.Context, address string) ([]upkeep.Subscriber, error) {
	subs, err := s.cfg.Store.Subscribers(ctx, "")
	if err != nil || address == "" {
		return subs, err
	}
	if a, ok := parseAddress(address); ok {
		address = a
	}
	return slices.DeleteFunc(subs, func(sub upkeep.Subscriber) bool { return sub.Address != address }), nil
}

// AddWebhook creates a webhook subscriber of services (empty: all) and returns it with its
// signing secret. The URL must be https, or http to a loopback address.
func (s *Service) AddWebhook(ctx context.Context, rawURL string, services []string) (upkeep.Subscriber, error) {
	if _, sub := s.settings(); sub == nil || !sub.Webhooks {
		return upkeep.Subscriber{}, fmt.Errorf("%w: webhook subscriptions are off (status_page.subscriptions.webhooks: true)", ErrInvalid)
	}
	if err := checkWebhookURL(rawURL); err != nil {
		return upkeep.Subscriber{}, err
	}
	for _, svc := range services {
		if !slices.ContainsFunc(s.policy().Services, func(p policy.Service) bool { return p.Name == svc }) {
			return upkeep.Subscriber{}, fmt.Errorf("%w: unknown service %q", ErrInvalid, svc)
		}
	}
	secret, err := newSecret()
	if err != nil {
		return upkeep.Subscriber{}, err
	}
	now := s.cfg.Clock.Now()
	sub := upkeep.Subscriber{Kind: upkeep.SubscriberWebhook, Address: rawURL, Services: services, Secret: secret, CreatedAt: now, ConfirmedAt: now}
	existing, err := s.cfg.Store.AddSubscriber(ctx, &sub, 0, nil)
	if err != nil {
		return upkeep.Subscriber{}, err
	}
	if existing {
		return upkeep.Subscriber{}, fmt.Errorf("%w: subscriber %d has this URL already", upkeep.ErrConflict, sub.ID)
	}
	s.log.Info("subscribers: webhook subscriber added", "subscriber", sub.ID)
	return sub, nil
}

// Remove deletes subscriber id; an error wrapping upkeep.ErrNotFound if there is none.
func (s *Service) Remove(ctx context.Context, id int64) error {
	if err := s.cfg.Store.RemoveSubscriber(ctx, id); err != nil {
		return err
	}
	s.log.Info("subscribers: subscriber removed", "subscriber", id)
	return nil
}

// checkWebhookURL accepts https URLs, and http ones only to a loopback address (a receiver on
// the same machine): notices would otherwise cross networks in clear text.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: url must be an absolute https URL without user information", ErrInvalid)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%w: url must use https (http only to localhost or a loopback address)", ErrInvalid)
	}
	return fmt.Errorf("%w: url must be an https URL", ErrInvalid)
}
