package policy

// Channels: the ways Upkeep reaches people. A channel has exactly one kind (email, webhook,
// sms, slack, ...), whose settings check themselves like the monitors' check kinds do, and
// optional message templates per event. Package notify sends through them.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/invopop/jsonschema"
)

// Channel is a way to reach people: one kind of channel with its settings, and optional
// templates that replace the default messages.
type Channel struct {
	Email     *EmailChannel     `yaml:"email" jsonschema:"description=E-mail through an SMTP server (plain text and HTML)."`
	Webhook   *WebhookChannel   `yaml:"webhook" jsonschema:"description=An HTTP request with a JSON body (documented in docs/notifications.md)\\, optionally signed with HMAC-SHA256."`
	SMS       *SMSChannel       `yaml:"sms" jsonschema:"description=Text messages through Twilio or any HTTP SMS provider."`
	Slack     *SlackChannel     `yaml:"slack" jsonschema:"description=A Slack incoming webhook."`
	Teams     *TeamsChannel     `yaml:"teams" jsonschema:"description=A Microsoft Teams workflow (or incoming webhook) URL."`
	Discord   *DiscordChannel   `yaml:"discord" jsonschema:"description=A Discord webhook."`
	Telegram  *TelegramChannel  `yaml:"telegram" jsonschema:"description=A Telegram bot writing to a chat."`
	Ntfy      *NtfyChannel      `yaml:"ntfy" jsonschema:"description=Push notifications through an ntfy server (ntfy.sh or your own)."`
	PagerDuty *PagerDutyChannel `yaml:"pagerduty" jsonschema:"description=PagerDuty Events API v2: Upkeep's incident triggers\\, acknowledges and resolves a PagerDuty alert."`
	Opsgenie  *OpsgenieChannel  `yaml:"opsgenie" jsonschema:"description=Opsgenie Alert API: Upkeep's incident creates\\, acknowledges and closes an Opsgenie alert."`

	Templates ChannelTemplates `yaml:"templates" jsonschema:"description=Messages that replace the defaults\\, per event. Go text/template over the event (docs/notifications.md)."`

	Rate  float64 `yaml:"rate" jsonschema:"description=Most notifications sent through this channel per second\\, on average. Default 10. Raise it for your own receivers (an SMTP relay or webhook of yours) so a mass outage pages everyone within a second; keep it at the provider's limit for chat services (Slack and Discord webhooks allow about 1 a second)."`
	Burst int     `yaml:"burst" jsonschema:"description=How many notifications may go out at once before rate applies. Default 50."`
}

// Channel kinds, as Kind returns them.
const (
	ChannelEmail     = "email"
	ChannelWebhook   = "webhook"
	ChannelSMS       = "sms"
	ChannelSlack     = "slack"
	ChannelTeams     = "teams"
	ChannelDiscord   = "discord"
	ChannelTelegram  = "telegram"
	ChannelNtfy      = "ntfy"
	ChannelPagerDuty = "pagerduty"
	ChannelOpsgenie  = "opsgenie"
)

var allChannelKinds = []string{ChannelEmail, ChannelWebhook, ChannelSMS, ChannelSlack, ChannelTeams, ChannelDiscord,
	ChannelTelegram, ChannelNtfy, ChannelPagerDuty, ChannelOpsgenie}

type channelKind struct {
	name     string
	settings interface{ check(d *decoder, path string) }
}

func (c *Channel) kinds() []channelKind {
	var out []channelKind
	add := func(name string, isNil bool, s interface{ check(*decoder, string) }) {
		if !isNil {
			out = append(out, channelKind{name, s})
		}
	}
	add(ChannelEmail, c.Email == nil, c.Email)
	add(ChannelWebhook, c.Webhook == nil, c.Webhook)
	add(ChannelSMS, c.SMS == nil, c.SMS)
	add(ChannelSlack, c.Slack == nil, c.Slack)
	add(ChannelTeams, c.Teams == nil, c.Teams)
	add(ChannelDiscord, c.Discord == nil, c.Discord)
	add(ChannelTelegram, c.Telegram == nil, c.Telegram)
	add(ChannelNtfy, c.Ntfy == nil, c.Ntfy)
	add(ChannelPagerDuty, c.PagerDuty == nil, c.PagerDuty)
	add(ChannelOpsgenie, c.Opsgenie == nil, c.Opsgenie)
	return out
}

