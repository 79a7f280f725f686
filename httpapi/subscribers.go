package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/subscription"
)

// Subscriptions serves the status page's subscription pages and the subscribers API
// (package subscription implements it).
type Subscriptions interface {
	SubscribeForm() http.Handler
	Subscribe() http.Handler
	ConfirmPage() http.Handler
	Confirm() http.Handler
	UnsubscribePage() http.Handler
	Unsubscribe() http.Handler
	List(ctx context.Context, address string) ([]upkeep.Subscriber, error)
	AddWebhook(ctx context.Context, url string, services []string) (upkeep.Subscriber, error)
	Remove(ctx context.Context, id int64) error
}

// subscriberJSON is a subscriber as the API shows it. The address is masked (an e-mail's
// first letter, a webhook's scheme and host): the API is for operators, not a list of people.
type subscriberJSON struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Address     string     `json:"address"`
	Services    []string   `json:"services"`
	Confirmed   bool       `json:"confirmed"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	// Secret is shown once, in the answer that creates a webhook subscriber.
	Secret string `json:"secret,omitempty"`
}

func subscriberFrom(s upkeep.Subscriber) subscriberJSON {
	addr := subscription.Mask(s.Address)
	if s.Kind == upkeep.SubscriberWebhook {
		addr = "(invalid URL)"
		if u, err := url.Parse(s.Address); err == nil {
			addr = u.Scheme + "://" + u.Host + "/…"
		}
	}
	out := subscriberJSON{ID: s.ID, Kind: s.Kind, Address: addr, Services: s.Services, Confirmed: s.Confirmed(), CreatedAt: s.CreatedAt.UTC()}
	if out.Services == nil {
		out.Services = []string{}
	}
	if s.Confirmed() {
		t := s.ConfirmedAt.UTC()
		out.ConfirmedAt = &t
	}
	return out
}

func subscriberError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, subscription.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, upkeep.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, upkeep.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "subscribers: internal error")
	}
}

// handleSubscribers lists subscribers; ?address= finds one by its full address.
func handleSubscribers(s Subscriptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.List(r.Context(), r.URL.Query().Get("address"))
		if err != nil {
			subscriberError(w, err)
			return
		}
		out := make([]subscriberJSON, 0, len(list))
		for _, sub := range list {
			out = append(out, subscriberFrom(sub))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleSubscriberCreate creates a webhook subscriber (e-mail subscribers confirm their
// address through POST /subscribe).
func handleSubscriberCreate(s Subscriptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			URL      string   `json:"url"`
			Services []string `json:"services"`
		}
		if !decodeBody(w, r, &body) {
			return
		}
		sub, err := s.AddWebhook(r.Context(), body.URL, body.Services)
		if err != nil {
			subscriberError(w, err)
			return
		}
		out := subscriberFrom(sub)
		out.Secret = sub.Secret
		writeJSON(w, http.StatusCreated, out)
	})
}

func handleSubscriberDelete(s Subscriptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusNotFound, "no subscriber "+r.PathValue("id"))
			return
		}
		if err := s.Remove(r.Context(), id); err != nil {
			subscriberError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "removed": true})
	})
}
