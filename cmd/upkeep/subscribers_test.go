package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/upkeep-dev/upkeep/notify"
)

// mailbox is an in-process SMTP server that keeps every message, by recipient.
type mailbox struct {
	mu   sync.Mutex
	msgs []*mail.Message
	to   []string
	addr string
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mbSession{mb: mb}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	mb.addr = l.Addr().String()
	return mb
}

type mbSession struct {
	mb *mailbox
	to []string
}

func (s *mbSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mbSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mbSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	for _, to := range s.to {
		s.mb.msgs = append(s.mb.msgs, m)
		s.mb.to = append(s.mb.to, to)
	}
	return nil
}
func (s *mbSession) Reset()        { s.to = nil }
func (s *mbSession) Logout() error { return nil }

// inbox returns the messages to one address.
func (mb *mailbox) inbox(addr string) []*mail.Message {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []*mail.Message
	for i, m := range mb.msgs {
		if mb.to[i] == addr {
			out = append(out, m)
		}
	}
	return out
}

// textOf returns a message's text/plain body, decoded.
func textOf(t *testing.T, m *mail.Message) string {
	t.Helper()
	ct, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader = m.Body
	enc := m.Header.Get("Content-Transfer-Encoding")
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(m.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("no text/plain part: %v", err)
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
				body, enc = p, "" // multipart.Reader decodes quoted-printable itself
				break
			}
		}
	}
	if strings.EqualFold(enc, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postForm posts a form (or nil) and returns the status and body.
func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getURL(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiJSON sends a JSON request with the token and decodes the answer into out (if not nil).
func apiJSON(t *testing.T, s *server, method, path, token string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

var linkRe = regexp.MustCompile(`https?://\S+/subscribe/confirm/\S+`)

// signedHooks receives webhook notices and checks their signature.
type signedHooks struct {
	mu     sync.Mutex
	secret string
	got    []notify.WebhookPayload
	bad    []string
}

func (h *signedHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	var p notify.WebhookPayload
	if !notify.Verify(h.secret, r.Header, body, time.Now(), 5*time.Minute) {
		h.bad = append(h.bad, "bad signature: "+string(body))
	} else if err := json.Unmarshal(body, &p); err != nil || p.ID != r.Header.Get("Idempotency-Key") {
		h.bad = append(h.bad, fmt.Sprintf("%v: %s", err, body))
	} else {
		h.got = append(h.got, p)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *signedHooks) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.got {
		out = append(out, p.Event)
	}
	return out
}

func subscriptionPolicy(mb *mailbox) string {
	host, port, _ := net.SplitHostPort(mb.addr)
	return fmt.Sprintf(`services:
  - {name: api, title: Public API}
  - {name: web}
channels:
  mail:
    email: {to: [ops@example.com], smtp: {host: %s, port: %s, tls: none, from: "Acme status <status@example.com>"}}
status_page:
  title: Acme status
  subscriptions:
    email: {channel: mail}
    webhooks: true
`, host, port)
}

// TestSubscribeConfirmNotifyUnsubscribe runs the whole e-mail subscription flow against the
// real binary and an in-process SMTP server, with a webhook subscriber beside it.
func TestSubscribeConfirmNotifyUnsubscribe(t *testing.T) {
	mb := startMailbox(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), subscriptionPolicy(mb))
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	s := startServe(t, dir, nil)

	// The status page links to the form, which is there, accessible, and lists the services.
	if code, body := getURL(t, s.url+"/"); code != http.StatusOK || !strings.Contains(body, `<a href="/subscribe">`) {
		t.Errorf("the status page does not link to /subscribe: %d", code)
	}
	code, body := getURL(t, s.url+"/subscribe")
	if code != http.StatusOK || !strings.Contains(body, `<label for="email">`) || !strings.Contains(body, "Public API") {
		t.Fatalf("GET /subscribe: %d %s", code, body)
	}

	// alice subscribes to api, bob to web. A second request for alice gets the same answer.
	code, first := postForm(t, s.url+"/subscribe", url.Values{"email": {"Alice@Example.com"}, "services": {"api"}})
	if code != http.StatusAccepted {
		t.Fatalf("subscribe: %d %s", code, first)
	}
	code, again := postForm(t, s.url+"/subscribe", url.Values{"email": {"alice@example.com"}, "services": {"api"}})
	if code != http.StatusAccepted || again != first {
		t.Errorf("subscribing again answers differently (%d): %s\nvs\n%s", code, again, first)
	}
	if code, body := postForm(t, s.url+"/subscribe", url.Values{"email": {"bob@example.com"}, "services": {"web"}}); code != http.StatusAccepted {
		t.Fatalf("subscribe bob: %d %s", code, body)
	}
	if code, body := postForm(t, s.url+"/subscribe", url.Values{"email": {"not an address"}}); code != http.StatusBadRequest || !strings.Contains(body, "valid e-mail address") {
		t.Errorf("a bad address: %d %s", code, body)
	}
	// JSON works too; an unknown service is refused.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/subscribe", strings.NewReader(`{"email":"carol@example.com","services":["nope"]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"error"`) {
		t.Errorf("JSON with an unknown service: %d %s", resp.StatusCode, b)
	}

	waitFor(t, "the confirmation mails", 30*time.Second, func() bool {
		return len(mb.inbox("alice@example.com")) >= 2 && len(mb.inbox("bob@example.com")) >= 1
	})
	confirm := mb.inbox("alice@example.com")[0]
	if got := confirm.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	if got := confirm.Header.Get("List-Unsubscribe"); !strings.HasPrefix(got, "<"+s.url+"/unsubscribe/") {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if !strings.Contains(confirm.Header.Get("Subject"), "Confirm your subscription to Acme status") {
		t.Errorf("subject %q", confirm.Header.Get("Subject"))
	}
	confirmLink := func(m *mail.Message) string {
		link := linkRe.FindString(textOf(t, m))
		if link == "" {
			t.Fatalf("no confirmation link in %q", textOf(t, m))
		}
		return link
	}
	link := confirmLink(confirm)

	// Following the link (as a mail scanner would) confirms nothing: it shows a button.
	code, body = getURL(t, link)
	if code != http.StatusOK || !strings.Contains(body, `<form method="post"`) {
		t.Fatalf("GET confirm link: %d %s", code, body)
	}
	var subs []struct {
		ID        int64    `json:"id"`
		Kind      string   `json:"kind"`
		Address   string   `json:"address"`
		Services  []string `json:"services"`
		Confirmed bool     `json:"confirmed"`
	}
	apiJSON(t, s, http.MethodGet, "/api/v1/subscribers", token, nil, &subs)
	if len(subs) != 2 || subs[0].Confirmed || strings.Contains(subs[0].Address, "alice") {
		t.Fatalf("subscribers before confirming: %+v", subs)
	}
	if code, body := postForm(t, link, nil); code != http.StatusOK || !strings.Contains(body, "You are subscribed") {
		t.Fatalf("POST confirm link: %d %s", code, body)
	}
	if code, body := postForm(t, confirmLink(mb.inbox("bob@example.com")[0]), nil); code != http.StatusOK {
		t.Fatalf("confirm bob: %d %s", code, body)
	}
	if code, _ := postForm(t, link[:len(link)-3]+"xyz", nil); code != http.StatusBadRequest {
		t.Errorf("a damaged link: %d", code)
	}

	// A webhook subscriber to api, through the API.
	hooks := &signedHooks{}
	hs := httptest.NewServer(hooks)
	defer hs.Close()
	var created struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if code := apiJSON(t, s, http.MethodPost, "/api/v1/subscribers", token, map[string]any{"url": hs.URL + "/hook/tok3n", "services": []string{"api"}}, &created); code != http.StatusCreated || created.Secret == "" {
		t.Fatalf("create webhook subscriber: %d %+v", code, created)
	}
	hooks.mu.Lock()
	hooks.secret = created.Secret
	hooks.mu.Unlock()
	if code := apiJSON(t, s, http.MethodPost, "/api/v1/subscribers", token, map[string]any{"url": "http://example.com/hook"}, nil); code != http.StatusBadRequest {
		t.Errorf("an http URL to another host: %d, want 400", code)
	}

	// An incident of api, opened through the API, reaches alice and the webhook, not bob.
	var inc struct {
		ID int64 `json:"id"`
	}
	if code := apiJSON(t, s, http.MethodPost, "/api/v1/incidents", token, map[string]any{
		"title": "Elevated errors", "services": []string{"api"}, "status": "investigating", "impact": "minor", "message": "We are looking into it.",
	}, &inc); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("open incident: %d", code)
	}
	waitFor(t, "the incident notice", 30*time.Second, func() bool {
		return len(mb.inbox("alice@example.com")) >= 3 && len(hooks.events()) >= 1
	})
	notice := mb.inbox("alice@example.com")[2]
	text := textOf(t, notice)
	if !strings.Contains(notice.Header.Get("Subject"), "Incident: Elevated errors") || !strings.Contains(text, "We are looking into it.") ||
		!strings.Contains(text, fmt.Sprintf("%s/incidents/%d", s.url, inc.ID)) {
		t.Errorf("incident mail: %q\n%s", notice.Header.Get("Subject"), text)
	}
	unsub := strings.Trim(notice.Header.Get("List-Unsubscribe"), "<>")
	if notice.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || unsub == "" {
		t.Errorf("incident mail without one-click unsubscribe: %v", notice.Header)
	}
	if ev := hooks.events(); ev[0] != "incident_opened" {
		t.Errorf("webhook events %v", ev)
	}

	// The unsubscribe link shows a page; the one-click POST (RFC 8058) unsubscribes.
	if code, body := getURL(t, unsub); code != http.StatusOK || !strings.Contains(body, "Unsubscribe") {
		t.Errorf("GET unsubscribe: %d %s", code, body)
	}
	resp, err = http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}

	// An update and the resolution reach the webhook only.
	if code := apiJSON(t, s, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), token,
		map[string]any{"status": "resolved", "message": "Fixed."}, nil); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("resolve: %d", code)
	}
	waitFor(t, "the resolution notice", 30*time.Second, func() bool { return len(hooks.events()) >= 2 })
	if ev := hooks.events(); ev[1] != "incident_resolved" {
		t.Errorf("webhook events %v", ev)
	}
	rows := outbox(t, s, token)
	for _, r := range rows {
		if strings.Contains(r.Key, "/update/") && r.Channel == "@subscribers-email" && strings.HasSuffix(r.Event, "resolved") {
			t.Errorf("a notice for the unsubscribed address was enqueued: %+v", r)
		}
		if r.State != "sent" {
			t.Errorf("%s is %s: %s", r.Key, r.State, r.LastError)
		}
	}
	if n := len(mb.inbox("alice@example.com")); n != 3 {
		t.Errorf("alice got %d mails, want 3 (two confirmations, one notice)", n)
	}
	if n := len(mb.inbox("bob@example.com")); n != 1 {
		t.Errorf("bob (web only) got %d mails, want only his confirmation", n)
	}
	hooks.mu.Lock()
	if len(hooks.bad) > 0 {
		t.Errorf("bad webhook requests: %v", hooks.bad)
	}
	hooks.mu.Unlock()

	// The CLI lists the subscribers left (bob and the webhook), masked, and removes one.
	code, out, errOut := runCLI(t, nil, "subscribers", "list", "--url", s.url, "--token", token)
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "b***@***") || strings.Contains(out, "bob@") || strings.Contains(out, "tok3n") {
		t.Errorf("subscribers list: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, nil, "subscribers", "remove", fmt.Sprint(created.ID), "--url", s.url, "--token", token)
	if code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("subscribers remove: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "subscribers", "remove", fmt.Sprint(created.ID), "--url", s.url, "--token", token); code == 0 || !strings.Contains(errOut, "not_found") {
		t.Errorf("removing twice: %d %s", code, errOut)
	}

	// No address in the log.
	if log := s.stderr.String(); strings.Contains(log, "alice@") || strings.Contains(log, "bob@") || strings.Contains(log, "tok3n") {
		t.Errorf("the log shows a subscriber's address:\n%s", log)
	}
}

// TestSubscribeRateLimit: a fourth request for one address within the hour is refused.
func TestSubscribeRateLimit(t *testing.T) {
	mb := startMailbox(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), subscriptionPolicy(mb))
	s := startServe(t, dir, nil)
	for i := range 4 {
		code, body := postForm(t, s.url+"/subscribe", url.Values{"email": {"dave@example.com"}})
		want := http.StatusAccepted
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("request %d: %d, want %d: %s", i+1, code, want, body)
		}
	}
}