// Kind names the channel's kind ("email", "slack", ...).
func (c *Channel) Kind() string {
	if k := c.kinds(); len(k) > 0 {
		return k[0].name
	}
	return ""
}

func (d *decoder) checkChannels(channels map[string]Channel) {
	names := make([]string, 0, len(channels))
	for name := range channels {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := channels[name]
		path := joinPath("channels", name)
		kinds := c.kinds()
		names := make([]string, len(kinds))
		for j, k := range kinds {
			names[j] = k.name
		}
		d.exactlyOne(path, names, d.keyPos("channel", path), !d.hasProblemUnder(path), oneOf{what: "channel", kind: "kind",
			all: allChannelKinds, split: "split it into one channel per kind"})
		for _, k := range kinds {
			k.settings.check(d, path+"."+k.name)
		}
		if c.Rate < 0 || c.Rate > 10000 {
			d.add(d.posAt(path+".rate"), path+".rate", fmt.Sprintf("rate %g is out of range", c.Rate), "notifications per second, more than 0 and at most 10000; leave it out for the default of 10")
		}
		if c.Burst < 0 || c.Burst > 100000 {
			d.add(d.posAt(path+".burst"), path+".burst", fmt.Sprintf("burst %d is out of range", c.Burst), "at least 1 and at most 100000; leave it out for the default of 50")
		}
	}
}

// EmailChannel sends e-mail through an SMTP server.
type EmailChannel struct {
	SMTP SMTPServer `yaml:"smtp" jsonschema:"required,description=The SMTP server that sends the mail."`
	To   []string   `yaml:"to" jsonschema:"required,description=Recipients' addresses\\, e.g. [ops@example.com\\, \"On call <oncall@example.com>\"]."`
	CC   []string   `yaml:"cc" jsonschema:"description=Addresses that receive a copy."`
}

// SMTPServer is how e-mail is sent.
type SMTPServer struct {
	Host     string `yaml:"host" jsonschema:"required,description=Host name of the SMTP server\\, e.g. smtp.example.com."`
	Port     int    `yaml:"port" jsonschema:"minimum=1,maximum=65535,description=Port of the SMTP server. Default: 587\\, or 465 with tls: tls."`
	TLS      string `yaml:"tls" jsonschema:"enum=starttls,enum=tls,enum=none,default=starttls,description=starttls: upgrade the connection with STARTTLS (required\\, never skipped); tls: TLS from the first byte (port 465); none: no encryption\\, only for a server on this machine (localhost)."`
	Username string `yaml:"username" jsonschema:"description=User name for SMTP authentication (PLAIN or LOGIN\\, over TLS only). Default: no authentication."`
	Password Secret `yaml:"password" jsonschema:"description=Password for SMTP authentication. Use ${VAR}."`
	From     string `yaml:"from" jsonschema:"required,description=Sender address\\, e.g. \"Upkeep <upkeep@example.com>\"."`
}

