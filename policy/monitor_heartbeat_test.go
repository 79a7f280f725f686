package policy

import (
	"strings"
	"testing"
	"time"
)

func TestHeartbeatValid(t *testing.T) {
	doc := `
server: {ping_key: "${PING_KEY}"}
monitors:
  - {name: nightly-export, heartbeat: {cron: "0 6 * * *", tz: Europe/Berlin, grace: 2h}}
  - {name: hourly, heartbeat: {period: 1h, uuid: 5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278, slug: hourly-job}}
  - {name: weekly, heartbeat: {cron: "@weekly"}}
`
	p, err := Parse("t.yaml", []byte(doc), env(map[string]string{"PING_KEY": "k3y"}))
	if err != nil {
		t.Fatal(err)
	}
	hb := p.Monitors[0].Heartbeat
	if hb.Cron != "0 6 * * *" || hb.TZ != "Europe/Berlin" || hb.Grace.Duration != 2*time.Hour || hb.Slug != "nightly-export" || hb.UUID != "" || hb.Period.Duration != 0 {
		t.Errorf("cron heartbeat = %+v", hb)
	}
	if got := hb.Schedule(); got != "cron 0 6 * * * Europe/Berlin, grace 2h" {
		t.Errorf("Schedule() = %q", got)
	}
	hb = p.Monitors[1].Heartbeat
	if hb.Period.Duration != time.Hour || hb.Grace.Duration != time.Hour || hb.TZ != "UTC" || hb.Slug != "hourly-job" ||
		hb.UUID != "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278" {
		t.Errorf("period heartbeat = %+v", hb)
	}
	if got := hb.Schedule(); got != "period 1h, grace 1h" {
		t.Errorf("Schedule() = %q", got)
	}
	if got := p.Monitors[2].Heartbeat.Schedule(); got != "cron @weekly, grace 1h" {
		t.Errorf("Schedule() = %q", got)
	}
	if !p.Monitors[0].Passive() || p.Monitors[0].Kind() != KindHeartbeat {
		t.Error("a heartbeat monitor is not passive")
	}
	if p.Server.PingKey.Reveal() != "k3y" {
		t.Error("ping key not read")
	}
}

func TestHeartbeatInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"neither", `monitors: [{name: a, heartbeat: {grace: 1h}}]`,
			[]string{`t.yaml:1:33: monitors[0].heartbeat: a heartbeat needs a period or a cron schedule`}},
		{"empty", "monitors:\n  - name: a\n    heartbeat: {}\n",
			[]string{`t.yaml:3:16: monitors[0].heartbeat: a heartbeat needs a period or a cron schedule`}},
		{"both", `monitors: [{name: a, heartbeat: {period: 1h, cron: "0 6 * * *"}}]`,
			[]string{`monitors[0].heartbeat.cron: a heartbeat has a period or a cron schedule, not both`}},
		{"period zero", `monitors: [{name: a, heartbeat: {period: 0s}}]`,
			[]string{`monitors[0].heartbeat.period: period "0s" is too short`}},
		{"grace zero", `monitors: [{name: a, heartbeat: {period: 1h, grace: 0s}}]`,
			[]string{`monitors[0].heartbeat.grace: grace "0s" is too short`}},
		{"bad cron", `monitors: [{name: a, heartbeat: {cron: "0 25 * * *"}}]`,
			[]string{`monitors[0].heartbeat.cron: invalid cron expression "0 25 * * *": hour: 25 is out of range (0 to 23)`}},
		{"never", `monitors: [{name: a, heartbeat: {cron: "0 0 31 2 *"}}]`,
			[]string{`invalid cron expression "0 0 31 2 *": the expression never matches a date`}},
		{"every", `monitors: [{name: a, heartbeat: {cron: "@every 1h"}}]`,
			[]string{`unknown shorthand "@every 1h"`}},
		{"bad tz", `monitors: [{name: a, heartbeat: {cron: "@daily", tz: Mars/Olympus}}]`,
			[]string{`monitors[0].heartbeat.tz: unknown time zone "Mars/Olympus"`}},
		{"local tz", `monitors: [{name: a, heartbeat: {cron: "@daily", tz: Local}}]`,
			[]string{`monitors[0].heartbeat.tz: unknown time zone "Local"`}},
		{"tz with period", `monitors: [{name: a, heartbeat: {period: 1d, tz: Europe/Berlin}}]`,
			[]string{`monitors[0].heartbeat.tz: tz applies to cron schedules only`}},
		{"bad uuid", `monitors: [{name: a, heartbeat: {period: 1d, uuid: not-a-uuid}}]`,
			[]string{`monitors[0].heartbeat.uuid: invalid UUID "not-a-uuid"`}},
		{"uuid with braces", `monitors: [{name: a, heartbeat: {period: 1d, uuid: "{5bf66975-d4c7-4bf5-bcc8-b8d8a82ea27}"}}]`,
			[]string{`invalid UUID`}},
		{"duplicate uuid", "monitors:\n  - {name: a, heartbeat: {period: 1d, uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278}}\n  - {name: b, heartbeat: {period: 1d, uuid: 5BF66975-d4c7-4bf5-bcc8-b8d8a82ea278}}\n",
			[]string{`t.yaml:3:45: monitors[1].heartbeat.uuid: duplicate heartbeat UUID "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278" (already used at line 2)`}},
		{"duplicate slug", "monitors:\n  - {name: a, heartbeat: {period: 1d, slug: job}}\n  - {name: b, heartbeat: {period: 1d, slug: job}}\n",
			[]string{`t.yaml:3:45: monitors[1].heartbeat.slug: duplicate heartbeat slug "job" (already used at line 2)`}},
		{"slug is another's name", "monitors:\n  - {name: a, heartbeat: {period: 1d, slug: b}}\n  - {name: b, heartbeat: {period: 1d}}\n",
			[]string{`monitors[1].name: duplicate heartbeat slug "b" (already used at line 2; the slug defaults to the monitor's name: give this heartbeat a slug of its own)`}},
		{"bad slug", `monitors: [{name: a, heartbeat: {period: 1d, slug: "a/b"}}]`,
			[]string{`monitors[0].heartbeat.slug: invalid slug "a/b"`}},
		{"every and timeout", `monitors: [{name: a, every: 10s, timeout: 5s, heartbeat: {period: 1d}}]`,
			[]string{`monitors[0].every: every does not apply to a heartbeat monitor`, `monitors[0].timeout: timeout does not apply to a heartbeat monitor`}},
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

func TestCanonicalUUID(t *testing.T) {
	for in, want := range map[string]string{
		"5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278": "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278",
		"5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278": "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278",
		"5bf66975d4c74bf5bcc8b8d8a82ea278":     "",
		"5bf66975-d4c7-4bf5-bcc8-b8d8a82ea27g": "",
		"5bf66975-d4c7-4bf5-bcc8_b8d8a82ea278": "",
		"":                                     "",
	} {
		got, ok := CanonicalUUID(in)
		if got != want || ok != (want != "") {
			t.Errorf("CanonicalUUID(%q) = %q, %v", in, got, ok)
		}
	}
}

func TestLoadLocation(t *testing.T) {
	for name, ok := range map[string]bool{"": true, "UTC": true, "Europe/Berlin": true, "Local": false, "Nowhere/Else": false} {
		loc, err := LoadLocation(name)
		if (err == nil) != ok || ok && loc == nil {
			t.Errorf("LoadLocation(%q) = %v, %v", name, loc, err)
		}
	}
}
