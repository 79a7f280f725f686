package policy

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones of heartbeat schedules work on machines without a zoneinfo database

	"github.com/upkeep-dev/upkeep/heartbeat/cron"
)

// HeartbeatCheck is a passive monitor: a job pings Upkeep (the Healthchecks.io ping protocol)
// and a missing, late, failed or hung run is down. Package heartbeat answers the pings.
type HeartbeatCheck struct {
	Period Duration `yaml:"period" jsonschema:"description=How often the job runs\\, e.g. \"24h\": a success is expected within period + grace of the last one. Set period or cron\\, not both."`
	Cron   string   `yaml:"cron" jsonschema:"description=When the job runs\\, as a five-field cron expression (\"0 6 * * *\") or @daily\\, @hourly\\, ...: a success is expected within grace of each run. Set period or cron\\, not both."`
	TZ     string   `yaml:"tz" jsonschema:"default=UTC,description=Time zone of the cron expression (IANA name such as Europe/Berlin)."`
	Grace  Duration `yaml:"grace" jsonschema:"default=1h,description=How late a ping may be before the monitor is down; also how long a run may take after its start ping."`
	UUID   string   `yaml:"uuid" jsonschema:"description=The UUID of the ping URL /ping/<uuid>: set it to keep the URL a job already uses (e.g. one from Healthchecks.io). Default: generated once and kept."`
	Slug   string   `yaml:"slug" jsonschema:"description=The slug of the ping URL /ping/<server.ping_key>/<slug>. Default: the monitor's name."`
}

// Limits of heartbeat schedules.
const (
	minHeartbeatPeriod = time.Second
	minHeartbeatGrace  = time.Second
)

// heartbeatSeen is the key prefix under which the decoder's node table remembers the UUIDs and
// slugs of the heartbeats checked so far, so that a duplicate is found in constant time. No key
// path starts with a NUL byte.
const heartbeatSeen = "\x00heartbeat "

func (c *HeartbeatCheck) check(d *decoder, path string, m *Monitor) {
	monitorPath := strings.TrimSuffix(path, "."+KindHeartbeat)
	for _, key := range []string{"every", "timeout"} {
		kpath := monitorPath + "." + key
		if _, set := d.nodes[kpath]; set {
			d.add(d.posAt(kpath), kpath, key+" does not apply to a heartbeat monitor",
				"a heartbeat waits for pings; say when they are due with heartbeat.period or heartbeat.cron")
		}
	}

	periodPath, cronPath, tzPath, gracePath := path+".period", path+".cron", path+".tz", path+".grace"
	_, hasPeriod := d.nodes[periodPath]
	_, hasCron := d.nodes[cronPath]
	switch {
	case hasPeriod && hasCron:
		d.add(d.posAt(cronPath), cronPath, "a heartbeat has a period or a cron schedule, not both", "remove one of them")
	case !hasPeriod && !hasCron:
		d.add(d.posAt(path), path, "a heartbeat needs a period or a cron schedule",
			`e.g. period: 24h, or cron: "0 6 * * *" and tz: Europe/Berlin`)
	case hasPeriod && !d.hasProblem(periodPath) && c.Period.Duration < minHeartbeatPeriod:
		d.add(d.posAt(periodPath), periodPath, fmt.Sprintf("period %s is too short", d.show(periodPath, c.Period.String())), `at least "1s"`)
	}
	if _, set := d.nodes[tzPath]; set && hasPeriod && !hasCron {
		d.add(d.posAt(tzPath), tzPath, "tz applies to cron schedules only", "remove tz, or give a cron schedule instead of the period")
	}

	loc, locOK := time.UTC, true
	if d.isSet(tzPath) || c.TZ != "UTC" {
		var err error
		loc, err = LoadLocation(c.TZ)
		if err != nil {
			locOK = false
			d.add(d.posAt(tzPath), tzPath, fmt.Sprintf("unknown time zone %s", d.show(tzPath, c.TZ)),
				`an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"`)
		}
	}
	if hasCron && locOK && d.isSet(cronPath) {
		if _, err := cron.Parse(c.Cron, loc); err != nil {
			d.add(d.posAt(cronPath), cronPath, fmt.Sprintf("invalid cron expression %s: %s", d.show(cronPath, c.Cron), err),
				`five fields: minute hour day-of-month month day-of-week, e.g. "0 6 * * *" (06:00 every day) or "30 2 * * 1-5"`)
		}
	}
	// A zero grace written in the file has been replaced by the default already: look at the text.
	if grace, ok := d.writtenDuration(gracePath, c.Grace); ok && grace < minHeartbeatGrace {
		d.add(d.posAt(gracePath), gracePath, fmt.Sprintf("grace %s is too short", d.show(gracePath, c.Grace.String())),
			`at least "1s"; allow for the job's usual lateness and run time, e.g. "1h"`)
	}

	uuidPath, slugPath := path+".uuid", path+".slug"
	if d.isSet(uuidPath) {
		if u, ok := CanonicalUUID(c.UUID); !ok {
			d.add(d.posAt(uuidPath), uuidPath, fmt.Sprintf("invalid UUID %s", d.show(uuidPath, c.UUID)),
				`32 hexadecimal digits in groups of 8-4-4-4-12, e.g. "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"`)
		} else {
			c.UUID = u
			d.unique(uuidPath, "UUID", u)
		}
	}
	if c.Slug == "" {
		c.Slug = m.Name
		if c.Slug != "" {
			d.unique(monitorPath+".name", "slug", c.Slug)
		}
	} else if d.isSet(slugPath) {
		if !d.nameRE.MatchString(c.Slug) {
			d.add(d.posAt(slugPath), slugPath, fmt.Sprintf("invalid slug %s", d.show(slugPath, c.Slug)),
				"a slug starts with a letter or digit and has only letters, digits, \".\", \"_\" and \"-\", because it appears in URLs")
		} else {
			d.unique(slugPath, "slug", c.Slug)
		}
	}
}

