package policy

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestChannelsValid(t *testing.T) {
	doc := `channels:
  ops-mail:
    email:
      smtp: {host: smtp.example.com, username: upkeep, password: "${SMTP_PASSWORD}", from: "Upkeep <upkeep@example.com>"}
      to: [ops@example.com, "On call <oncall@example.com>"]
      cc: [boss@example.com]
    templates:
      down: {subject: "DOWN {{.Incident.Title}}", text: "{{.Incident.Title}} is down: {{.Cause}}\n{{.Incident.URL}}"}
  implicit-tls: {email: {smtp: {host: smtp.example.com, tls: tls, from: a@example.com}, to: [b@example.com]}}
  local-mail: {email: {smtp: {host: localhost, port: 25, tls: none, from: a@example.com}, to: [b@example.com]}}
  hook: {webhook: {url: "https://hooks.example.com/upkeep", headers: {Authorization: "Bearer ${HOOK_TOKEN}"}, secret: "${HOOK_SECRET}"}}
  oncall-sms:
    sms: {twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: "${TWILIO_TOKEN}", from: "+15017122661", to: ["+4915112345678"]}}
  other-sms:
    sms:
      http:
        url: https://sms.example.com/send
        headers: {X-Api-Key: "${SMS_KEY}"}
        body: '{"to": {{json .To}}, "text": {{json .Text}}}'
        to: ["0151 1234"]
  slack: {slack: {url: "${SLACK_URL}"}}
  teams: {teams: {url: "${TEAMS_URL}"}}
  discord: {discord: {url: "${DISCORD_URL}"}}
  telegram: {telegram: {bot_token: "${TG_TOKEN}", chat_id: -1001234567890}}
  ntfy: {ntfy: {topic: upkeep-ops-7f3a}}
  pd: {pagerduty: {routing_key: "${PD_KEY}"}}
  og: {opsgenie: {api_key: "${OG_KEY}", region: eu}}
`
	p, err := Parse("p.yaml", []byte(doc), env(map[string]string{
		"SMTP_PASSWORD": "pw", "HOOK_TOKEN": "t", "HOOK_SECRET": "s3cret", "TWILIO_TOKEN": "tok", "SMS_KEY": "k",
		"SLACK_URL": "https://hooks.slack.com/services/T0/B0/x", "TEAMS_URL": "https://example.webhook.office.com/x",
		"DISCORD_URL": "https://discord.com/api/webhooks/1/x", "TG_TOKEN": "123456:ABC-def_1",
		"PD_KEY": "0123456789abcdef0123456789abcdef", "OG_KEY": "og",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Channels["ops-mail"]
	if c.Kind() != ChannelEmail {
		t.Errorf("kind = %q", c.Kind())
	}
	if s := c.Email.SMTP; s.Port != 587 || s.TLS != "starttls" || s.Password.Reveal() != "pw" || s.From != "Upkeep <upkeep@example.com>" {
		t.Errorf("smtp = %+v", s)
	}
	if len(c.Email.To) != 2 || c.Email.CC[0] != "boss@example.com" {
		t.Errorf("email = %+v", c.Email)
	}
	down := c.Templates.For("down")
	if down == nil || down.Subject.Source != "DOWN {{.Incident.Title}}" || down.Text.Parsed() == nil {
		t.Fatalf("down template = %+v", down)
	}
	var b bytes.Buffer
	if err := down.Subject.Parsed().Execute(&b, map[string]any{"Incident": map[string]any{"Title": "API"}}); err != nil || b.String() != "DOWN API" {
		t.Errorf("subject template gives %q, %v", b.String(), err)
	}
	if c.Templates.For("recovered") != nil || c.Templates.For("nonsense") != nil {
		t.Error("templates not written are nil")
	}
	if s := p.Channels["implicit-tls"].Email.SMTP; s.Port != 465 {
		t.Errorf("tls: tls defaults to port 465, got %d", s.Port)
	}
	if w := p.Channels["hook"].Webhook; w.Method != "POST" || w.Secret.Reveal() != "s3cret" || w.Headers["Authorization"].Reveal() != "Bearer t" {
		t.Errorf("webhook = %+v", w)
	}
	if tw := p.Channels["oncall-sms"].SMS.Twilio; tw.APIURL != "https://api.twilio.com" || tw.To[0] != "+4915112345678" {
		t.Errorf("twilio = %+v", tw)
	}
	if h := p.Channels["other-sms"].SMS.HTTP; h.Method != "POST" || h.Body.IsZero() {
		t.Errorf("http sms = %+v", h)
	}
	if tc := p.Channels["teams"].Teams; tc.Format != "adaptive" {
		t.Errorf("teams = %+v", tc)
	}
	if tg := p.Channels["telegram"].Telegram; tg.ChatID != "-1001234567890" || tg.APIURL != "https://api.telegram.org" {
		t.Errorf("telegram = %+v", tg)
	}
	if n := p.Channels["ntfy"].Ntfy; n.Server != "https://ntfy.sh" {
		t.Errorf("ntfy = %+v", n)
	}
	if pd := p.Channels["pd"].PagerDuty; pd.APIURL != "https://events.pagerduty.com" {
		t.Errorf("pagerduty = %+v", pd)
	}
	if og := p.Channels["og"].Opsgenie; og.APIURL != "https://api.eu.opsgenie.com" {
		t.Errorf("opsgenie = %+v", og)
	}
}

func TestChannelsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"no kind", "channels:\n  a: {}\n  b:\n",
			[]string{
				`p.yaml:2:6: channels.a: the channel has no kind (add one of: email, webhook, sms, slack, teams, discord, telegram, ntfy, pagerduty, opsgenie)`,
				`p.yaml:3:3: channels.b: the channel has no kind (add one of: email, webhook, sms, slack, teams, discord, telegram, ntfy, pagerduty, opsgenie)`,
			}},
		{"two kinds", "channels:\n  a:\n    ntfy: {topic: x}\n    slack: {url: 'https://hooks.slack.com/x'}\n",
			[]string{`p.yaml:3:11: channels.a.ntfy: a channel has exactly one kind, this one has slack and ntfy (split it into one channel per kind)`}},
		{"rate limits", "channels:\n  a: {ntfy: {topic: x}, rate: -1, burst: -2}\n", []string{
			`p.yaml:2:31: channels.a.rate: rate -1 is out of range (notifications per second, more than 0 and at most 10000; leave it out for the default of 10)`,
			`p.yaml:2:42: channels.a.burst: burst -2 is out of range (at least 1 and at most 100000; leave it out for the default of 50)`,
		}},
		{"unknown kind", "channels:\n  a: {emial: {}}\n",
			[]string{`p.yaml:2:7: channels.a.emial: unknown key "emial" (did you mean "email"?)`}},
		{"email", `channels:
  a:
    email:
      smtp: {host: "smtp example", port: 70000, tls: none, username: u, from: "not an address"}
      to: [ops@example.com, "x@"]
      cc: []
`, []string{
			`p.yaml:4:20: channels.a.email.smtp.host: invalid host "smtp example" (a host name such as smtp.example.com)`,
			`p.yaml:4:42: channels.a.email.smtp.port: port 70000 is out of range (between 1 and 65535)`,
			`p.yaml:4:70: channels.a.email.smtp.username: username needs password (add password: "${SMTP_PASSWORD}")`,
			`p.yaml:4:79: channels.a.email.smtp.from: invalid e-mail address "not an address" (e.g. ops@example.com or "Ops <ops@example.com>")`,
			`p.yaml:5:29: channels.a.email.to[1]: invalid e-mail address "x@" (e.g. ops@example.com or "Ops <ops@example.com>")`,
		}},
		{"email missing", "channels:\n  a: {email: {to: []}}\n", []string{
			`p.yaml:2:14: channels.a.email: missing required key "smtp"`,
			`p.yaml:2:19: channels.a.email.to: no recipients (add at least one address)`,
		}},
		{"plain text to another host", "channels:\n  a: {email: {smtp: {host: mail.example.com, tls: none, from: a@example.com}, to: [b@example.com]}}\n", []string{
			`p.yaml:2:51: channels.a.email.smtp.tls: tls: none sends mail and passwords unencrypted; only allowed for a server on this machine, not "mail.example.com" (use starttls (port 587) or tls (port 465))`,
		}},
		{"webhook", "channels:\n  a: {webhook: {url: ftp://x, method: GET, headers: {'bad header': x}}}\n", []string{
			`p.yaml:2:22: channels.a.webhook.url: invalid URL "ftp://x": the scheme must be http or https (an absolute http or https URL)`,
			`p.yaml:2:39: channels.a.webhook.method: invalid value "GET" (one of: POST, PUT, PATCH)`,
			`p.yaml:2:68: channels.a.webhook.headers["bad header"]: invalid header name "bad header" (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`,
		}},
		{"sms", `channels:
  a: {sms: {}}
  b: {sms: {twilio: {account_sid: AC1, auth_token: x, from: "0151", to: ["+49 151"]}}}
  c: {sms: {http: {url: "https://sms.example.com", body: "{{.Txt", to: []}}}
`, []string{
			`p.yaml:2:12: channels.a.sms: the SMS channel has no provider (add twilio or http)`,
			`p.yaml:3:35: channels.b.sms.twilio.account_sid: invalid account SID "AC1" ("AC" and 32 hexadecimal digits, from the Twilio console)`,
			`p.yaml:3:61: channels.b.sms.twilio.from: invalid sender "0151" (a number in E.164 form ("+15017122661") or a messaging service SID ("MG..."))`,
			`p.yaml:3:74: channels.b.sms.twilio.to[0]: invalid phone number "+49 151" (E.164 form: "+", country code and number, no spaces, e.g. "+4915112345678")`,
			`p.yaml:4:58: channels.c.sms.http.body: invalid template "{{.Txt" (line 1: unclosed action; Go text/template syntax)`,
			`p.yaml:4:72: channels.c.sms.http.to: no recipients (add at least one number)`,
		}},
		{"secret URLs are not quoted", "channels:\n  a: {slack: {url: 'hooks.slack.com/services/T0/B0/s3cret'}}\n  b: {discord: {url: '${D}'}}\n", []string{
			`p.yaml:2:20: channels.a.slack.url: invalid URL: the scheme must be http or https (an absolute http or https URL)`,
			`p.yaml:3:22: channels.b.discord.url: invalid URL: the scheme must be http or https (an absolute http or https URL)`,
		}},
		{"chat and push", `channels:
  a: {telegram: {bot_token: "s3cret", chat_id: "chat"}}
  b: {ntfy: {topic: "a/b", server: "ntfy.example.com"}}
  c: {pagerduty: {routing_key: "s3cret"}}
  d: {opsgenie: {api_key: k, region: de}}
  e: {teams: {url: "https://x.example.com", format: card}}
`, []string{
			`p.yaml:2:29: channels.a.telegram.bot_token: invalid bot token (the token @BotFather gave, "<digits>:<letters and digits>")`,
			`p.yaml:2:48: channels.a.telegram.chat_id: invalid chat ID "chat" (a number (negative for groups and channels) or @channelname)`,
			`p.yaml:3:21: channels.b.ntfy.topic: invalid topic "a/b" (letters, digits, "-" and "_", at most 64 characters)`,
			`p.yaml:3:36: channels.b.ntfy.server: invalid URL "ntfy.example.com": the scheme must be http or https (an absolute http or https URL)`,
			`p.yaml:4:32: channels.c.pagerduty.routing_key: invalid routing key (the 32-character integration key of an Events API v2 integration)`,
			`p.yaml:5:38: channels.d.opsgenie.region: invalid value "de" (one of: us, eu)`,
			`p.yaml:6:53: channels.e.teams.format: invalid value "card" (one of: adaptive, messagecard)`,
		}},
		{"templates", `channels:
  a:
    ntfy: {topic: t}
    templates:
      down: {subject: "{{.Incident.Title", text: "{{if .Cause}}x"}
      crashed: {text: x}
`, []string{
			`p.yaml:5:23: channels.a.templates.down.subject: invalid template "{{.Incident.Title" (line 1: unclosed action; Go text/template syntax)`,
			`p.yaml:5:50: channels.a.templates.down.text: invalid template "{{if .Cause}}x" (line 1: unexpected EOF; Go text/template syntax)`,
			`p.yaml:6:7: channels.a.templates.crashed: unknown key "crashed" (valid keys: down, degraded, recovered, reminder, acknowledged, update, resolved, maintenance_scheduled, maintenance_started, maintenance_ended)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.doc), env(map[string]string{"D": "discord.com/api/webhooks/1/s3cret"}))
			if err == nil {
				t.Fatal("no problems")
			}
			got := problemStrings(t, err)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("a problem shows a secret:\n%v", err)
			}
		})
	}
}

func TestEventKindsMatchTemplates(t *testing.T) {
	var ts ChannelTemplates
	info := readStruct(reflect.TypeOf(ts))
	if len(info.keys) != len(EventKinds) {
		t.Fatalf("keys %v, kinds %v", info.keys, EventKinds)
	}
	for i, k := range info.keys {
		if EventKinds[i] != k {
			t.Errorf("templates key %q, event kind %q", k, EventKinds[i])
		}
	}
}
