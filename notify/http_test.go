package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// receiver is a local HTTP server that records requests and answers with the status its
// handler chooses.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	answer   func(r *http.Request, body []byte) (int, string)
}

type recorded struct {
	method, path, query string
	header              http.Header
	body                []byte
}

func newReceiver(t *testing.T, answer func(r *http.Request, body []byte) (int, string)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		rc.mu.Unlock()
		code, text := http.StatusOK, "ok"
		if rc.answer != nil {
			code, text = rc.answer(r, body)
		}
		w.WriteHeader(code)
		io.WriteString(w, text)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) last(t *testing.T) recorded {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.requests) == 0 {
		t.Fatal("no request received")
	}
	return rc.requests[len(rc.requests)-1]
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// channel loads one channel named c from YAML through the policy loader.
func channel(t *testing.T, yaml string, vars map[string]string) policy.Channel {
	t.Helper()
	p, err := policy.Parse("t.yaml", []byte("channels:\n  c: "+yaml+"\n"), func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.Channels["c"]
}

func sender(t *testing.T, c policy.Channel) Sender {
	t.Helper()
	s, err := New("c", c, Options{Version: "test", Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decode unmarshals a JSON body into a generic value.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	return v
}

// at walks a decoded JSON value: at(v, "attachments", 0, "content").
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestWebhookSignedBody(t *testing.T) {
	const secret = "hook-s3cret-value"
	rc := newReceiver(t, func(r *http.Request, body []byte) (int, string) {
		// The receiver verifies as docs/notifications.md tells users to.
		if !Verify(secret, r.Header, body, time.Unix(1_800_000_010, 0), 5*time.Minute) {
			return http.StatusUnauthorized, "bad signature"
		}
		return http.StatusNoContent, ""
	})
	c := channel(t, `{webhook: {url: "`+rc.URL+`/hook", headers: {Authorization: "Bearer ${TOKEN}"}, secret: "${SECRET}"}}`,
		map[string]string{"TOKEN": "tok-123456", "SECRET": secret})
	ev := testEvent(EventDown)
	if err := sender(t, c).Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	r := rc.last(t)
	if r.method != "POST" || r.path != "/hook" || r.header.Get("Authorization") != "Bearer tok-123456" ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("Idempotency-Key") != ev.Key ||
		r.header.Get("X-Upkeep-Event") != "down" || r.header.Get("X-Upkeep-Timestamp") != "1800000000" ||
		r.header.Get("User-Agent") != "Upkeep/test" {
		t.Errorf("request %s %s %v", r.method, r.path, r.header)
	}
	// The signature is over timestamp "." body, in hex.
	if got, want := r.header.Get("X-Upkeep-Signature"), Sign(secret, "1800000000", r.body); got != want || !strings.HasPrefix(got, "sha256=") || len(got) != 7+64 {
		t.Errorf("signature %q, want %q", got, want)
	}
	// A replay later than the tolerance, or a changed body, does not verify.
	if Verify(secret, r.header, r.body, time.Unix(1_800_000_000+301, 0), 5*time.Minute) {
		t.Error("an old request verifies")
	}
	if Verify(secret, r.header, append(r.body, ' '), time.Unix(1_800_000_000, 0), 5*time.Minute) {
		t.Error("a changed body verifies")
	}

	// The documented schema, field by field.
	want := `{"version":1,"id":"inc-42/step-0/mail/down","event":"down","at":"2026-03-04T05:09:00Z","subject":"[Upkeep] Public API is down",` +
		`"text":"Public API is down.\n\nMonitor: api-health (down)\nCause: HTTP 503 Service Unavailable\nServices: api\nSince: 2026-03-04 05:06 UTC\n\nIncident: https://upkeep.example.com/incidents/42\nAcknowledge: https://upkeep.example.com/ack/42?sig=abc\u0026exp=1",` +
		`"incident":{"id":"42","title":"Public API is down","status":"investigating","impact":"major","services":["api"],"monitors":["api-health"],"started_at":"2026-03-04T05:06:00Z","resolved_at":null},` +
		`"monitor":"api-health","state":"down","cause":"HTTP 503 Service Unavailable","step":0,` +
		`"links":{"incident":"https://upkeep.example.com/incidents/42","acknowledge":"https://upkeep.example.com/ack/42?sig=abc\u0026exp=1"}}`
	if string(r.body) != want {
		t.Errorf("body:\n%s\nwant:\n%s", r.body, want)
	}
	var p WebhookPayload
	if err := json.Unmarshal(r.body, &p); err != nil || p.Version != WebhookVersion {
		t.Errorf("payload %+v: %v", p, err)
	}
}

func TestErrorsPermanentOrRetryable(t *testing.T) {
	const token = "tok-very-secret-9"
	for _, tc := range []struct {
		code       int
		header     string
		permanent  bool
		retryAfter time.Duration
	}{
		{400, "", true, 0},
		{401, "", true, 0},
		{404, "", true, 0},
		{408, "", false, 0},
		{429, "7", false, 7 * time.Second},
		{500, "", false, 0},
		{503, "120", false, 2 * time.Minute},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.code)
				io.WriteString(w, `{"error":"nope"}`)
			}))
			defer rc.Close()
			c := channel(t, `{webhook: {url: "`+rc.URL+`/x?token=${T}", headers: {X-Token: "${T}"}}}`, map[string]string{"T": token})
			err := sender(t, c).Send(context.Background(), testEvent(EventDown))
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrPermanent) != tc.permanent {
				t.Errorf("permanent = %v, want %v: %v", errors.Is(err, ErrPermanent), tc.permanent, err)
			}
			if RetryAfter(err) != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", RetryAfter(err), tc.retryAfter)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d", tc.code)) || strings.Contains(err.Error(), token) {
				t.Errorf("error %q", err)
			}
		})
	}

	// Connection refused is retryable, and the URL's secret path is not shown.
	rc := httptest.NewServer(http.NotFoundHandler())
	addr := rc.URL
	rc.Close()
	c := channel(t, `{slack: {url: "`+addr+`/services/T0/B0/${T}"}}`, map[string]string{"T": token})
	err := sender(t, c).Send(context.Background(), testEvent(EventDown))
	if err == nil || errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "/services/") {
		t.Errorf("connection refused: %v", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestTwilio(t *testing.T) {
	const sid, token = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token-1"
	fail := "+15550000002"
	rc := newReceiver(t, func(r *http.Request, body []byte) (int, string) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != sid || pass != token {
			return 401, `{"code": 20003, "message": "Authenticate", "status": 401}`
		}
		form, _ := url.ParseQuery(string(body))
		if form.Get("To") == fail {
			fail = "" // fails once
			return 503, `{"status": 503}`
		}
		return 201, `{"sid": "SM0123", "status": "queued"}`
	})
	c := channel(t, `{sms: {twilio: {account_sid: `+sid+`, auth_token: "${TOK}", from: "+15017122661", to: ["+15550000001", "+15550000002"], api_url: "`+rc.URL+`"}}}`,
		map[string]string{"TOK": token})
	s := sender(t, c)
	ev := testEvent(EventDown)
	err := s.Send(context.Background(), ev)
	if err == nil || errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "+15550000002") {
		t.Fatalf("first attempt: %v, want a retryable error for the second number", err)
	}
	// The retry sends only to the number that failed.
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, r := range rc.requests {
		if r.method != "POST" || r.path != "/2010-04-01/Accounts/"+sid+"/Messages.json" ||
			r.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("request %s %s %v", r.method, r.path, r.header)
		}
		form, _ := url.ParseQuery(string(r.body))
		to = append(to, form.Get("To"))
		if form.Get("From") != "+15017122661" {
			t.Errorf("From %q", form.Get("From"))
		}
		body := form.Get("Body")
		if body != "[Upkeep] Public API is down https://upkeep.example.com/ack/42?sig=abc&exp=1" || len(body) > 160 {
			t.Errorf("Body %q", body)
		}
	}
	if strings.Join(to, ",") != "+15550000001,+15550000002,+15550000002" {
		t.Errorf("sent to %v", to)
	}

	// A wrong token is permanent and not shown.
	c.SMS.Twilio.AuthToken = "wrong-token-xyz"
	err = sender(t, c).Send(context.Background(), testEvent(EventReminder))
	if !errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "wrong-token-xyz") {
		t.Errorf("bad token: %v", err)
	}
}

