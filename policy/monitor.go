package policy

import (
	"github.com/invopop/jsonschema"

	"fmt"
	"strconv"
	"strings"
	"time"
)

// Monitor watches a service with one kind of check. The settings every kind shares are here;
// each kind's own settings live in a file of their own (monitor_checks.go, monitor_heartbeat.go).
type Monitor struct {
	Name      string       `yaml:"name" policy:"name" jsonschema:"required,description=Name of the monitor; used in URLs. A monitor keeps its history across reloads as long as its name stays."`
	Service   string       `yaml:"service" policy:"ref=service" jsonschema:"description=Name of the service this monitor watches."`
	Every     Duration     `yaml:"every" jsonschema:"default=60s,description=How often the check runs (at least 1s)."`
	Timeout   Duration     `yaml:"timeout" jsonschema:"default=10s,description=How long one check may take before it counts as down; less than every."`
	DownAfter Confirmation `yaml:"down_after" jsonschema:"default=1,description=How long a failure must last before the monitor is down: a number of failed checks in a row (\"3 failures\") or a duration (\"3m\"). Default: the first failure."`
	UpAfter   Confirmation `yaml:"up_after" jsonschema:"default=1,description=How long a recovery must last before the monitor is up again: a number of successful checks in a row (\"2 successes\") or a duration. Default: the first success."`
	Paused    bool         `yaml:"paused" jsonschema:"description=Do not run the check; the monitor shows as paused and its time counts as no data."`
	// Escalation and IncidentOn say how an outage of the monitor is handled (see escalation.go).
	Escalation string `yaml:"escalation" policy:"ref=escalation" jsonschema:"description=Name of the escalation that incidents opened by this monitor follow. Default: its service's\\, else the escalation named default\\, if there is one."`
	IncidentOn string `yaml:"incident_on" jsonschema:"enum=down,enum=degraded,default=down,description=The state that opens an incident: down\\, or degraded (which includes down)."`

	HTTP      *HTTPCheck      `yaml:"http" jsonschema:"description=Request a URL and check the answer."`
	TCP       *TCPCheck       `yaml:"tcp" jsonschema:"description=Connect to host:port (optionally send and expect)."`
	DNS       *DNSCheck       `yaml:"dns" jsonschema:"description=Resolve a name and check the records."`
	TLS       *TLSCheck       `yaml:"tls" jsonschema:"description=Check a TLS certificate's validity and expiry."`
	Ping      *PingCheck      `yaml:"ping" jsonschema:"description=ICMP echo."`
	Postgres  *SQLCheck       `yaml:"postgres" jsonschema:"description=Run a query on PostgreSQL; its first column must be true or non-zero."`
	MySQL     *SQLCheck       `yaml:"mysql" jsonschema:"description=Run a query on MySQL or MariaDB; its first column must be true or non-zero."`
	Heartbeat *HeartbeatCheck `yaml:"heartbeat" jsonschema:"description=Passive: a job pings Upkeep (Healthchecks.io protocol); missing or failed pings are down."`
	// Backup is set on the monitor the loader adds for every backup (kind backup); it is never
	// written in the file.
	Backup *BackupMonitor `yaml:"-" json:"-"`
	// Drill is set on the monitor the loader adds for every restore drill (kind drill); it is
	// never written in the file.
	Drill *DrillMonitor `yaml:"-" json:"-"`
}

// Monitor kinds, as Kind returns them.
const (
	KindHTTP      = "http"
	KindTCP       = "tcp"
	KindDNS       = "dns"
	KindTLS       = "tls"
	KindPing      = "ping"
	KindPostgres  = "postgres"
	KindMySQL     = "mysql"
	KindHeartbeat = "heartbeat"
	KindBackup    = "backup" // added by the loader for every backup, never written
	KindDrill     = "drill"  // added by the loader for every restore drill, never written
)

// kindSettings is implemented by each kind's settings, which check themselves.
type kindSettings interface {
	// check reports problems of the settings at path (e.g. "monitors[2].http") and fills in
	// defaults that depend on other values.
	check(d *decoder, path string, m *Monitor)
}

type monitorKind struct {
	name     string
	settings kindSettings // nil when the monitor is not of this kind
}

// kinds lists the kinds a monitor declares; a valid monitor declares exactly one.
func (m *Monitor) kinds() []monitorKind {
	var out []monitorKind
	add := func(name string, isNil bool, s kindSettings) {
		if !isNil {
			out = append(out, monitorKind{name, s})
		}
	}
	add(KindHTTP, m.HTTP == nil, m.HTTP)
	add(KindTCP, m.TCP == nil, m.TCP)
	add(KindDNS, m.DNS == nil, m.DNS)
	add(KindTLS, m.TLS == nil, m.TLS)
	add(KindPing, m.Ping == nil, m.Ping)
	add(KindPostgres, m.Postgres == nil, m.Postgres)
	add(KindMySQL, m.MySQL == nil, m.MySQL)
	add(KindHeartbeat, m.Heartbeat == nil, m.Heartbeat)
	add(KindBackup, m.Backup == nil, nil)
	add(KindDrill, m.Drill == nil, nil)
	return out
}