// serveMonitoredSubscriptions starts the binary with subscriptionPolicy and a monitor of api,
// api-health, checking url every second, and returns the mailbox, the server and an API token.
func serveMonitoredSubscriptions(t *testing.T, url string) (*mailbox, *server, string) {
	t.Helper()
	mb := startMailbox(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "upkeep.yaml"), subscriptionPolicy(mb)+fmt.Sprintf(
		"monitors:\n  - {name: api-health, service: api, every: 1s, timeout: 900ms, down_after: 1, http: {url: %q}}\n", url))
	token := createTokenFor(t, filepath.Join(dir, "upkeep-data"))
	return mb, startServe(t, dir, nil), token
}

// failingTarget is an HTTP target that answers 200, or 500 with msg while broken is set.
func failingTarget(t *testing.T, msg string) (target *httptest.Server, broken *atomic.Bool) {
	broken = &atomic.Bool{}
	target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, msg, http.StatusInternalServerError)
		}
	}))
	t.Cleanup(target.Close)
	return target, broken
}

// TestSubscriberMonitorIncident: an incident opened and resolved by a monitor reaches a webhook
// subscriber, without the monitor's internal error.
func TestSubscriberMonitorIncident(t *testing.T) {
	target, broken := failingTarget(t, "secret-internal-detail")
	broken.Store(true)
	hooks := &signedHooks{}
	hs := httptest.NewServer(hooks)
	defer hs.Close()
	_, s, token := serveMonitoredSubscriptions(t, target.URL)
	var created struct {
		Secret string `json:"secret"`
	}
	if code := apiJSON(t, s, http.MethodPost, "/api/v1/subscribers", token, map[string]any{"url": hs.URL}, &created); code != http.StatusCreated {
		t.Fatalf("create subscriber: %d", code)
	}
	hooks.mu.Lock()
	hooks.secret = created.Secret
	hooks.mu.Unlock()

	waitFor(t, "the incident notice", 60*time.Second, func() bool { return len(hooks.events()) >= 1 })
	broken.Store(false)
	waitFor(t, "the resolution notice", 60*time.Second, func() bool { return len(hooks.events()) >= 2 })
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	if len(hooks.bad) > 0 {
		t.Errorf("bad requests: %v", hooks.bad)
	}
	opened, resolved := hooks.got[0], hooks.got[1]
	if opened.Event != "incident_opened" || resolved.Event != "incident_resolved" || len(hooks.got) != 2 {
		t.Errorf("events %+v", hooks.got)
	}
	for _, p := range hooks.got {
		if b, _ := json.Marshal(p); strings.Contains(string(b), "secret-internal-detail") || strings.Contains(string(b), "500") {
			t.Errorf("a public notice shows the monitor's error: %s", b)
		}
	}
	if opened.Incident.Message != "We are investigating a problem." || opened.Incident.Services[0] != "api" {
		t.Errorf("opened: %+v", opened.Incident)
	}
}