func TestSMSText(t *testing.T) {
	b := &base{}
	ev := testEvent(EventDown)
	ev.Incident.Title = strings.Repeat("Very long service title ", 10)
	text, err := b.smsText(ev)
	if err != nil {
		t.Fatal(err)
	}
	if septets(text) != 160 || !strings.HasSuffix(text, "... "+ev.Incident.AckURL) || !isGSM(text) {
		t.Errorf("%d characters: %q", len(text), text)
	}
	ev = testEvent(EventResolved) // no acknowledge link once resolved
	if text, _ := b.smsText(ev); text != "[Upkeep] Resolved: Public API is down https://upkeep.example.com/incidents/42" {
		t.Errorf("resolved: %q", text)
	}
}

func TestHTTPSMS(t *testing.T) {
	rc := newReceiver(t, nil)
	c := channel(t, `{sms: {http: {url: "`+rc.URL+`/send", headers: {X-Api-Key: "${KEY}"}, body: '{"to": {{json .To}}, "text": {{json .Text}}, "incident": {{json .Event.Incident.ID}}}', to: ["+15550000001"]}}}`,
		map[string]string{"KEY": "sms-key-123"})
	if err := sender(t, c).Send(context.Background(), testEvent(EventDegraded)); err != nil {
		t.Fatal(err)
	}
	r := rc.last(t)
	if r.header.Get("X-Api-Key") != "sms-key-123" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	want := `{"to": "+15550000001", "text": "[Upkeep] Public API is down https://upkeep.example.com/ack/42?sig=abc\u0026exp=1", "incident": "42"}`
	if string(r.body) != want {
		t.Errorf("body %s\nwant %s", r.body, want)
	}

	// A form body with a text template of the channel.
	c = channel(t, `{sms: {http: {url: "`+rc.URL+`/form", body: 'to={{urlquery .To}}&msg={{urlquery .Text}}', to: ["0151 1234"]}, }, templates: {degraded: {text: "slow: {{.Incident.Title}}"}}}`, nil)
	if err := sender(t, c).Send(context.Background(), testEvent(EventDegraded)); err != nil {
		t.Fatal(err)
	}
	r = rc.last(t)
	form, _ := url.ParseQuery(string(r.body))
	if r.header.Get("Content-Type") != "application/x-www-form-urlencoded" || form.Get("to") != "0151 1234" || form.Get("msg") != "slow: Public API is down" {
		t.Errorf("form %s %v", r.body, r.header)
	}
}