func (c *EmailChannel) check(d *decoder, path string) {
	s := &c.SMTP
	smtp := path + ".smtp"
	if d.isSet(smtp+".host") && !isIP(s.Host) && !validDomain(s.Host) {
		d.add(d.posAt(smtp+".host"), smtp+".host", fmt.Sprintf("invalid host %s", d.show(smtp+".host", s.Host)), "a host name such as smtp.example.com")
	}
	if _, set := d.nodes[smtp+".port"]; !set {
		s.Port = 587
		if s.TLS == "tls" {
			s.Port = 465
		}
	} else if (s.Port < 1 || s.Port > 65535) && !d.hasProblem(smtp+".port") {
		d.add(d.posAt(smtp+".port"), smtp+".port", fmt.Sprintf("port %d is out of range", s.Port), "between 1 and 65535")
	}
	if s.TLS == "none" && !isLoopback(s.Host) && !d.hasProblem(smtp+".tls") && !d.hasProblem(smtp+".host") {
		d.add(d.posAt(smtp+".tls"), smtp+".tls", fmt.Sprintf("tls: none sends mail and passwords unencrypted; only allowed for a server on this machine, not %s", d.show(smtp+".host", s.Host)),
			"use starttls (port 587) or tls (port 465)")
	}
	switch {
	case s.Username != "" && s.Password == "":
		d.add(d.posAt(smtp+".username"), smtp+".username", "username needs password", `add password: "${SMTP_PASSWORD}"`)
	case s.Username == "" && s.Password != "" && !d.hasProblem(smtp+".password"):
		d.add(d.posAt(smtp+".password"), smtp+".password", "password needs username", "add the user name of the SMTP account")
	}
	d.checkMailAddress(smtp+".from", s.From)
	for i, a := range c.To {
		d.checkMailAddress(fmt.Sprintf("%s.to[%d]", path, i), a)
	}
	for i, a := range c.CC {
		d.checkMailAddress(fmt.Sprintf("%s.cc[%d]", path, i), a)
	}
	if d.isSet(path+".to") && len(c.To) == 0 {
		d.add(d.posAt(path+".to"), path+".to", "no recipients", "add at least one address")
	}
}

// hasProblemUnder reports whether a problem has been found at path or inside it.
func (d *decoder) hasProblemUnder(path string) bool {
	for _, p := range d.problems {
		if p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[") {
			return true
		}
	}
	return false
}

// keyPos returns where the value at path is written, or where its key is when it has no value
// (a channel written as "name:" alone).
func (d *decoder) keyPos(kind, path string) position {
	if n, ok := d.nodes[path]; ok {
		return n.pos
	}
	for _, def := range d.names[kind] {
		if def.path == path {
			return def.pos
		}
	}
	return position{1, 1}
}

