package notify

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upkeep-dev/upkeep/policy"
)

// message is an event rendered for people.
type message struct {
	Subject string // one line
	Text    string // plain text with the links written out
}

// The default messages. They use the incident's title as it is, since it already says what
// happened ("Public API is down", or a person's words for a manual incident); the subject only
// adds "[Upkeep]" and, for the events after the first page, what changed. Every one links to the incident and, when the incident can be
// acknowledged, to the one-click acknowledge URL; the links come last so that chat previews
// and SMS show the facts first.
const (
	linksText = `{{with .Incident.URL}}
Incident: {{.}}{{end}}{{with .Incident.AckURL}}
Acknowledge: {{.}}{{end}}`
	factsText = `{{with .Monitor}}
Monitor: {{.}}{{with $.State}} ({{.}}){{end}}{{end}}{{with .Cause}}
Cause: {{.}}{{end}}{{with .Incident.Services}}
Services: {{join . ", "}}{{end}}{{if not .Incident.StartedAt.IsZero}}
Since: {{time .Incident.StartedAt}}{{end}}{{with .Incident.Message}}

{{.}}{{end}}
`
)

var defaultTemplates = map[string][2]string{ // kind: subject, text
	EventDown: {`[Upkeep] {{.Incident.Title}}{{if .Step}} (escalated to step {{add .Step 1}}){{end}}`,
		`{{.Incident.Title}}.{{if .Step}} Nobody has acknowledged it yet: escalated to step {{add .Step 1}}.{{end}}
` + factsText + linksText},
	EventDegraded: {`[Upkeep] {{.Incident.Title}}`,
		`{{.Incident.Title}}.
` + factsText + linksText},
	EventRecovered: {`[Upkeep] Recovered: {{with .Monitor}}{{.}}{{else}}{{.Incident.Title}}{{end}}`,
		`{{with .Monitor}}Monitor {{.}} has recovered{{else}}Recovered{{end}}{{with .State}} ({{.}}){{end}}.{{if .Incident.ResolvedAt.IsZero}} The incident is still open: {{.Incident.Title}}.{{end}}
` + factsText + `{{with .Incident.URL}}
Incident: {{.}}{{end}}{{if .Incident.ResolvedAt.IsZero}}{{with .Incident.AckURL}}
Acknowledge: {{.}}{{end}}{{end}}`},
	EventReminder: {`[Upkeep] Unacknowledged: {{.Incident.Title}}`,
		`{{.Incident.Title}}: still {{with .Incident.Status}}{{.}}{{else}}open{{end}}, and nobody has acknowledged it.
` + factsText + linksText},
	EventAcknowledged: {`[Upkeep] Acknowledged: {{.Incident.Title}}`,
		`{{.Incident.Title}}: acknowledged. Escalation has stopped.
` + factsText + `{{with .Incident.URL}}
Incident: {{.}}{{end}}`},
	EventUpdate: {`[Upkeep] Update: {{.Incident.Title}}{{with .Incident.Status}} ({{.}}){{end}}`,
		`{{.Incident.Title}}: {{with .Incident.Status}}{{.}}{{else}}update{{end}}
` + factsText + linksText},
	EventResolved: {`[Upkeep] Resolved: {{.Incident.Title}}`,
		`Resolved{{if not .Incident.ResolvedAt.IsZero}}{{if not .Incident.StartedAt.IsZero}} after {{duration .Incident.StartedAt .Incident.ResolvedAt}}{{end}}{{end}}: {{.Incident.Title}}.
` + factsText + `{{with .Incident.URL}}
Incident: {{.}}{{end}}`},
	EventMaintenanceScheduled: {`[Upkeep] Maintenance planned: {{.Incident.Title}}`,
		`Planned maintenance {{.Incident.Title}} will start at {{time .Incident.StartedAt}}{{if not .Incident.ResolvedAt.IsZero}} and end at {{time .Incident.ResolvedAt}}{{end}}.{{with .Incident.Services}}
Services: {{join . ", "}}{{end}}{{with .Incident.Message}}

{{.}}{{end}}
{{with .Incident.URL}}
Details: {{.}}{{end}}`},
	EventMaintenanceStarted: {`[Upkeep] Maintenance started: {{.Incident.Title}}`,
		`Planned maintenance {{.Incident.Title}} has started{{if not .Incident.ResolvedAt.IsZero}}; it is planned to end at {{time .Incident.ResolvedAt}}{{end}}.{{with .Incident.Services}}
Services: {{join . ", "}}{{end}}{{with .Incident.Message}}

{{.}}{{end}}
{{with .Incident.URL}}
Details: {{.}}{{end}}`},
	EventMaintenanceEnded: {`[Upkeep] Maintenance ended: {{.Incident.Title}}`,
		`Planned maintenance {{.Incident.Title}} has ended.{{with .Incident.Services}}
Services: {{join . ", "}}{{end}}{{with .Incident.Message}}

{{.}}{{end}}
{{with .Incident.URL}}
Details: {{.}}{{end}}`},
}

