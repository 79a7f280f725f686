// Package policy reads, checks and completes Upkeep's policy file: the one YAML document in
// which a team writes down its continuity policy (services and their objectives, monitors,
// alerting, status page, backups, restore drills).
//
// The loader reports every problem in a document at once, each with the file, line and column
// of the offending node, the key path (services[1].objectives.rpo), what is wrong and a hint.
// No YAML library does that out of the box: decoding into structs stops at the first error and
// loses positions once values are converted. So the document is parsed with
// github.com/goccy/go-yaml into its syntax tree, which keeps the position of every node, and a
// small reflection-based walker in this package decodes that tree into the types below,
// collecting problems instead of stopping.
//
// The walker is driven by struct tags, so a later feature adds a field to a type and gets
// decoding, checking and the JSON Schema for free:
//
//	yaml:"key"                   the key in the file (snake_case); yaml:"-" hides a field
//	jsonschema:"required"        the key must be present
//	jsonschema:"default=..."     the value used when the key is absent or empty
//	jsonschema:"enum=a,enum=b"   the allowed values of a string
//	jsonschema:"description=..." documentation shown by editors through the JSON Schema
//	policy:"names=service"       a section whose entries (list items with a name, or map keys) are named things of that kind
//	policy:"name"                the field that names a section entry (checked against the name pattern)
//	policy:"ref=service"         a string or list of strings naming things of that kind, checked to exist
//
// Values implementing encoding.TextUnmarshaler (Duration, Percent) are decoded through it.
package policy

import (
	"fmt"
	"strings"
)

// SupportedVersion is the version of the policy file format this package reads.
const SupportedVersion = 1

// Policy is a validated policy file with its defaults filled in.
type Policy struct {
	// File is the name the policy was loaded from, as used in problem positions.
	File string `yaml:"-" json:"-"`
	// Source is the document as written. Environment references (${VAR}) are not expanded in
	// it, so it may be shown to users; the expanded values may be secrets and never are.
	Source []byte `yaml:"-" json:"-"`

	Version      int                    `yaml:"version" jsonschema:"enum=1,description=Version of the policy file format. Optional; the only version so far is 1."`
	Server       Server                 `yaml:"server" jsonschema:"description=How Upkeep itself runs: where it listens\\, its public address\\, where it keeps its data\\, how it logs."`
	Services     []Service              `yaml:"services" policy:"names=service" jsonschema:"description=The services the policy is about\\, with their continuity objectives. Monitors\\, backups and the status page refer to them by name."`
	Monitors     []Monitor              `yaml:"monitors" policy:"names=monitor" jsonschema:"description=Checks that watch the services. The check settings arrive with the monitoring feature; for now a monitor has a name and a service."`
	Channels     map[string]Channel     `yaml:"channels" policy:"names=channel" jsonschema:"description=Ways to reach people (e-mail\\, SMS\\, chat\\, push\\, webhooks\\, PagerDuty\\, Opsgenie)\\, keyed by name. Escalations notify them by name."`
	Escalations  []Escalation           `yaml:"escalations" policy:"names=escalation" jsonschema:"description=Who is told when\\, while an incident lasts."`
	Maintenance  []Maintenance          `yaml:"maintenance" policy:"names=maintenance window" jsonschema:"description=Planned maintenance windows\\, one-off or recurring. During a window the monitors it covers show maintenance\\, open no incidents and their time is left out of availability."`
	StatusPage   *StatusPage            `yaml:"status_page" jsonschema:"description=The public status page."`
	Destinations map[string]Destination `yaml:"destinations" policy:"names=destination" jsonschema:"description=Places backups are copied to\\, keyed by name. Each holds its own encrypted repository\\, so damage to one copy cannot spread to another."`
	Backups      []Backup               `yaml:"backups" policy:"names=backup" jsonschema:"description=Scheduled backups of the services' data."`
	Drills       []Drill                `yaml:"drills" policy:"names=drill" jsonschema:"description=Restore drills that prove a backup restores."`
	Agents       []Agent                `yaml:"agents" policy:"names=agent" jsonschema:"description=Remote agents that run checks from other locations."`
}