func (d *decoder) checkMailAddress(path, addr string) {
	if !d.isSet(path) {
		return
	}
	if _, err := mail.ParseAddress(addr); err != nil {
		d.add(d.posAt(path), path, fmt.Sprintf("invalid e-mail address %s", d.show(path, addr)), `e.g. ops@example.com or "Ops <ops@example.com>"`)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WebhookChannel sends an HTTP request with a JSON body describing the event.
type WebhookChannel struct {
	URL     string            `yaml:"url" jsonschema:"required,description=The URL to send to: an absolute http or https URL."`
	Method  string            `yaml:"method" jsonschema:"enum=POST,enum=PUT,enum=PATCH,default=POST,description=The request method."`
	Headers map[string]Secret `yaml:"headers" jsonschema:"description=Extra request headers\\, e.g. {Authorization: \"Bearer ${HOOK_TOKEN}\"}. Their values are treated as secrets."`
	Secret  Secret            `yaml:"secret" jsonschema:"description=Shared secret for the signature: the X-Upkeep-Signature header carries sha256=HMAC-SHA256(secret\\, timestamp + \".\" + body) in hex. Use ${VAR}. Default: unsigned."`
}

func (c *WebhookChannel) check(d *decoder, path string) {
	d.checkSendURL(path+".url", c.URL, false)
	d.checkHeaders(path+".headers", c.Headers)
}

// checkSendURL reports a URL that Upkeep cannot send to. A secret URL (one with a token in it,
// as Slack's) is never quoted.
func (d *decoder) checkSendURL(path, s string, secret bool) {
	if !d.isSet(path) {
		return
	}
	const hint = "an absolute http or https URL"
	u, err := url.Parse(s)
	var what string
	switch {
	case s == "":
		what = "empty"
	case err != nil:
		what = "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		what = "the scheme must be http or https"
	case u.Host == "" || u.Opaque != "":
		what = "no host"
	default:
		return
	}
	if secret {
		d.add(d.posAt(path), path, "invalid URL: "+what, hint)
		return
	}
	d.add(d.posAt(path), path, fmt.Sprintf("invalid URL %s: %s", d.show(path, s), what), hint)
}

func (d *decoder) checkHeaders(path string, headers map[string]Secret) {
	for name, value := range headers {
		hpath := joinPath(path, name)
		switch {
		case !isToken(name):
			d.add(d.posAt(hpath), hpath, fmt.Sprintf("invalid header name %s", quote(name)), "letters, digits and !#$%&'*+-.^_`|~ only")
		case strings.ContainsAny(value.Reveal(), "\r\n\x00"):
			d.add(d.posAt(hpath), hpath, fmt.Sprintf("the value of header %s has a line break", quote(name)), "a header value is one line")
		}
	}
}

// SMSChannel sends text messages through one provider.
type SMSChannel struct {
	Twilio *TwilioSMS `yaml:"twilio" jsonschema:"description=Send through Twilio's Messages API."`
	HTTP   *HTTPSMS   `yaml:"http" jsonschema:"description=Send through any SMS provider with an HTTP API: one request per recipient\\, built from a template."`
}

// TwilioSMS sends through Twilio's Messages API.
type TwilioSMS struct {
	AccountSID string   `yaml:"account_sid" jsonschema:"required,description=The Twilio account SID (AC...)."`
	AuthToken  Secret   `yaml:"auth_token" jsonschema:"required,description=The account's auth token (or an API key secret). Use ${VAR}."`
	From       string   `yaml:"from" jsonschema:"required,description=The sending number in E.164 form (+15017122661)\\, or a messaging service SID (MG...)."`
	To         []string `yaml:"to" jsonschema:"required,description=Recipients' numbers in E.164 form\\, e.g. [\"+4915112345678\"]."`
	APIURL     string   `yaml:"api_url" jsonschema:"default=https://api.twilio.com,description=Base URL of the Twilio API (for a proxy or a test server)."`
}

// HTTPSMS sends through any HTTP SMS provider.
type HTTPSMS struct {
	URL     string            `yaml:"url" jsonschema:"required,description=The provider's endpoint: an absolute http or https URL."`
	Method  string            `yaml:"method" jsonschema:"enum=POST,enum=PUT,enum=GET,default=POST,description=The request method."`
	Headers map[string]Secret `yaml:"headers" jsonschema:"description=Request headers (credentials\\, Content-Type). Their values are treated as secrets. Without a Content-Type\\, a body starting with { or [ is sent as application/json\\, any other as application/x-www-form-urlencoded."`
	Body    Template          `yaml:"body" jsonschema:"required,description=The request body: a Go text/template over .Text (the message)\\, .To (one recipient) and .Event; the functions json and urlquery escape values."`
	To      []string          `yaml:"to" jsonschema:"required,description=Recipients' numbers; one request is sent per number."`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (c *SMSChannel) check(d *decoder, path string) {
	switch {
	case c.Twilio == nil && c.HTTP == nil:
		if !d.hasProblemUnder(path) {
			d.add(d.posAt(path), path, "the SMS channel has no provider", "add twilio or http")
		}
	case c.Twilio != nil && c.HTTP != nil:
		d.add(d.posAt(path+".http"), path+".http", "an SMS channel has one provider, this one has twilio and http", "split it into two channels")
	}
	if t := c.Twilio; t != nil {
		p := path + ".twilio"
		if d.isSet(p+".account_sid") && !regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`).MatchString(t.AccountSID) {
			d.add(d.posAt(p+".account_sid"), p+".account_sid", fmt.Sprintf("invalid account SID %s", d.show(p+".account_sid", t.AccountSID)),
				`"AC" and 32 hexadecimal digits, from the Twilio console`)
		}
		if d.isSet(p+".from") && !e164.MatchString(t.From) && !regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`).MatchString(t.From) {
			d.add(d.posAt(p+".from"), p+".from", fmt.Sprintf("invalid sender %s", d.show(p+".from", t.From)),
				`a number in E.164 form ("+15017122661") or a messaging service SID ("MG...")`)
		}
		d.checkNumbers(p+".to", t.To, true)
		d.checkSendURL(p+".api_url", t.APIURL, false)
		t.APIURL = strings.TrimRight(t.APIURL, "/")
	}
	if h := c.HTTP; h != nil {
		p := path + ".http"
		d.checkSendURL(p+".url", h.URL, false)
		d.checkHeaders(p+".headers", h.Headers)
		d.checkNumbers(p+".to", h.To, false)
	}
}

func (d *decoder) checkNumbers(path string, numbers []string, strict bool) {
	if d.isSet(path) && len(numbers) == 0 {
		d.add(d.posAt(path), path, "no recipients", "add at least one number")
	}
	for i, n := range numbers {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case strings.TrimSpace(n) == "":
			d.add(d.posAt(p), p, "the number is empty", "")
		case strict && !e164.MatchString(n):
			d.add(d.posAt(p), p, fmt.Sprintf("invalid phone number %s", d.show(p, n)),
				`E.164 form: "+", country code and number, no spaces, e.g. "+4915112345678"`)
		}
	}
}

// SlackChannel posts to a Slack incoming webhook.
type SlackChannel struct {
	URL Secret `yaml:"url" jsonschema:"required,description=The incoming webhook URL (https://hooks.slack.com/services/...). It is a credential: use ${VAR}."`
}

func (c *SlackChannel) check(d *decoder, path string) {
	d.checkSendURL(path+".url", c.URL.Reveal(), true)
}

// TeamsChannel posts to a Microsoft Teams workflow or incoming webhook.
type TeamsChannel struct {
	URL    Secret `yaml:"url" jsonschema:"required,description=The workflow (Power Automate \"When a Teams webhook request is received\") or incoming webhook URL. It is a credential: use ${VAR}."`
	Format string `yaml:"format" jsonschema:"enum=adaptive,enum=messagecard,default=adaptive,description=adaptive: an Adaptive Card (what Teams workflows expect); messagecard: the legacy MessageCard of Office 365 connectors."`
}

func (c *TeamsChannel) check(d *decoder, path string) {
	d.checkSendURL(path+".url", c.URL.Reveal(), true)
}

// DiscordChannel posts to a Discord webhook.
type DiscordChannel struct {
	URL Secret `yaml:"url" jsonschema:"required,description=The webhook URL (https://discord.com/api/webhooks/...). It is a credential: use ${VAR}."`
}

func (c *DiscordChannel) check(d *decoder, path string) {
	d.checkSendURL(path+".url", c.URL.Reveal(), true)
}

// TelegramChannel sends through a Telegram bot.
type TelegramChannel struct {
	BotToken Secret `yaml:"bot_token" jsonschema:"required,description=The bot's token from @BotFather (123456:ABC...). Use ${VAR}."`
	ChatID   string `yaml:"chat_id" jsonschema:"required,description=The chat to write to: a numeric ID (-1001234567890 for a group or channel) or @channelname."`
	APIURL   string `yaml:"api_url" jsonschema:"default=https://api.telegram.org,description=Base URL of the Bot API (for a local Bot API server or a test server)."`
}

func (c *TelegramChannel) check(d *decoder, path string) {
	if d.isSet(path+".bot_token") && !regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`).MatchString(c.BotToken.Reveal()) {
		d.add(d.posAt(path+".bot_token"), path+".bot_token", "invalid bot token", `the token @BotFather gave, "<digits>:<letters and digits>"`)
	}
	if d.isSet(path+".chat_id") && !regexp.MustCompile(`^(-?[0-9]+|@[A-Za-z][A-Za-z0-9_]{3,})$`).MatchString(c.ChatID) {
		d.add(d.posAt(path+".chat_id"), path+".chat_id", fmt.Sprintf("invalid chat ID %s", d.show(path+".chat_id", c.ChatID)),
			"a number (negative for groups and channels) or @channelname")
	}
	d.checkSendURL(path+".api_url", c.APIURL, false)
	c.APIURL = strings.TrimRight(c.APIURL, "/")
}

// NtfyChannel publishes to an ntfy topic.
type NtfyChannel struct {
	Server string `yaml:"server" jsonschema:"default=https://ntfy.sh,description=The ntfy server."`
	Topic  string `yaml:"topic" jsonschema:"required,description=The topic to publish to. On the public ntfy.sh anyone who knows the topic can read it: pick a long random name or use a token."`
	Token  Secret `yaml:"token" jsonschema:"description=An access token (tk_...) for a protected topic. Use ${VAR}."`
}

func (c *NtfyChannel) check(d *decoder, path string) {
	d.checkSendURL(path+".server", c.Server, false)
	c.Server = strings.TrimRight(c.Server, "/")
	if d.isSet(path+".topic") && !regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`).MatchString(c.Topic) {
		d.add(d.posAt(path+".topic"), path+".topic", fmt.Sprintf("invalid topic %s", d.show(path+".topic", c.Topic)),
			`letters, digits, "-" and "_", at most 64 characters`)
	}
}

