package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep/heartbeat/cron"
)

// Maintenance is a planned maintenance window: one-off (start, and end or duration) or recurring
// (cron, duration and tz). During a window the monitors it covers (its monitors, and every monitor of
// its services) are in maintenance: they open no incidents and their time is left out of
// availability. Package maintenance runs the windows.
type Maintenance struct {
	Name        string   `yaml:"name" policy:"name" jsonschema:"required,description=Name of the maintenance window; its ID in the API."`
	Title       string   `yaml:"title" jsonschema:"description=What the window is called on the status page and in notices. Default: the name."`
	Description string   `yaml:"description" jsonschema:"description=What is done and what users will notice\\, for the status page and the notices."`
	Services    []string `yaml:"services" policy:"ref=service" jsonschema:"description=Names of the services under maintenance: all their monitors are covered."`
	Monitors    []string `yaml:"monitors" policy:"ref=monitor" jsonschema:"description=Names of single monitors under maintenance."`
	Start       string   `yaml:"start" jsonschema:"description=Start of a one-off window: RFC 3339 (\"2026-12-01T02:00:00Z\") or a wall-clock time \"2026-12-01 02:00\" read in tz."`
	End         string   `yaml:"end" jsonschema:"description=End of a one-off window\\, in the same forms as start; after start."`
	Cron        string   `yaml:"cron" jsonschema:"description=Start of each occurrence of a recurring window\\, as a five-field cron expression in tz\\, e.g. \"0 2 * * 0\" (Sundays 02:00). Needs duration."`
	Duration    Duration `yaml:"duration" jsonschema:"description=Length of each occurrence of a recurring window\\, e.g. \"2h\"; or of a one-off window instead of end."`
	TZ          string   `yaml:"tz" jsonschema:"default=UTC,description=Time zone of cron and of start and end written without an offset (IANA name such as Europe/Berlin)."`
	Notify      []string `yaml:"notify" policy:"ref=channel" jsonschema:"description=Names of the channels that get the window's notices: scheduled (notify_before the start)\\, started and ended. Default: none."`
	// NotifyBefore has no default tag: a default would overwrite an explicit 0 (no advance
	// notice); check fills in 24h when the key is absent.
	NotifyBefore Duration `yaml:"notify_before" jsonschema:"description=How long before the start the scheduled notice goes out (at once if the window is created later than that). 0s sends none. Default: 24h."`
}

// DefaultNotifyBefore is notify_before when the policy does not say.
const DefaultNotifyBefore = 24 * time.Hour

// Recurring reports whether the window recurs (has a cron schedule).
func (m *Maintenance) Recurring() bool { return m.Cron != "" }

// Schedule returns the cron schedule of a recurring window in its time zone.
func (m *Maintenance) Schedule() (*cron.Schedule, error) {
	loc, err := LoadLocation(m.TZ)
	if err != nil {
		return nil, err
	}
	return cron.Parse(m.Cron, loc)
}

// Times returns the start and end of a one-off window as instants (zero for a recurring one).
// They were checked when the policy was loaded.
func (m *Maintenance) Times() (start, end time.Time) {
	if m.Recurring() {
		return time.Time{}, time.Time{}
	}
	loc, err := LoadLocation(m.TZ)
	if err != nil {
		return time.Time{}, time.Time{}
	}
	start, _ = ParseWindowTime(m.Start, loc)
	if m.End == "" {
		return start.UTC(), start.Add(m.Duration.Duration).UTC()
	}
	end, _ = ParseWindowTime(m.End, loc)
	return start.UTC(), end.UTC()
}

// Describe says when the window is, for lists: "cron 0 2 * * 0 Europe/Berlin for 2h".
func (m *Maintenance) Describe() string {
	if !m.Recurring() {
		return ""
	}
	tz := ""
	if m.TZ != "" && m.TZ != "UTC" {
		tz = " " + m.TZ
	}
	return fmt.Sprintf("cron %s%s for %s", strings.Join(strings.Fields(m.Cron), " "), tz, m.Duration)
}