// Server says how the Upkeep process itself runs.
type Server struct {
	Listen    string `yaml:"listen" jsonschema:"default=127.0.0.1:8080,description=Address the HTTP server listens on\\, as host:port with a numeric port. Use 0.0.0.0:8080 to listen on all interfaces."`
	PublicURL string `yaml:"public_url" jsonschema:"description=Address at which people and agents reach Upkeep (used in links in notifications and on the status page). An absolute http or https URL without query. Default: derived from listen (http://localhost:8080 for 0.0.0.0:8080)."`
	DataDir   string `yaml:"data_dir" jsonschema:"default=./upkeep-data,description=Directory where Upkeep keeps its store. Created with mode 0700 on first run."`
	Log       Log    `yaml:"log" jsonschema:"description=Logging of the Upkeep process."`
	// PingKey is the project-wide key of slug-style heartbeat URLs: /ping/<ping_key>/<slug>.
	PingKey Secret `yaml:"ping_key" jsonschema:"description=Key for heartbeat URLs of the form /ping/<ping_key>/<slug> (as in Healthchecks.io). Keep it secret: anyone with it can ping every heartbeat. Use ${VAR}. Without it only /ping/<uuid> URLs work."`
	// MetricsAuth requires an API token for /metrics.
	MetricsAuth bool    `yaml:"metrics_auth" jsonschema:"description=Require an API token (Authorization: Bearer) for /metrics. Default: /metrics is public."`
	History     History `yaml:"history" jsonschema:"description=How long monitoring history is kept."`
}

// History says how long monitoring history is kept. Transitions (every change of state) are
// kept forever: uptime is computed from them.
type History struct {
	Raw     Duration `yaml:"raw" jsonschema:"default=7d,description=How long every single check result is kept."`
	Rollups Duration `yaml:"rollups" jsonschema:"default=800d,description=How long hourly and daily summaries (checks\\, failures\\, latency percentiles) are kept. At least 400d."`
}

// Log configures the process log.
type Log struct {
	Level  string `yaml:"level" jsonschema:"enum=debug,enum=info,enum=warn,enum=error,default=info,description=Least severe level that is logged."`
	Format string `yaml:"format" jsonschema:"enum=text,enum=json,default=text,description=text for people\\, json for log collectors."`
}

// Service is something the team has promised to keep running.
type Service struct {
	Name        string     `yaml:"name" policy:"name" jsonschema:"required,description=Name of the service; used in URLs and by other sections to refer to it."`
	Title       string     `yaml:"title" jsonschema:"description=Name shown to people (on the status page). Default: the name."`
	Description string     `yaml:"description" jsonschema:"description=What the service is\\, for the people reading the policy and the status page."`
	Objectives  Objectives `yaml:"objectives" jsonschema:"description=Continuity objectives from the business impact analysis."`
	DependsOn   []string   `yaml:"depends_on" policy:"ref=service" jsonschema:"description=Names of other services this one needs to work. While a service it depends on has an open incident\\, an outage of this one joins that incident instead of paging on its own."`
	Escalation  string     `yaml:"escalation" policy:"ref=escalation" jsonschema:"description=Name of the escalation that incidents of this service follow. Default: the escalation named default\\, if there is one."`
}

// Objectives are the continuity targets of a service. Zero values mean "no objective".
type Objectives struct {
	Availability Percent  `yaml:"availability" jsonschema:"description=Availability target as a percentage\\, e.g. \"99.9%\"."`
	RPO          Duration `yaml:"rpo" jsonschema:"description=Recovery point objective: how much recent data may be lost\\, e.g. \"1h\"."`
	RTO          Duration `yaml:"rto" jsonschema:"description=Recovery time objective: how long a recovery may take\\, e.g. \"15m\"."`
}

// Agent runs checks from another location. Its settings arrive with the agents feature.
type Agent struct {
	Name string `yaml:"name" policy:"name" jsonschema:"required,description=Name of the agent (its location\\, e.g. eu-west)."`
}

// Summary describes the policy in one line, for `upkeep validate` and the log: the file, the
// number of services, and the number of entries of every other section that has any.
func (p *Policy) Summary() string {
	parts := []string{count(len(p.Services), "service", "services")}
	add := func(n int, one, many string) {
		if n > 0 {
			parts = append(parts, count(n, one, many))
		}
	}
	written := 0 // every backup and drill is a monitor too
	for _, m := range p.Monitors {
		if m.Backup == nil && m.Drill == nil {
			written++
		}
	}
	add(written, "monitor", "monitors")
	add(len(p.Channels), "channel", "channels")
	add(len(p.Escalations), "escalation", "escalations")
	add(len(p.Maintenance), "maintenance window", "maintenance windows")
	if p.StatusPage != nil {
		parts = append(parts, "a status page")
	}
	add(len(p.Destinations), "destination", "destinations")
	add(len(p.Backups), "backup", "backups")
	add(len(p.Drills), "drill", "drills")
	add(len(p.Agents), "agent", "agents")
	return fmt.Sprintf("%s: valid policy: %s", p.File, strings.Join(parts, ", "))
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
