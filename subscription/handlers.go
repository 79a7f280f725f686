package subscription

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/upkeep-dev/upkeep"
)

// maxBody bounds the body of POST /subscribe.
const maxBody = 16 << 10

// wantsJSON reports whether the client sent or asked for JSON.
func wantsJSON(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/json" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// reply answers with a page, or with JSON {"status": ..., "message"|"error": ...}.
func (s *Service) reply(w http.ResponseWriter, r *http.Request, code int, pg page) {
	if !wantsJSON(r) {
		s.render(w, code, pg)
		return
	}
	body := map[string]string{"message": pg.Message}
	if pg.Error != "" {
		body = map[string]string{"error": pg.Error}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// services are the services people may subscribe to: those the status page shows.
func (s *Service) services() []serviceOption {
	p := s.policy()
	var out []serviceOption
	for _, name := range p.ShownServices() {
		title := name
		if svc := p.Service(name); svc != nil && svc.Title != "" {
			title = svc.Title
		}
		out = append(out, serviceOption{name, title})
	}
	return out
}

// disabled answers 404 when the policy has no e-mail subscriptions.
func (s *Service) disabled(w http.ResponseWriter, r *http.Request) bool {
	if s.emailChannel() != nil {
		return false
	}
	s.reply(w, r, http.StatusNotFound, page{Heading: "Not found", Error: "This status page has no e-mail subscriptions."})
	return true
}

// SubscribeForm serves GET /subscribe.
func (s *Service) SubscribeForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.disabled(w, r) {
			return
		}
		s.render(w, http.StatusOK, page{Heading: "Subscribe to updates", Form: "subscribe", Services: s.services()})
	})
}

// checkInbox is the one answer to every accepted subscription, new or not.
const checkInbox = "Thank you. If the address can receive mail, a message with a confirmation link is on its way; the subscription starts when you confirm it."

// Subscribe serves POST /subscribe (a form or JSON: email, services).
func (s *Service) Subscribe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.disabled(w, r) {
			return
		}
		form := page{Heading: "Subscribe to updates", Form: "subscribe", Services: s.services()}
		fail := func(code int, msg string) {
			form.Error = msg
			s.reply(w, r, code, form)
		}
		now := s.cfg.Clock.Now()
		if !s.ipRL.allow(clientIP(r), now) {
			w.Header().Set("Retry-After", "3600")
			fail(http.StatusTooManyRequests, "Too many subscription requests from your network. Please try again in an hour.")
			return
		}
		var in struct {
			Email    string   `json:"email"`
			Services []string `json:"services"`
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if wantsJSON(r) && r.Header.Get("Content-Type") != "" && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				fail(http.StatusBadRequest, "The request body is not valid JSON: expected {\"email\": \"...\", \"services\": [...]}.")
				return
			}
		} else {
			if err := r.ParseForm(); err != nil {
				fail(http.StatusBadRequest, "The form could not be read.")
				return
			}
			in.Email, in.Services = r.PostForm.Get("email"), r.PostForm["services"]
		}
		addr, ok := parseAddress(in.Email)
		if !ok {
			fail(http.StatusBadRequest, "Please enter a valid e-mail address, such as name@example.com.")
			return
		}
		form.Email = addr
		known := s.services()
		for _, svc := range in.Services {
			if !slices.ContainsFunc(known, func(o serviceOption) bool { return o.Name == svc }) {
				fail(http.StatusBadRequest, fmt.Sprintf("Unknown service %q.", svc))
				return
			}
		}
		slices.Sort(in.Services)
		in.Services = slices.Compact(in.Services)
		if !s.adrRL.allow(addr, now) {
			// The same words whether or not the address is subscribed.
			w.Header().Set("Retry-After", "3600")
			fail(http.StatusTooManyRequests, "Too many subscription requests for this address. Please try again in an hour.")
			return
		}
		sub := upkeep.Subscriber{Kind: upkeep.SubscriberEmail, Address: addr, Services: in.Services, CreatedAt: now}
		_, err := s.cfg.Store.AddSubscriber(r.Context(), &sub, s.maxPending(), func(sub upkeep.Subscriber) []upkeep.Notification {
			return []upkeep.Notification{{
				Key: fmt.Sprintf("subscriber/%d/confirm/%d", sub.ID, now.UnixNano()), Channel: EmailChannel, Event: EventConfirm,
				Payload:   upkeep.NotificationPayload{Title: "Confirm your subscription", Services: in.Services, At: now},
				CreatedAt: now, NextAttemptAt: now,
			}}
		})
		switch {
		case errors.Is(err, upkeep.ErrConflict):
			w.Header().Set("Retry-After", "3600")
			fail(http.StatusServiceUnavailable, "Too many subscriptions await confirmation right now. Please try again later.")
			return
		case err != nil:
			s.log.Error("subscribers: storing a subscription", "err", err)
			fail(http.StatusInternalServerError, "The subscription could not be stored. Please try again later.")
			return
		}
		s.log.Info("subscribers: subscription requested", "subscriber", sub.ID)
		s.cfg.Notify()
		s.reply(w, r, http.StatusAccepted, page{Heading: "Check your inbox", Message: checkInbox})
	})
}