// PagerDutyChannel sends to the PagerDuty Events API v2.
type PagerDutyChannel struct {
	RoutingKey Secret `yaml:"routing_key" jsonschema:"required,description=The integration key of an Events API v2 integration (32 characters). Use ${VAR}."`
	APIURL     string `yaml:"api_url" jsonschema:"default=https://events.pagerduty.com,description=Base URL of the Events API (https://events.eu.pagerduty.com for the EU service region\\, or a test server)."`
}

func (c *PagerDutyChannel) check(d *decoder, path string) {
	if d.isSet(path+".routing_key") && !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(c.RoutingKey.Reveal()) {
		d.add(d.posAt(path+".routing_key"), path+".routing_key", "invalid routing key", "the 32-character integration key of an Events API v2 integration")
	}
	d.checkSendURL(path+".api_url", c.APIURL, false)
	c.APIURL = strings.TrimRight(c.APIURL, "/")
}

// OpsgenieChannel sends to the Opsgenie Alert API.
type OpsgenieChannel struct {
	APIKey Secret `yaml:"api_key" jsonschema:"required,description=The API key of an API integration. Use ${VAR}."`
	Region string `yaml:"region" jsonschema:"enum=us,enum=eu,default=us,description=The Opsgenie region of the account: us (api.opsgenie.com) or eu (api.eu.opsgenie.com)."`
	APIURL string `yaml:"api_url" jsonschema:"description=Base URL of the Alert API\\, for a proxy or a test server. Default: from region."`
}

