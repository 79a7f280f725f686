package notify

// Chat providers: Slack, Microsoft Teams, Discord and Telegram. Each takes the rendered subject
// and text and wraps them in the payload its provider documents, with the incident and
// acknowledge links as buttons where the provider has them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// postJSON sends v as JSON to target.
func (b *base) postJSON(ctx context.Context, target string, v any, header http.Header) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, permanent(fmt.Errorf("request to %s: invalid URL", safeURL(target)))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	return b.do(req)
}

// color is the event's color as RGB: red for down, amber for degraded and reminders, green
// for good news, blue for the rest.
func color(kind string) int {
	switch kind {
	case EventDown:
		return 0xD93F0B
	case EventDegraded, EventReminder:
		return 0xE3B341
	case EventRecovered, EventResolved, EventMaintenanceEnded:
		return 0x2DA44E
	}
	return 0x1F6FEB
}

// slackSender posts to a Slack incoming webhook: Block Kit blocks with "text" as the
// notification fallback (https://api.slack.com/messaging/webhooks).
type slackSender struct {
	*base
	url string
}

func (s *slackSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	escape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(m.Subject, 150), "emoji": true}},
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(escape(m.Text), 3000)}},
	}
	var buttons []map[string]any
	if u := ackURL(ev); u != "" {
		buttons = append(buttons, map[string]any{"type": "button", "style": "primary", "action_id": "acknowledge",
			"text": map[string]any{"type": "plain_text", "text": "Acknowledge"}, "url": u})
	}
	if u := ev.Incident.URL; u != "" {
		buttons = append(buttons, map[string]any{"type": "button", "action_id": "open",
			"text": map[string]any{"type": "plain_text", "text": "Open incident"}, "url": u})
	}
	if len(buttons) > 0 {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": buttons})
	}
	_, err = s.postJSON(ctx, s.url, map[string]any{"text": m.Subject, "blocks": blocks}, nil)
	return err
}

// teamsSender posts to a Teams workflow ("When a Teams webhook request is received") as an
// Adaptive Card message, or to a legacy incoming webhook as a MessageCard.
type teamsSender struct {
	*base
	url    string
	format string
}

func (s *teamsSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	type link struct{ title, url string }
	var links []link
	if u := ackURL(ev); u != "" {
		links = append(links, link{"Acknowledge", u})
	}
	if u := ev.Incident.URL; u != "" {
		links = append(links, link{"Open incident", u})
	}
	var payload map[string]any
	if s.format == "messagecard" {
		actions := []map[string]any{}
		for _, l := range links {
			actions = append(actions, map[string]any{"@type": "OpenUri", "name": l.title,
				"targets": []map[string]any{{"os": "default", "uri": l.url}}})
		}
		payload = map[string]any{"@type": "MessageCard", "@context": "https://schema.org/extensions",
			"summary": m.Subject, "title": m.Subject, "themeColor": fmt.Sprintf("%06X", color(ev.Kind)),
			"text": strings.ReplaceAll(m.Text, "\n", "\n\n"), "potentialAction": actions}
	} else {
		actions := []map[string]any{}
		for _, l := range links {
			actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": l.title, "url": l.url})
		}
		style := "default"
		switch ev.Kind {
		case EventDown:
			style = "attention"
		case EventDegraded, EventReminder:
			style = "warning"
		case EventRecovered, EventResolved:
			style = "good"
		}
		card := map[string]any{
			"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
			"msteams": map[string]any{"width": "Full"},
			"body": []map[string]any{
				{"type": "TextBlock", "text": m.Subject, "weight": "Bolder", "size": "Medium", "wrap": true, "color": style},
				{"type": "TextBlock", "text": strings.ReplaceAll(m.Text, "\n", "\n\n"), "wrap": true},
			},
			"actions": actions,
		}
		payload = map[string]any{"type": "message", "attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
	}
	_, err = s.postJSON(ctx, s.url, payload, nil)
	return err
}

// discordSender posts to a Discord webhook: one embed, no mentions
// (https://discord.com/developers/docs/resources/webhook#execute-webhook).
type discordSender struct {
	*base
	url string
}

func (s *discordSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	desc := m.Text
	if u := ackURL(ev); u != "" {
		// Links in the text are kept; make the acknowledge link stand out.
		desc = strings.Replace(desc, "Acknowledge: "+u, "[Acknowledge]("+u+")", 1)
	}
	embed := map[string]any{"title": truncate(m.Subject, 256), "description": truncate(desc, 4096),
		"color": color(ev.Kind), "timestamp": ev.At.UTC().Format(time.RFC3339)}
	if u := ev.Incident.URL; u != "" {
		embed["url"] = u
	}
	payload := map[string]any{"username": "Upkeep", "embeds": []any{embed},
		"allowed_mentions": map[string]any{"parse": []string{}}}
	_, err = s.postJSON(ctx, s.url, payload, nil)
	return err
}

// telegramSender sends through the Bot API's sendMessage method, as HTML.
type telegramSender struct {
	*base
	c *policy.TelegramChannel
}

func (s *telegramSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(m.Subject) + "</b>\n\n")
	text := html.EscapeString(m.Text)
	for _, l := range []struct{ label, url string }{{"Acknowledge", ackURL(ev)}, {"Incident", ev.Incident.URL}} {
		if l.url == "" {
			continue
		}
		e := html.EscapeString(l.url)
		text = strings.Replace(text, l.label+": "+e, `<a href="`+e+`">`+l.label+`</a>`, 1)
	}
	b.WriteString(text)
	payload := map[string]any{"chat_id": s.c.ChatID, "text": truncate(b.String(), 4096), "parse_mode": "HTML",
		"link_preview_options": map[string]any{"is_disabled": true}}
	// The token is part of the path; errors show only the host (see do).
	body, err := s.postJSON(ctx, s.c.APIURL+"/bot"+s.c.BotToken.Reveal()+"/sendMessage", payload, nil)
	if err != nil {
		return telegramError(err)
	}
	var answer struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	if json.Unmarshal(body, &answer) == nil && !answer.OK {
		return permanent(fmt.Errorf("telegram: %s", answer.Description))
	}
	return nil
}

// telegramError takes the wait of a 429 answer from the Bot API's parameters.retry_after.
func telegramError(err error) error {
	var st *StatusError
	if errors.As(err, &st) && st.RetryAfter == 0 {
		var answer struct {
			Parameters struct {
				RetryAfter int `json:"retry_after"`
			} `json:"parameters"`
		}
		if json.Unmarshal([]byte(st.Body), &answer) == nil {
			st.RetryAfter = time.Duration(answer.Parameters.RetryAfter) * time.Second
		}
	}
	return err
}
