package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// smsText is the text of an SMS: the channel's text template when it has one for the event,
// else the subject and one link (acknowledge when possible, else the incident), shortened to
// fit one segment (160 GSM characters, or 70 when the text needs Unicode) where the link allows.
func (b *base) smsText(ev Event) (string, error) {
	m, err := b.render(ev)
	if err != nil {
		return "", err
	}
	if b.hasTextTemplate(ev.Kind) {
		return m.Text, nil
	}
	link := ackURL(ev)
	if link == "" {
		link = ev.Incident.URL
	}
	// Lengths are in GSM septets (an extension character such as "[" takes two), or in UTF-16
	// units when the text needs Unicode.
	subject, length, limit := m.Subject, septets, 160
	if !isGSM(subject + link) {
		length, limit = utf16Units, 70
	}
	if link == "" {
		return shorten(subject, limit, length), nil
	}
	room := max(limit-length(link)-1, 20) // a long link: two segments, but still a readable subject
	return shorten(subject, room, length) + " " + link, nil
}

// shorten cuts s to at most n units of length, ending it with "..." (the ellipsis character is
// not in the GSM alphabet and would make the message Unicode, halving its length).
func shorten(s string, n int, length func(string) int) string {
	if length(s) <= n {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && length(string(r))+3 > n {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "..."
}

func septets(s string) int {
	n := 0
	for _, r := range s {
		n++
		if strings.ContainsRune(gsmExtension, r) {
			n++
		}
	}
	return n
}

func utf16Units(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// gsm is the GSM 03.38 basic character set (without the escape table).
const gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension are the characters of the GSM extension table, sent as two septets.
const gsmExtension = "^{}\\[~]|€\f"

func isGSM(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsm, r) && !strings.ContainsRune(gsmExtension, r) {
			return false
		}
	}
	return true
}

// sentSet remembers which recipients got a message of a key, so that a retry after a partial
// failure texts only the others. It forgets after a day and is per process.
type sentSet struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

func newSentSet() *sentSet { return &sentSet{sent: make(map[string]time.Time)} }

func (s *sentSet) has(key, to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sent[key+"\x00"+to]
	return ok
}

func (s *sentSet) add(key, to string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.sent {
		if now.Sub(t) > 24*time.Hour {
			delete(s.sent, k)
		}
	}
	s.sent[key+"\x00"+to] = now
}

// sendEach sends to every recipient not yet sent to for ev.Key, and returns the failures: a
// permanent error only when every failure is permanent.
func sendEach(ev Event, sent *sentSet, to []string, now func() time.Time, send func(to string) error) error {
	var errs []error
	allPermanent := true
	for _, n := range to {
		if ev.Key != "" && sent.has(ev.Key, n) {
			continue
		}
		if err := send(n); err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", n, err))
			allPermanent = allPermanent && errors.Is(err, ErrPermanent)
			continue
		}
		if ev.Key != "" {
			sent.add(ev.Key, n, now())
		}
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if allPermanent {
		return permanent(err)
	}
	// A retry can help some; errors.Join keeps the permanent ones visible to errors.Is, so
	// hide them behind a plain message.
	return &retryableJoin{err}
}

type retryableJoin struct{ err error }

func (e *retryableJoin) Error() string { return e.err.Error() }
func (e *retryableJoin) Unwrap() error { return nil }

// twilioSender sends through Twilio's Messages API: a form POST to
// /2010-04-01/Accounts/{AccountSid}/Messages.json with basic authentication.
type twilioSender struct {
	*base
	c    *policy.TwilioSMS
	sent *sentSet
}

func (s *twilioSender) Send(ctx context.Context, ev Event) error {
	text, err := s.smsText(ev)
	if err != nil {
		return err
	}
	endpoint := s.c.APIURL + "/2010-04-01/Accounts/" + url.PathEscape(s.c.AccountSID) + "/Messages.json"
	return sendEach(ev, s.sent, s.c.To, s.opts.Now, func(to string) error {
		form := url.Values{"To": {to}, "Body": {text}}
		if strings.HasPrefix(s.c.From, "MG") {
			form.Set("MessagingServiceSid", s.c.From)
		} else {
			form.Set("From", s.c.From)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return permanent(err)
		}
		req.SetBasicAuth(s.c.AccountSID, s.c.AuthToken.Reveal())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		_, err = s.do(req)
		return err
	})
}

// httpSMSSender sends through any HTTP API, one request per recipient built from a template.
type httpSMSSender struct {
	*base
	c    *policy.HTTPSMS
	sent *sentSet
}

// SMSData is what the body template of an http SMS channel sees.
type SMSData struct {
	Text  string // the message
	To    string // one recipient
	Event Event
}

func (s *httpSMSSender) Send(ctx context.Context, ev Event) error {
	text, err := s.smsText(ev)
	if err != nil {
		return err
	}
	return sendEach(ev, s.sent, s.c.To, s.opts.Now, func(to string) error {
		var body bytes.Buffer
		if err := s.c.Body.Parsed().Execute(&body, SMSData{Text: text, To: to, Event: ev}); err != nil {
			return permanent(fmt.Errorf("body template: %w", err))
		}
		target := s.c.URL
		var reader *bytes.Reader
		if s.c.Method == http.MethodGet {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + strings.TrimSpace(body.String())
			reader = bytes.NewReader(nil)
		} else {
			reader = bytes.NewReader(body.Bytes())
		}
		req, err := http.NewRequestWithContext(ctx, s.c.Method, target, reader)
		if err != nil {
			return permanent(err)
		}
		for k, v := range s.c.Headers {
			req.Header.Set(k, v.Reveal())
		}
		if req.Header.Get("Content-Type") == "" && s.c.Method != http.MethodGet {
			if b := bytes.TrimSpace(body.Bytes()); len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
				req.Header.Set("Content-Type", "application/json")
			} else {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		}
		if ev.Key != "" {
			req.Header.Set("Idempotency-Key", ev.Key+"/"+to)
		}
		_, err = s.do(req)
		return err
	})
}