func (c *OpsgenieChannel) check(d *decoder, path string) {
	if c.APIURL == "" {
		c.APIURL = "https://api.opsgenie.com"
		if c.Region == "eu" {
			c.APIURL = "https://api.eu.opsgenie.com"
		}
		return
	}
	d.checkSendURL(path+".api_url", c.APIURL, false)
	c.APIURL = strings.TrimRight(c.APIURL, "/")
}

// ChannelTemplates replace a channel's default messages, per event.
type ChannelTemplates struct {
	Down                 *MessageTemplate `yaml:"down" jsonschema:"description=A monitor is confirmed down and an incident opened (or the incident escalated to another step)."`
	Degraded             *MessageTemplate `yaml:"degraded" jsonschema:"description=A monitor is confirmed degraded (slow\\, outside its limits)."`
	Recovered            *MessageTemplate `yaml:"recovered" jsonschema:"description=A monitor is up again."`
	Reminder             *MessageTemplate `yaml:"reminder" jsonschema:"description=The incident is still open and unacknowledged (repeat_every)."`
	Acknowledged         *MessageTemplate `yaml:"acknowledged" jsonschema:"description=Someone acknowledged the incident."`
	Update               *MessageTemplate `yaml:"update" jsonschema:"description=The incident has a new update message or status."`
	Resolved             *MessageTemplate `yaml:"resolved" jsonschema:"description=The incident is resolved."`
	MaintenanceScheduled *MessageTemplate `yaml:"maintenance_scheduled" jsonschema:"description=A maintenance window will begin (notify_before its start)."`
	MaintenanceStarted   *MessageTemplate `yaml:"maintenance_started" jsonschema:"description=A maintenance window began."`
	MaintenanceEnded     *MessageTemplate `yaml:"maintenance_ended" jsonschema:"description=A maintenance window ended."`
}