// parseAddress accepts a bare address (name@domain, no display name) and returns it in lower case.
func parseAddress(in string) (string, bool) {
	in = strings.TrimSpace(in)
	a, err := mail.ParseAddress(in)
	if err != nil || a.Address != in || len(in) > 254 || a.Name != "" {
		return "", false
	}
	local, domain, ok := strings.Cut(in, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(in, "\r\n<>") {
		return "", false
	}
	return strings.ToLower(in), true
}

// ConfirmPage serves GET /subscribe/confirm/{token}: a page with a button. A GET changes
// nothing, so mail scanners that fetch links do not confirm.
func (s *Service) ConfirmPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.verify(r.Context(), r.PathValue("token"), purposeConfirm); err != nil {
			s.badLink(w, r, err)
			return
		}
		s.render(w, http.StatusOK, page{Heading: "Confirm your subscription", Message: "Press the button to start receiving notices.",
			Form: "Confirm subscription"})
	})
}

// Confirm serves POST /subscribe/confirm/{token}.
func (s *Service) Confirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.verify(r.Context(), r.PathValue("token"), purposeConfirm)
		if err != nil {
			s.badLink(w, r, err)
			return
		}
		sub, err := s.cfg.Store.ConfirmSubscriber(r.Context(), t.id, t.services, s.cfg.Clock.Now())
		if err != nil {
			s.badLink(w, r, err)
			return
		}
		s.log.Info("subscribers: subscription confirmed", "subscriber", sub.ID)
		s.reply(w, r, http.StatusOK, page{Heading: "You are subscribed",
			Message: "You will receive a mail when an incident or maintenance concerns the services you chose. Every mail has a link to unsubscribe."})
	})
}

// UnsubscribePage serves GET /unsubscribe/{token}.
func (s *Service) UnsubscribePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.verify(r.Context(), r.PathValue("token"), purposeUnsubscribe); err != nil {
			s.badLink(w, r, err)
			return
		}
		s.render(w, http.StatusOK, page{Heading: "Unsubscribe", Message: "Press the button to stop receiving notices.",
			Form: "Unsubscribe"})
	})
}

// Unsubscribe serves POST /unsubscribe/{token}, also as the one-click unsubscribe of RFC 8058
// (body List-Unsubscribe=One-Click). Unsubscribing twice is no error.
func (s *Service) Unsubscribe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.verify(r.Context(), r.PathValue("token"), purposeUnsubscribe)
		if err != nil {
			s.badLink(w, r, err)
			return
		}
		if err := s.cfg.Store.RemoveSubscriber(r.Context(), t.id); err != nil && !errors.Is(err, upkeep.ErrNotFound) {
			s.log.Error("subscribers: unsubscribing", "subscriber", t.id, "err", err)
			s.reply(w, r, http.StatusInternalServerError, page{Heading: "Unsubscribe", Error: "That did not work. Please try again later."})
			return
		}
		s.log.Info("subscribers: unsubscribed", "subscriber", t.id)
		s.reply(w, r, http.StatusOK, page{Heading: "You are unsubscribed", Message: "You will receive no more notices."})
	})
}

func (s *Service) badLink(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errBadToken) && !errors.Is(err, upkeep.ErrNotFound) {
		s.log.Error("subscribers: checking a link", "err", err)
	}
	s.reply(w, r, http.StatusBadRequest, page{Heading: "Invalid link", Error: errBadToken.Error() + " You can subscribe again."})
}