// Kind names the monitor's kind ("http", "heartbeat", ...).
func (m *Monitor) Kind() string {
	if k := m.kinds(); len(k) > 0 {
		return k[0].name
	}
	return ""
}

// Passive reports whether the monitor waits for pings instead of running a check.
func (m *Monitor) Passive() bool { return m.Heartbeat != nil || m.Backup != nil || m.Drill != nil }

var allKinds = []string{KindHTTP, KindTCP, KindDNS, KindTLS, KindPing, KindPostgres, KindMySQL, KindHeartbeat}

func (d *decoder) checkMonitors(ms []Monitor) {
	for i := range ms {
		m := &ms[i]
		path := fmt.Sprintf("monitors[%d]", i)
		kinds := m.kinds()
		names := make([]string, len(kinds))
		for j, k := range kinds {
			names[j] = k.name
		}
		d.exactlyOne(path, names, d.posAt(path), true, oneOf{what: "monitor", kind: "check",
			all: allKinds, split: "split it into one monitor per check"})
		if !m.Passive() {
			d.checkTiming(path, m)
		}
		for _, k := range kinds {
			if k.settings == nil {
				continue // a backup's monitor: its backup is checked on its own
			}
			k.settings.check(d, path+"."+k.name, m)
		}
	}
}

func (d *decoder) checkTiming(path string, m *Monitor) {
	every, timeout := path+".every", path+".timeout"
	if d.hasProblem(every) || d.hasProblem(timeout) {
		return
	}
	if m.Every.Duration < time.Second {
		d.add(d.posAt(every), every, fmt.Sprintf("interval %s is too short", d.show(every, m.Every.String())), `at least "1s"`)
		return
	}
	if m.Timeout.Duration <= 0 {
		d.add(d.posAt(timeout), timeout, "the timeout must be positive", `e.g. "10s"`)
		return
	}
	if m.Timeout.Duration >= m.Every.Duration {
		pos := d.posAt(timeout)
		if _, set := d.nodes[timeout]; !set {
			pos = d.posAt(every) // the default timeout meets a short interval
		}
		d.add(pos, timeout, fmt.Sprintf("timeout %s is not shorter than the interval %s", m.Timeout, m.Every),
			"a check must end before the next one starts; set timeout below every")
	}
}

// Confirmation is how long a change must last before it is confirmed: a number of checks in a
// row, or a duration. The zero value means "the first check".
type Confirmation struct {
	Count    int           // checks in a row; 0 when Duration is set
	Duration time.Duration // how long the condition must hold; 0 when Count is set
}

// UnmarshalText reads "3", "3 failures", "2 successes", "1 check" or a duration such as "3m".
func (c *Confirmation) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	num, unit, _ := strings.Cut(s, " ")
	if n, err := strconv.Atoi(num); err == nil {
		switch strings.TrimSpace(unit) {
		case "", "failure", "failures", "success", "successes", "check", "checks", "time", "times":
		default:
			return fmt.Errorf("unknown unit %q", strings.TrimSpace(unit))
		}
		if n < 1 || n > 1000 {
			return fmt.Errorf("%d is out of range (1 to 1000 checks)", n)
		}
		*c = Confirmation{Count: n}
		return nil
	}
	var d Duration
	if err := d.UnmarshalText(text); err != nil {
		return fmt.Errorf(`expected a number of checks ("3 failures") or a duration ("3m")`)
	}
	if d.Duration <= 0 {
		return fmt.Errorf("the duration must be positive")
	}
	*c = Confirmation{Duration: d.Duration}
	return nil
}

// MarshalText gives "3" for a count and a duration otherwise.
func (c Confirmation) MarshalText() ([]byte, error) {
	if c.Duration > 0 {
		return Duration{c.Duration}.MarshalText()
	}
	n := c.Count
	if n == 0 {
		n = 1
	}
	return []byte(strconv.Itoa(n)), nil
}

func (c Confirmation) String() string {
	b, _ := c.MarshalText()
	return string(b)
}

// JSONSchema describes a Confirmation: a count of checks or a duration.
func (Confirmation) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "1", Maximum: "1000"},
			{Type: "string", Pattern: `^([0-9]+( (failures?|successes|success|checks?))?|([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+|.*\$\{.*)$`},
		},
		Description: `A number of checks in a row ("3 failures", "2 successes") or a duration ("3m").`,
		Examples:    []any{"3 failures", "2 successes", "3m"},
	}
}

// kindName names the type in "expected ..., got ..." problems.
func (Confirmation) kindName() string { return "a number of checks or a duration" }