// EventKinds are the kinds of events a channel is told about, in the order of ChannelTemplates.
var EventKinds = []string{"down", "degraded", "recovered", "reminder", "acknowledged", "update", "resolved",
	"maintenance_scheduled", "maintenance_started", "maintenance_ended"}

// For returns the template set for an event kind, or nil when the channel does not replace it.
func (t *ChannelTemplates) For(kind string) *MessageTemplate {
	switch kind {
	case "down":
		return t.Down
	case "degraded":
		return t.Degraded
	case "recovered":
		return t.Recovered
	case "reminder":
		return t.Reminder
	case "acknowledged":
		return t.Acknowledged
	case "update":
		return t.Update
	case "resolved":
		return t.Resolved
	case "maintenance_scheduled":
		return t.MaintenanceScheduled
	case "maintenance_started":
		return t.MaintenanceStarted
	case "maintenance_ended":
		return t.MaintenanceEnded
	}
	return nil
}

// MessageTemplate replaces the subject, the text, or both, of one event's message.
type MessageTemplate struct {
	Subject Template `yaml:"subject" jsonschema:"description=The subject (e-mail) or title (chat\\, push)\\, one line. Default: the built-in subject."`
	Text    Template `yaml:"text" jsonschema:"description=The message text (e-mail body\\, chat message\\, SMS). Default: the built-in text."`
}

// Template is a Go text/template, parsed when the policy is loaded so that a broken one is a
// problem in the policy, with its position, not a failed notification.
type Template struct {
	Source string
	tmpl   *template.Template
}

// TemplateFuncs are the functions templates may call besides text/template's built-ins.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		// json gives a value as JSON, so templates of JSON bodies escape it: {"text": {{json .Text}}}.
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		// time formats a time for people: "2026-01-02 15:04 UTC".
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
		// duration gives the time from a to b for people: "42m", "3h 5m", "2d 4h".
		"duration": humanDuration,
	}
}

// ParseTemplate parses a template as the policy loader does.
func ParseTemplate(name, source string) (Template, error) {
	t, err := template.New(name).Funcs(TemplateFuncs()).Option("missingkey=error").Parse(source)
	if err != nil {
		return Template{}, err
	}
	return Template{Source: source, tmpl: t}, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Template) UnmarshalText(text []byte) error {
	p, err := ParseTemplate("template", string(text))
	if err != nil {
		// "template: template:1: unexpected ..." -> "line 1: unexpected ..."
		msg := strings.TrimPrefix(err.Error(), "template: template:")
		if line, rest, ok := strings.Cut(msg, ": "); ok {
			msg = "line " + line + ": " + rest
		}
		return &valueError{what: "template", value: string(text), hint: msg + "; Go text/template syntax"}
	}
	*t = p
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (t Template) MarshalText() ([]byte, error) { return []byte(t.Source), nil }

// IsZero reports whether no template was written.
func (t Template) IsZero() bool { return t.tmpl == nil }

// Parsed returns the parsed template, or nil when none was written.
func (t Template) Parsed() *template.Template { return t.tmpl }

// JSONSchema describes a Template.
func (Template) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Description: "A Go text/template."}
}

func (Template) kindName() string { return "a template" }

func humanDuration(a, b time.Time) string {
	d := b.Sub(a).Round(time.Minute)
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}