func TestSlack(t *testing.T) {
	rc := newReceiver(t, nil)
	c := channel(t, `{slack: {url: "${URL}"}}`, map[string]string{"URL": "http://" + rc.Listener.Addr().String() + "/services/T0/B0/x"})
	if err := sender(t, c).Send(context.Background(), testEvent(EventDown)); err != nil {
		t.Fatal(err)
	}
	r := rc.last(t)
	v := decode(t, r.body)
	if r.path != "/services/T0/B0/x" || v["text"] != "[Upkeep] Public API is down" || at(v, "blocks", 0, "type") != "header" ||
		at(v, "blocks", 0, "text", "text") != "[Upkeep] Public API is down" || at(v, "blocks", 1, "text", "type") != "mrkdwn" ||
		!strings.Contains(at(v, "blocks", 1, "text", "text").(string), "Cause: HTTP 503") ||
		at(v, "blocks", 2, "type") != "actions" || at(v, "blocks", 2, "elements", 0, "url") != "https://upkeep.example.com/ack/42?sig=abc&exp=1" ||
		at(v, "blocks", 2, "elements", 1, "url") != "https://upkeep.example.com/incidents/42" {
		t.Errorf("payload %s", r.body)
	}
	// Slack's mrkdwn needs &, < and > escaped.
	if !strings.Contains(at(v, "blocks", 1, "text", "text").(string), "sig=abc&amp;exp=1") {
		t.Errorf("text not escaped: %s", r.body)
	}
}