// writtenDuration returns the duration written at path, before defaults, and false when none
// was written or it could not be read.
func (d *decoder) writtenDuration(path string, v Duration) (time.Duration, bool) {
	if !d.isSet(path) {
		return 0, false
	}
	if n := d.nodes[path]; n.scalar {
		if w, err := ParseDuration(n.exp.value); err == nil {
			return w.Duration, true
		}
	}
	return v.Duration, true
}

// unique reports a heartbeat UUID or slug that an earlier heartbeat uses already.
func (d *decoder) unique(path, what, value string) {
	key := heartbeatSeen + what + " " + value
	if first, dup := d.nodes[key]; dup {
		hint := fmt.Sprintf("already used at line %d", first.pos.line)
		if what == "slug" && strings.HasSuffix(path, ".name") {
			hint += "; the slug defaults to the monitor's name: give this heartbeat a slug of its own"
		}
		d.add(d.posAt(path), path, fmt.Sprintf("duplicate heartbeat %s %s", what, quote(value)), hint)
		return
	}
	d.nodes[key] = nodeInfo{pos: d.posAt(path)}
}

// Schedule describes when pings are due, for messages: "period 24h, grace 1h" or
// "cron 0 6 * * * Europe/Berlin, grace 1h".
func (c *HeartbeatCheck) Schedule() string {
	if c.Cron != "" {
		tz := ""
		if c.TZ != "" && c.TZ != "UTC" {
			tz = " " + c.TZ
		}
		return fmt.Sprintf("cron %s%s, grace %s", strings.Join(strings.Fields(c.Cron), " "), tz, c.Grace)
	}
	return fmt.Sprintf("period %s, grace %s", c.Period, c.Grace)
}

// LoadLocation is time.LoadLocation for policy time zones: "" and "UTC" are UTC, and "Local"
// (the server's own zone, which differs between machines) is refused. The zone database is
// embedded in the binary, so a machine without one works too.
func LoadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("time zone %q depends on the machine; name the zone", name)
	}
	return time.LoadLocation(name)
}

// CanonicalUUID returns s as a lower-case UUID (8-4-4-4-12 hexadecimal digits), and false if it
// is not one.
func CanonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, ch := range b {
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return "", false
			}
			continue
		}
		switch {
		case ch >= '0' && ch <= '9', ch >= 'a' && ch <= 'f':
		case ch >= 'A' && ch <= 'F':
			b[i] = ch + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}
