package policy

import (
	"strings"
	"testing"
	"time"
)

func TestMaintenanceValid(t *testing.T) {
	doc := `
services: [{name: db}, {name: api}]
monitors: [{name: api-health, service: api, http: {url: /}}]
channels: {ops: {ntfy: {topic: ops}}}
maintenance:
  - {name: upgrade, services: [db], start: "2026-12-01 02:00", end: "2026-12-01 04:00", tz: Europe/Berlin, notify: [ops]}
  - {name: rfc, monitors: [api-health], start: "2026-12-01T02:00:00Z", end: "2026-12-01T03:30:00+01:00", notify_before: 0s}
  - {name: weekly, title: Sunday patching, services: [api], cron: "0 3 * * 0", duration: 30m, tz: Europe/Berlin}
  - {name: short, services: [api], start: "2026-12-01 02:00", duration: 90m, tz: America/New_York}
`
	p, err := Parse("m.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	up := p.Maintenance[0]
	start, end := up.Times()
	if !start.Equal(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("upgrade times %s %s (wall clock in Europe/Berlin, CET = UTC+1)", start, end)
	}
	if up.Title != "upgrade" || up.NotifyBefore.Duration != 24*time.Hour || up.Recurring() {
		t.Errorf("upgrade defaults: %+v", up)
	}
	rfc := p.Maintenance[1]
	if s, e := rfc.Times(); e.Sub(s) != 30*time.Minute || rfc.NotifyBefore.Duration != 0 {
		t.Errorf("rfc: %s %s notify_before %s", s, e, rfc.NotifyBefore)
	}
	if s, e := p.MaintenanceWindow("short").Times(); !s.Equal(time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)) || e.Sub(s) != 90*time.Minute {
		t.Errorf("start and duration: %s to %s", s, e)
	}
	w := p.MaintenanceWindow("weekly")
	if w == nil || !w.Recurring() || w.Title != "Sunday patching" || w.Duration.Duration != 30*time.Minute {
		t.Fatalf("weekly = %+v", w)
	}
	if got := w.Describe(); got != "cron 0 3 * * 0 Europe/Berlin for 30m" {
		t.Errorf("describe = %q", got)
	}
	s, err := w.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	if next := s.Next(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)); !next.Equal(time.Date(2026, 7, 5, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("next = %s (03:00 CEST = 01:00 UTC)", next)
	}
}

func TestMaintenanceInvalid(t *testing.T) {
	for _, tc := range []struct{ name, window, want string }{
		{"covers nothing", `{name: w, cron: "@daily", duration: 1h}`, `m.yaml:4:5: maintenance[0]: the window covers nothing (add services: [name, ...] or monitors: [name, ...])`},
		{"no schedule", `{name: w, services: [db]}`, `m.yaml:4:5: maintenance[0]: the window has no schedule`},
		{"both", `{name: w, services: [db], start: "2026-12-01 02:00", end: "2026-12-01 03:00", cron: "@daily", duration: 1h}`,
			`maintenance[0].cron: a window is one-off (start and end) or recurring (cron and duration), not both`},
		{"end before start", `{name: w, services: [db], start: "2026-12-01 02:00", end: "2026-12-01 01:00"}`,
			`maintenance[0].end: the window ends ("2026-12-01 01:00") before it starts ("2026-12-01 02:00") (end must be after start)`},
		{"end equals start", `{name: w, services: [db], start: "2026-12-01T02:00:00Z", end: "2026-12-01 03:00", tz: Europe/Berlin}`,
			`maintenance[0].end: the window ends`},
		{"no end", `{name: w, services: [db], start: "2026-12-01 02:00"}`, `maintenance[0].end: a one-off window needs an end`},
		{"end and duration", `{name: w, services: [db], start: "2026-12-01 02:00", end: "2026-12-01 03:00", duration: 1h}`,
			`maintenance[0].duration: a one-off window has an end or a duration, not both`},
		{"start and bad duration", `{name: w, services: [db], start: "2026-12-01 02:00", duration: 0s}`, `maintenance[0].duration: duration "0s" is too short`},
		{"start and duration, bad start", `{name: w, services: [db], start: "noon", duration: 1h}`, `maintenance[0].start: invalid time "noon"`},
		{"no start", `{name: w, services: [db], end: "2026-12-01 02:00"}`, `maintenance[0].start: a one-off window needs a start`},
		{"bad time", `{name: w, services: [db], start: "tomorrow", end: "2026-12-01 02:00"}`, `maintenance[0].start: invalid time "tomorrow"`},
		{"no duration", `{name: w, services: [db], cron: "0 2 * * 0"}`, `maintenance[0].duration: a recurring window needs a duration (e.g. duration: 2h)`},
		{"zero duration", `{name: w, services: [db], cron: "0 2 * * 0", duration: 0s}`, `maintenance[0].duration: duration "0s" is too short`},
		{"no cron", `{name: w, services: [db], duration: 2h}`, `maintenance[0].cron: a recurring window needs a cron schedule`},
		{"bad cron", `{name: w, services: [db], cron: "0 25 * * *", duration: 2h}`, `maintenance[0].cron: invalid cron expression "0 25 * * *"`},
		{"bad tz", `{name: w, services: [db], cron: "@daily", duration: 2h, tz: Mars/Olympus}`, `maintenance[0].tz: unknown time zone "Mars/Olympus"`},
		{"unknown monitor", `{name: w, monitors: [nope], cron: "@daily", duration: 2h}`, `maintenance[0].monitors[0]: unknown monitor "nope"`},
		{"unknown channel", `{name: w, services: [db], cron: "@daily", duration: 2h, notify: [pager]}`, `maintenance[0].notify[0]: unknown channel "pager"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := "services: [{name: db}]\nmonitors: [{name: m, service: db, http: {url: /}}]\nmaintenance:\n  - " + tc.window + "\n"
			_, err := Parse("m.yaml", []byte(doc), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