func TestTeams(t *testing.T) {
	rc := newReceiver(t, func(*http.Request, []byte) (int, string) { return http.StatusAccepted, "" })
	c := channel(t, `{teams: {url: "${URL}"}}`, map[string]string{"URL": rc.URL + "/workflows/x"})
	if err := sender(t, c).Send(context.Background(), testEvent(EventDown)); err != nil {
		t.Fatal(err)
	}
	v := decode(t, rc.last(t).body)
	card := at(v, "attachments", 0, "content")
	if v["type"] != "message" || at(v, "attachments", 0, "contentType") != "application/vnd.microsoft.card.adaptive" ||
		at(card, "type") != "AdaptiveCard" || at(card, "version") != "1.4" || at(card, "body", 0, "text") != "[Upkeep] Public API is down" ||
		at(card, "actions", 0, "type") != "Action.OpenUrl" || at(card, "actions", 0, "url") != "https://upkeep.example.com/ack/42?sig=abc&exp=1" ||
		at(card, "actions", 1, "url") != "https://upkeep.example.com/incidents/42" {
		t.Errorf("adaptive card %s", rc.last(t).body)
	}

	c = channel(t, `{teams: {url: "${URL}", format: messagecard}}`, map[string]string{"URL": rc.URL + "/webhookb2/x"})
	if err := sender(t, c).Send(context.Background(), testEvent(EventResolved)); err != nil {
		t.Fatal(err)
	}
	v = decode(t, rc.last(t).body)
	if v["@type"] != "MessageCard" || v["summary"] != "[Upkeep] Resolved: Public API is down" || v["themeColor"] != "2DA44E" ||
		at(v, "potentialAction", 0, "@type") != "OpenUri" || at(v, "potentialAction", 0, "targets", 0, "uri") != "https://upkeep.example.com/incidents/42" {
		t.Errorf("message card %s", rc.last(t).body)
	}
}

func TestDiscord(t *testing.T) {
	rc := newReceiver(t, func(*http.Request, []byte) (int, string) { return http.StatusNoContent, "" })
	c := channel(t, `{discord: {url: "${URL}"}}`, map[string]string{"URL": rc.URL + "/api/webhooks/1/tok"})
	if err := sender(t, c).Send(context.Background(), testEvent(EventDown)); err != nil {
		t.Fatal(err)
	}
	v := decode(t, rc.last(t).body)
	e := at(v, "embeds", 0)
	if at(e, "title") != "[Upkeep] Public API is down" || at(e, "url") != "https://upkeep.example.com/incidents/42" ||
		at(e, "color") != float64(0xD93F0B) || at(e, "timestamp") != "2026-03-04T05:09:00Z" ||
		!strings.Contains(at(e, "description").(string), "[Acknowledge](https://upkeep.example.com/ack/42?sig=abc&exp=1)") ||
		at(v, "allowed_mentions", "parse") == nil || len(at(v, "allowed_mentions", "parse").([]any)) != 0 {
		t.Errorf("payload %s", rc.last(t).body)
	}
}

