package policy

import (
	"strings"
	"testing"
	"time"
)

func TestEscalationValid(t *testing.T) {
	doc := `
services:
  - {name: db}
  - {name: api, depends_on: [db], escalation: urgent}
monitors:
  - {name: api-health, service: api, http: {url: "http://localhost/healthz"}}
  - {name: db-ping, service: db, tcp: {address: "localhost:5432"}, incident_on: degraded}
  - {name: api-slow, service: api, http: {url: "http://localhost/"}, escalation: default}
  - {name: lonely, http: {url: "http://localhost/"}}
channels: {ops-mail: {ntfy: {topic: ops}}, oncall-sms: {ntfy: {topic: oncall}}}
escalations:
  - name: default
    steps:
      - {after: 0s, notify: [ops-mail]}
      - {after: 3m, notify: [oncall-sms, ops-mail]}
    repeat_every: 30m
  - name: urgent
    steps: [{notify: [oncall-sms]}]
`
	p, err := Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Escalations[0]; e.RepeatEvery.Duration != 30*time.Minute || e.Steps[1].After.Duration != 3*time.Minute {
		t.Errorf("default = %+v", e)
	}
	if p.Monitors[0].IncidentOn != "down" || p.Monitors[1].IncidentOn != "degraded" {
		t.Errorf("incident_on = %q, %q", p.Monitors[0].IncidentOn, p.Monitors[1].IncidentOn)
	}
	for _, tc := range []struct{ service, monitor, want string }{
		{"api", "api-health", "urgent"},    // the service's
		{"api", "api-slow", "default"},     // the monitor's own wins
		{"db", "db-ping", "default"},       // the default
		{"", "lonely", "default"},          // no service
		{"", "removed-monitor", "default"}, // not in the policy any more
	} {
		got := p.EscalationFor(tc.service, tc.monitor)
		if got == nil || got.Name != tc.want {
			t.Errorf("EscalationFor(%q, %q) = %v, want %s", tc.service, tc.monitor, got, tc.want)
		}
	}
	p2, err := Parse("t.yaml", []byte("escalations: [{name: other, steps: [{notify: [x]}]}]\nchannels: {x: {ntfy: {topic: x}}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := p2.EscalationFor("", "m"); e != nil {
		t.Errorf("without a default escalation got %+v", e)
	}
}

func TestEscalationInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown escalation of a service", "services: [{name: a, escalation: nope}]\n",
			[]string{`services[0].escalation: unknown escalation "nope"`}},
		{"unknown escalation of a monitor", "monitors: [{name: a, http: {url: 'http://x/'}, escalation: nope}]\n",
			[]string{`monitors[0].escalation: unknown escalation "nope"`}},
		{"bad incident_on", "monitors: [{name: a, http: {url: 'http://x/'}, incident_on: up}]\n",
			[]string{`monitors[0].incident_on`}},
		{"steps out of order", "channels: {x: {ntfy: {topic: x}}}\nescalations: [{name: e, steps: [{after: 5m, notify: [x]}, {after: 1m, notify: [x]}]}]\n",
			[]string{`escalations[0].steps[1].after: step after 1m comes before the previous step's 5m`}},
		{"empty step", "escalations: [{name: e, steps: [{after: 5m}]}]\n",
			[]string{`escalations[0].steps[0]: the step notifies no channel`}},
		{"fast reminders", "channels: {x: {ntfy: {topic: x}}}\nescalations: [{name: e, steps: [{notify: [x]}], repeat_every: 10s}]\n",
			[]string{`escalations[0].repeat_every: reminders every "10s" are too frequent`}},
		{"reminders without steps", "escalations: [{name: e, repeat_every: 10m}]\n",
			[]string{`escalations[0].repeat_every: reminders need a step`}},
		{"unknown channel", "escalations: [{name: e, steps: [{notify: [nope]}]}]\n",
			[]string{`escalations[0].steps[0].notify[0]: unknown channel "nope"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.doc), nil)
			if err == nil {
				t.Fatal("no problem found")
			}
			got := problemStrings(t, err)
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d:\n got %s\nwant it to contain %s", i, got[i], w)
				}
			}
		})
	}
}