// parsedDefaults holds the default templates, parsed once.
var parsedDefaults = func() map[string][2]policy.Template {
	out := make(map[string][2]policy.Template, len(defaultTemplates))
	for kind, t := range defaultTemplates {
		var pair [2]policy.Template
		for i, src := range t {
			tmpl, err := policy.ParseTemplate(kind, src)
			if err != nil {
				panic(err)
			}
			pair[i] = tmpl
		}
		out[kind] = pair
	}
	return out
}()

// render gives the subject and text of ev: the channel's templates where it has them, the
// defaults otherwise.
func (b *base) render(ev Event) (message, error) {
	def, ok := parsedDefaults[ev.Kind]
	if !ok {
		return message{}, permanent(fmt.Errorf("unknown event kind %q", ev.Kind))
	}
	subject, text := def[0], def[1]
	if t := b.templates.For(ev.Kind); t != nil {
		if !t.Subject.IsZero() {
			subject = t.Subject
		}
		if !t.Text.IsZero() {
			text = t.Text
		}
	}
	var m message
	var buf bytes.Buffer
	if err := subject.Parsed().Execute(&buf, ev); err != nil {
		return m, permanent(fmt.Errorf("template %s.subject: %w", ev.Kind, err))
	}
	m.Subject = strings.Join(strings.Fields(buf.String()), " ") // one line
	buf.Reset()
	if err := text.Parsed().Execute(&buf, ev); err != nil {
		return m, permanent(fmt.Errorf("template %s.text: %w", ev.Kind, err))
	}
	m.Text = strings.TrimSpace(buf.String())
	return m, nil
}

// hasTextTemplate reports whether the channel replaces the text of an event kind.
func (b *base) hasTextTemplate(kind string) bool {
	t := b.templates.For(kind)
	return t != nil && !t.Text.IsZero()
}

// sampleEvent is an event with every field set, to try templates on.
func sampleEvent(kind string) Event {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return Event{Kind: kind, Key: "sample", At: t, Monitor: "api-health", State: "down", Cause: "HTTP 503", Step: 1,
		Incident: Incident{ID: "1", Title: "Public API", Status: "investigating", Impact: "major", Services: []string{"api"},
			Monitors: []string{"api-health"}, StartedAt: t, ResolvedAt: t.Add(time.Hour), URL: "https://upkeep.example.com/incidents/1",
			AckURL: "https://upkeep.example.com/ack/x", Message: "Looking into it."}}
}

// tryTemplates runs the channel's templates on a sample event.
func (b *base) tryTemplates() error {
	for _, kind := range EventKinds {
		if _, err := b.render(sampleEvent(kind)); err != nil {
			return err
		}
	}
	return nil
}

// The HTML part of e-mail: the text with its links made clickable, and buttons for the
// incident and the acknowledgement.
var htmlTemplate = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.5; color: #1f2328;">
<h2 style="font-size: 18px; margin: 0 0 12px;">{{.Subject}}</h2>
<div style="white-space: pre-wrap;">{{.Body}}</div>
{{if or .URL .AckURL}}<p style="margin-top: 20px;">
{{- with .AckURL}}<a href="{{.}}" style="display: inline-block; padding: 8px 16px; margin-right: 8px; background: #1f6feb; color: #fff; text-decoration: none; border-radius: 6px;">Acknowledge</a>{{end}}
{{- with .URL}}<a href="{{.}}" style="display: inline-block; padding: 8px 16px; background: #f6f8fa; color: #1f2328; text-decoration: none; border: 1px solid #d0d7de; border-radius: 6px;">Open incident</a>{{end}}
</p>{{end}}
<p style="color: #656d76; font-size: 12px; margin-top: 24px;">Sent by Upkeep.</p>
</body></html>
`))

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// htmlBody renders m as the HTML part of an e-mail.
func htmlBody(m message, ev Event) (string, error) {
	var body strings.Builder
	last := 0
	for _, loc := range linkRE.FindAllStringIndex(m.Text, -1) {
		body.WriteString(template.HTMLEscapeString(m.Text[last:loc[0]]))
		link := m.Text[loc[0]:loc[1]]
		fmt.Fprintf(&body, `<a href="%s">%s</a>`, template.HTMLEscapeString(link), template.HTMLEscapeString(link))
		last = loc[1]
	}
	body.WriteString(template.HTMLEscapeString(m.Text[last:]))
	var out bytes.Buffer
	err := htmlTemplate.Execute(&out, map[string]any{
		"Subject": m.Subject,
		"Body":    template.HTML(body.String()),
		"URL":     ev.Incident.URL,
		"AckURL":  ackURL(ev),
	})
	return out.String(), err
}

// ackURL is the acknowledge link of ev when acknowledging makes sense.
func ackURL(ev Event) string {
	switch ev.Kind {
	case EventDown, EventDegraded, EventReminder, EventUpdate:
		return ev.Incident.AckURL
	case EventRecovered:
		if ev.Incident.ResolvedAt.IsZero() {
			return ev.Incident.AckURL // other monitors of the incident may still be down
		}
	}
	return ""
}

// truncate shortens s to at most n runes, ending it with "…" when it was cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