func TestTelegram(t *testing.T) {
	const token = "123456:ABC-secret_token"
	rc := newReceiver(t, func(r *http.Request, body []byte) (int, string) {
		if r.URL.Path != "/bot"+token+"/sendMessage" {
			return 404, `{"ok":false,"error_code":404,"description":"Not Found"}`
		}
		if strings.Contains(string(body), `"chat_id":"-100999"`) {
			return 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}`
		}
		return 200, `{"ok":true,"result":{"message_id":1}}`
	})
	c := channel(t, `{telegram: {bot_token: "${TG}", chat_id: -1001234567890, api_url: "`+rc.URL+`"}}`, map[string]string{"TG": token})
	if err := sender(t, c).Send(context.Background(), testEvent(EventDown)); err != nil {
		t.Fatal(err)
	}
	v := decode(t, rc.last(t).body)
	text, _ := v["text"].(string)
	if v["chat_id"] != "-1001234567890" || v["parse_mode"] != "HTML" || !strings.HasPrefix(text, "<b>[Upkeep] Public API is down</b>\n\n") ||
		!strings.Contains(text, `<a href="https://upkeep.example.com/ack/42?sig=abc&amp;exp=1">Acknowledge</a>`) ||
		!strings.Contains(text, `<a href="https://upkeep.example.com/incidents/42">Incident</a>`) {
		t.Errorf("payload %s", rc.last(t).body)
	}

	// A rate limit is retryable after the Bot API's retry_after; the token is never shown.
	c.Telegram.ChatID = "-100999"
	err := sender(t, c).Send(context.Background(), testEvent(EventDown))
	if err == nil || errors.Is(err, ErrPermanent) || RetryAfter(err) != 35*time.Second || strings.Contains(err.Error(), "ABC-secret_token") {
		t.Errorf("429: %v (retry after %v)", err, RetryAfter(err))
	}
	c.Telegram.BotToken = "999:wrong-token-abc"
	err = sender(t, c).Send(context.Background(), testEvent(EventDown))
	if !errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "wrong-token-abc") {
		t.Errorf("404: %v", err)
	}
}

func TestNtfy(t *testing.T) {
	rc := newReceiver(t, nil)
	c := channel(t, `{ntfy: {server: "`+rc.URL+`", topic: upkeep-ops, token: "${T}"}}`, map[string]string{"T": "tk_secret"})
	s := sender(t, c)
	for kind, priority := range map[string]float64{EventDown: 5, EventDegraded: 4, EventResolved: 3, EventMaintenanceStarted: 2} {
		if err := s.Send(context.Background(), testEvent(kind)); err != nil {
			t.Fatal(err)
		}
		r := rc.last(t)
		v := decode(t, r.body)
		if r.path != "/" || r.header.Get("Authorization") != "Bearer tk_secret" || v["topic"] != "upkeep-ops" ||
			v["priority"] != priority || v["click"] != "https://upkeep.example.com/incidents/42" {
			t.Errorf("%s: %s %v", kind, r.body, r.header)
		}
		hasAck := at(v, "actions", 0, "url") == "https://upkeep.example.com/ack/42?sig=abc&exp=1"
		if hasAck != (kind == EventDown || kind == EventDegraded) {
			t.Errorf("%s: actions %v", kind, v["actions"])
		}
	}
}

func TestPagerDutyLifecycle(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	rc := newReceiver(t, func(r *http.Request, body []byte) (int, string) {
		if r.URL.Path != "/v2/enqueue" {
			return 404, ""
		}
		if !strings.Contains(string(body), key) {
			return 400, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}`
		}
		return 202, `{"status":"success","message":"Event processed","dedup_key":"upkeep-42"}`
	})
	c := channel(t, `{pagerduty: {routing_key: "${K}", api_url: "`+rc.URL+`"}}`, map[string]string{"K": key})
	s := sender(t, c)
	var actions []string
	for _, kind := range []string{EventDown, EventAcknowledged, EventRecovered, EventMaintenanceStarted, EventResolved} {
		before := rc.count()
		if err := s.Send(context.Background(), testEvent(kind)); err != nil {
			t.Fatal(err)
		}
		if rc.count() == before {
			actions = append(actions, "-")
			continue
		}
		v := decode(t, rc.last(t).body)
		if v["routing_key"] != key || v["dedup_key"] != "upkeep-42" {
			t.Errorf("%s: %s", kind, rc.last(t).body)
		}
		actions = append(actions, v["event_action"].(string))
		if kind == EventDown {
			if at(v, "payload", "summary") != "[Upkeep] Public API is down" || at(v, "payload", "source") != "api-health" ||
				at(v, "payload", "severity") != "error" || at(v, "payload", "timestamp") != "2026-03-04T05:09:00Z" ||
				at(v, "payload", "component") != "api" || at(v, "links", 0, "href") != "https://upkeep.example.com/incidents/42" {
				t.Errorf("trigger %s", rc.last(t).body)
			}
		}
	}
	// A monitor's recovery does not resolve while the incident is open; maintenance is not sent.
	if got := strings.Join(actions, ","); got != "trigger,acknowledge,-,-,resolve" {
		t.Errorf("actions %s", got)
	}
	c.PagerDuty.RoutingKey = "ffffffffffffffffffffffffffffffff"
	if err := sender(t, c).Send(context.Background(), testEvent(EventDown)); !errors.Is(err, ErrPermanent) {
		t.Errorf("invalid event: %v", err)
	}
}

