package notify

// Push and incident-management providers: ntfy, PagerDuty and Opsgenie. PagerDuty and
// Opsgenie keep an incident of their own; it follows Upkeep's through the incident ID, used as
// PagerDuty's dedup_key and Opsgenie's alias.

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// ntfySender publishes to an ntfy topic as JSON (https://docs.ntfy.sh/publish/#publish-as-json).
type ntfySender struct {
	*base
	c *policy.NtfyChannel
}

// ntfyPriority maps an event to ntfy's priorities: 5 (urgent) for down, 4 (high) for
// degraded and reminders, 3 (default) for updates and good news, 2 (low) for the rest.
func ntfyPriority(kind string) int {
	switch kind {
	case EventDown:
		return 5
	case EventDegraded, EventReminder:
		return 4
	case EventRecovered, EventResolved, EventUpdate:
		return 3
	}
	return 2
}

var ntfyTags = map[string][]string{
	EventDown: {"rotating_light"}, EventDegraded: {"warning"}, EventRecovered: {"white_check_mark"},
	EventReminder: {"bell"}, EventAcknowledged: {"eyes"}, EventUpdate: {"memo"}, EventResolved: {"white_check_mark"},
	EventMaintenanceScheduled: {"calendar"}, EventMaintenanceStarted: {"construction"}, EventMaintenanceEnded: {"checkered_flag"},
}

func (s *ntfySender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	payload := map[string]any{"topic": s.c.Topic, "title": m.Subject, "message": truncate(m.Text, 4000),
		"priority": ntfyPriority(ev.Kind), "tags": ntfyTags[ev.Kind]}
	if u := ev.Incident.URL; u != "" {
		payload["click"] = u
	}
	if u := ackURL(ev); u != "" {
		payload["actions"] = []map[string]any{{"action": "view", "label": "Acknowledge", "url": u, "clear": true}}
	}
	header := http.Header{}
	if t := s.c.Token.Reveal(); t != "" {
		header.Set("Authorization", "Bearer "+t)
	}
	_, err = s.postJSON(ctx, s.c.Server+"/", payload, header)
	return err
}

// pagerDutySender sends to the Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
type pagerDutySender struct {
	*base
	c *policy.PagerDutyChannel
}

// pagerDutyAction maps an event to an event_action, or "" when PagerDuty is not told: it has
// no notion of maintenance, and a recovered monitor resolves PagerDuty's incident only once
// Upkeep's is resolved (other monitors may still be down).
func pagerDutyAction(ev Event) string {
	switch ev.Kind {
	case EventDown, EventDegraded, EventReminder, EventUpdate:
		return "trigger"
	case EventAcknowledged:
		return "acknowledge"
	case EventResolved:
		return "resolve"
	case EventRecovered:
		if !ev.Incident.ResolvedAt.IsZero() {
			return "resolve"
		}
	}
	return ""
}

// severity maps the incident's impact (or, without one, the event) to PagerDuty's severities.
func severity(ev Event) string {
	switch ev.Incident.Impact {
	case "critical":
		return "critical"
	case "major":
		return "error"
	case "minor":
		return "warning"
	case "none":
		return "info"
	}
	if ev.Kind == EventDegraded {
		return "warning"
	}
	return "critical"
}

func (s *pagerDutySender) Send(ctx context.Context, ev Event) error {
	action := pagerDutyAction(ev)
	if action == "" {
		return nil
	}
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	payload := map[string]any{
		"routing_key":  s.c.RoutingKey.Reveal(),
		"event_action": action,
		"dedup_key":    incidentKey(ev),
	}
	if action == "trigger" {
		source := ev.Monitor
		if source == "" {
			source = "upkeep"
		}
		details := map[string]any{"event": ev.Kind, "status": ev.Incident.Status, "services": ev.Incident.Services,
			"monitors": ev.Incident.Monitors, "cause": ev.Cause, "state": ev.State, "message": ev.Incident.Message, "step": ev.Step}
		body := map[string]any{"summary": truncate(m.Subject, 1024), "source": source, "severity": severity(ev),
			"timestamp": ev.At.UTC().Format(time.RFC3339), "custom_details": details}
		if len(ev.Incident.Services) > 0 {
			body["component"] = ev.Incident.Services[0]
		}
		payload["payload"] = body
		payload["client"] = "Upkeep"
		if u := ev.Incident.URL; u != "" {
			payload["client_url"] = u
			payload["links"] = []map[string]string{{"href": u, "text": "Upkeep incident"}}
		}
	}
	_, err = s.postJSON(ctx, s.c.APIURL+"/v2/enqueue", payload, nil)
	return err
}

// incidentKey is the provider's key of ev's incident: the incident ID, else the event key.
func incidentKey(ev Event) string {
	if ev.Incident.ID != "" {
		return "upkeep-" + ev.Incident.ID
	}
	return ev.Key
}

// opsgenieSender uses the Alert API (https://docs.opsgenie.com/docs/alert-api): create,
// acknowledge, close and add note, always by alias.
type opsgenieSender struct {
	*base
	c *policy.OpsgenieChannel
}

func opsgeniePriority(ev Event) string {
	switch ev.Incident.Impact {
	case "critical":
		return "P1"
	case "major":
		return "P2"
	case "minor":
		return "P3"
	case "none":
		return "P5"
	}
	if ev.Kind == EventDegraded {
		return "P3"
	}
	return "P1"
}

func (s *opsgenieSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	alias := incidentKey(ev)
	byAlias := func(action string) string {
		return s.c.APIURL + "/v2/alerts/" + url.PathEscape(alias) + "/" + action + "?identifierType=alias"
	}
	var target string
	var payload map[string]any
	switch ev.Kind {
	case EventDown, EventDegraded, EventReminder:
		// A create with the alias of an open alert only raises its count: reminders are safe.
		target = s.c.APIURL + "/v2/alerts"
		payload = map[string]any{"message": truncate(m.Subject, 130), "alias": alias, "description": truncate(m.Text, 15000),
			"priority": opsgeniePriority(ev), "source": "Upkeep", "tags": append([]string{"upkeep", ev.Kind}, ev.Incident.Services...),
			"details": map[string]string{"incident": ev.Incident.URL, "acknowledge": ackURL(ev), "monitor": ev.Monitor, "cause": ev.Cause}}
		if ev.Monitor != "" {
			payload["entity"] = ev.Monitor
		}
	case EventAcknowledged:
		target, payload = byAlias("acknowledge"), map[string]any{"source": "Upkeep", "note": m.Text}
	case EventResolved:
		target, payload = byAlias("close"), map[string]any{"source": "Upkeep", "note": m.Text}
	case EventRecovered:
		if ev.Incident.ResolvedAt.IsZero() {
			target, payload = byAlias("notes"), map[string]any{"source": "Upkeep", "note": m.Text}
		} else {
			target, payload = byAlias("close"), map[string]any{"source": "Upkeep", "note": m.Text}
		}
	case EventUpdate:
		target, payload = byAlias("notes"), map[string]any{"source": "Upkeep", "note": truncate(m.Text, 25000)}
	default:
		return nil // maintenance is not an alert
	}
	header := http.Header{"Authorization": {"GenieKey " + s.c.APIKey.Reveal()}}
	_, err = s.postJSON(ctx, target, payload, header)
	return err
}