// Wall-clock layouts accepted for start and end besides RFC 3339.
var wallLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// ParseWindowTime reads a window's start or end: RFC 3339, or a wall-clock time
// ("2026-12-01 02:00") in loc.
func ParseWindowTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range wallLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// checkMaintenance reports windows that cover nothing or have no schedule, or a schedule that
// cannot be read, and fills in titles, times and notify_before.
func (d *decoder) checkMaintenance(ws []Maintenance) {
	for i := range ws {
		w := &ws[i]
		path := fmt.Sprintf("maintenance[%d]", i)
		if w.Title == "" {
			w.Title = w.Name
		}
		if !d.isSet(path + ".notify_before") {
			w.NotifyBefore = Duration{DefaultNotifyBefore}
		}
		if len(w.Services) == 0 && len(w.Monitors) == 0 && !d.hasProblemUnder(path+".services") && !d.hasProblemUnder(path+".monitors") {
			d.add(d.posAt(path), path, "the window covers nothing", "add services: [name, ...] or monitors: [name, ...]")
		}

		tzPath := path + ".tz"
		loc, locOK := time.UTC, true
		if d.isSet(tzPath) || w.TZ != "UTC" {
			var err error
			if loc, err = LoadLocation(w.TZ); err != nil {
				locOK = false
				d.add(d.posAt(tzPath), tzPath, fmt.Sprintf("unknown time zone %s", d.show(tzPath, w.TZ)),
					`an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"`)
			}
		}

		startPath, endPath, cronPath, durPath := path+".start", path+".end", path+".cron", path+".duration"
		_, hasStart := d.nodes[startPath]
		_, hasEnd := d.nodes[endPath]
		_, hasCron := d.nodes[cronPath]
		_, hasDur := d.nodes[durPath]
		switch {
		case hasCron && (hasStart || hasEnd):
			d.add(d.posAt(cronPath), cronPath, "a window is one-off (start and end) or recurring (cron and duration), not both", "remove one of them")
		case hasStart || hasEnd:
			d.checkOneOff(w, path, loc, locOK, hasStart, hasEnd, hasDur)
		case hasCron || hasDur:
			d.checkRecurring(w, path, loc, locOK, hasCron, hasDur)
		default:
			d.add(d.posAt(path), path, "the window has no schedule",
				`give start and end ("2026-12-01 02:00"), or cron and duration ("0 2 * * 0" and "2h")`)
		}
	}
}

// checkOneOff checks a one-off window: start, and end or duration.
func (d *decoder) checkOneOff(w *Maintenance, path string, loc *time.Location, locOK, hasStart, hasEnd, hasDur bool) {
	startPath, endPath, durPath := path+".start", path+".end", path+".duration"
	if !hasStart {
		d.add(d.posAt(endPath), startPath, "a one-off window needs a start", `e.g. start: "2026-12-01 02:00"`)
	}
	switch {
	case hasEnd && hasDur:
		d.add(d.posAt(durPath), durPath, "a one-off window has an end or a duration, not both", "remove one of them")
		return
	case hasDur:
		if !d.hasProblem(durPath) && w.Duration.Duration <= 0 {
			d.add(d.posAt(durPath), durPath, fmt.Sprintf("duration %s is too short", d.show(durPath, w.Duration.String())), `e.g. "2h"`)
		}
	case !hasEnd:
		d.add(d.posAt(startPath), endPath, "a one-off window needs an end (or a duration)", `e.g. end: "2026-12-01 04:00", or duration: 2h`)
	}
	if !hasStart || !locOK {
		return
	}
	if hasDur {
		if d.isSet(startPath) {
			if _, err := ParseWindowTime(w.Start, loc); err != nil {
				d.add(d.posAt(startPath), startPath, fmt.Sprintf("invalid time %s", d.show(startPath, w.Start)),
					`RFC 3339 ("2026-12-01T02:00:00Z", "2026-12-01T02:00:00+01:00") or "2026-12-01 02:00" in tz`)
			}
		}
		return
	}
	if !hasEnd {
		return
	}
	read := func(p, s string) (time.Time, bool) {
		if !d.isSet(p) {
			return time.Time{}, false
		}
		t, err := ParseWindowTime(s, loc)
		if err != nil {
			d.add(d.posAt(p), p, fmt.Sprintf("invalid time %s", d.show(p, s)),
				`RFC 3339 ("2026-12-01T02:00:00Z", "2026-12-01T02:00:00+01:00") or "2026-12-01 02:00" in tz`)
			return time.Time{}, false
		}
		return t, true
	}
	start, okS := read(startPath, w.Start)
	end, okE := read(endPath, w.End)
	if okS && okE && !end.After(start) {
		d.add(d.posAt(endPath), endPath, fmt.Sprintf("the window ends (%s) before it starts (%s)", d.show(endPath, w.End), d.show(startPath, w.Start)),
			"end must be after start")
	}
}

func (d *decoder) checkRecurring(w *Maintenance, path string, loc *time.Location, locOK, hasCron, hasDur bool) {
	cronPath, durPath := path+".cron", path+".duration"
	if !hasCron {
		d.add(d.posAt(durPath), cronPath, "a recurring window needs a cron schedule", `e.g. cron: "0 2 * * 0" (Sundays at 02:00 in tz)`)
	}
	if !hasDur {
		d.add(d.posAt(cronPath), durPath, "a recurring window needs a duration", `e.g. duration: 2h`)
	} else if !d.hasProblem(durPath) && w.Duration.Duration <= 0 {
		d.add(d.posAt(durPath), durPath, fmt.Sprintf("duration %s is too short", d.show(durPath, w.Duration.String())), `e.g. "2h"`)
	}
	if hasCron && locOK && d.isSet(cronPath) {
		if _, err := cron.Parse(w.Cron, loc); err != nil {
			d.add(d.posAt(cronPath), cronPath, fmt.Sprintf("invalid cron expression %s: %s", d.show(cronPath, w.Cron), err),
				`five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 0" (Sundays at 02:00)`)
		}
	}
}

// MaintenanceWindow returns the maintenance window with the given name, or nil.
func (p *Policy) MaintenanceWindow(name string) *Maintenance {
	for i := range p.Maintenance {
		if p.Maintenance[i].Name == name {
			return &p.Maintenance[i]
		}
	}
	return nil
}