func TestOpsgenieLifecycle(t *testing.T) {
	rc := newReceiver(t, func(r *http.Request, body []byte) (int, string) {
		if r.Header.Get("Authorization") != "GenieKey og-key-123" {
			return 401, `{"message":"Could not authenticate"}`
		}
		return 202, `{"result":"Request will be processed","took":0.1,"requestId":"x"}`
	})
	c := channel(t, `{opsgenie: {api_key: "${K}", api_url: "`+rc.URL+`"}}`, map[string]string{"K": "og-key-123"})
	s := sender(t, c)
	var calls []string
	for _, kind := range []string{EventDown, EventUpdate, EventAcknowledged, EventMaintenanceEnded, EventResolved} {
		before := rc.count()
		if err := s.Send(context.Background(), testEvent(kind)); err != nil {
			t.Fatal(err)
		}
		if rc.count() == before {
			calls = append(calls, "-")
			continue
		}
		r := rc.last(t)
		calls = append(calls, r.path+"?"+r.query)
		if kind == EventDown {
			v := decode(t, r.body)
			if v["alias"] != "upkeep-42" || v["message"] != "[Upkeep] Public API is down" || v["priority"] != "P2" || v["entity"] != "api-health" ||
				at(v, "details", "acknowledge") != "https://upkeep.example.com/ack/42?sig=abc&exp=1" {
				t.Errorf("create %s", r.body)
			}
		}
	}
	want := "/v2/alerts?,/v2/alerts/upkeep-42/notes?identifierType=alias,/v2/alerts/upkeep-42/acknowledge?identifierType=alias,-,/v2/alerts/upkeep-42/close?identifierType=alias"
	if got := strings.Join(calls, ","); got != want {
		t.Errorf("calls\n%s\nwant\n%s", got, want)
	}
}

func TestTemplatesOfTheChannel(t *testing.T) {
	rc := newReceiver(t, nil)
	c := channel(t, `{webhook: {url: "`+rc.URL+`"}, templates: {down: {subject: "{{upper .Incident.Title}}", text: "{{.Cause}} since {{time .Incident.StartedAt}} {{.Incident.AckURL}}"}}}`, nil)
	if err := sender(t, c).Send(context.Background(), testEvent(EventDown)); err != nil {
		t.Fatal(err)
	}
	v := decode(t, rc.last(t).body)
	if v["subject"] != "PUBLIC API IS DOWN" || v["text"] != "HTTP 503 Service Unavailable since 2026-03-04 05:06 UTC https://upkeep.example.com/ack/42?sig=abc&exp=1" {
		t.Errorf("subject %q text %q", v["subject"], v["text"])
	}
	// A template naming a field that does not exist fails in New, not at the first outage.
	c = channel(t, `{webhook: {url: "`+rc.URL+`"}, templates: {resolved: {text: "{{.Incident.Titel}}"}}}`, nil)
	if _, err := New("c", c, Options{}); err == nil || !strings.Contains(err.Error(), `channel "c": template resolved.text`) {
		t.Errorf("New: %v", err)
	}
}

// TestDefaultMessages checks that every default message of every kind renders, links to the
// incident, and offers the acknowledge link exactly when acknowledging makes sense.
func TestDefaultMessages(t *testing.T) {
	if strings.Join(EventKinds, ",") != strings.Join(policy.EventKinds, ",") {
		t.Fatalf("event kinds %v differ from the policy's %v", EventKinds, policy.EventKinds)
	}
	b := &base{}
	for _, kind := range EventKinds {
		ev := testEvent(kind)
		m, err := b.render(ev)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if m.Subject == "" || strings.Contains(m.Subject, "\n") || strings.Contains(m.Text, "<no value>") {
			t.Errorf("%s: subject %q text %q", kind, m.Subject, m.Text)
		}
		if !strings.Contains(m.Text, ev.Incident.URL) {
			t.Errorf("%s: no link to the incident:\n%s", kind, m.Text)
		}
		if strings.Contains(m.Text, ev.Incident.AckURL) != (ackURL(ev) != "") {
			t.Errorf("%s: acknowledge link shown = %v:\n%s", kind, !(ackURL(ev) != ""), m.Text)
		}
		// Without an acknowledge URL, none is offered.
		ev.Incident.AckURL = ""
		if m, _ := b.render(ev); strings.Contains(m.Text, "Acknowledge") {
			t.Errorf("%s: offers to acknowledge without a URL:\n%s", kind, m.Text)
		}
	}
	ev := testEvent(EventDown)
	ev.Step = 1
	if m, _ := b.render(ev); m.Subject != "[Upkeep] Public API is down (escalated to step 2)" {
		t.Errorf("escalated subject %q", m.Subject)
	}
	ev = testEvent(EventResolved)
	ev.Incident.ResolvedAt = ev.Incident.StartedAt.Add(42 * time.Minute)
	if m, _ := b.render(ev); !strings.HasPrefix(m.Text, "Resolved after 42m: Public API is down.") {
		t.Errorf("resolved text %q", m.Text)
	}
	if _, err := b.render(Event{Kind: "exploded"}); !errors.Is(err, ErrPermanent) {
		t.Errorf("unknown kind: %v", err)
	}
}
