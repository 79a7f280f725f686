package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env returns a getenv that looks up vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// problemStrings returns the problems in err as strings, failing the test if err is not Problems.
func problemStrings(t *testing.T, err error) []string {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		env   map[string]string
		check func(t *testing.T, p *Policy)
	}{
		{
			name: "empty file gives all defaults",
			doc:  "",
			check: func(t *testing.T, p *Policy) {
				want := Server{
					Listen:    "127.0.0.1:8080",
					PublicURL: "http://127.0.0.1:8080",
					DataDir:   "./upkeep-data",
					Log:       Log{Level: "info", Format: "text"},
					History:   History{Raw: Duration{7 * 24 * time.Hour}, Rollups: Duration{800 * 24 * time.Hour}},
				}
				if p.Server != want {
					t.Errorf("server = %+v, want %+v", p.Server, want)
				}
				if p.Version != 0 || len(p.Services) != 0 || p.StatusPage != nil {
					t.Errorf("unexpected content: %+v", p)
				}
			},
		},
		{
			name: "comments only",
			doc:  "# nothing yet\n\n# still nothing\n",
			check: func(t *testing.T, p *Policy) {
				if p.Server.Listen != "127.0.0.1:8080" {
					t.Errorf("listen = %q", p.Server.Listen)
				}
			},
		},
		{
			name: "null sections",
			doc:  "server:\nservices:\nmonitors: ~\nstatus_page:\n",
			check: func(t *testing.T, p *Policy) {
				if p.StatusPage != nil || p.Services != nil || p.Server.DataDir != "./upkeep-data" {
					t.Errorf("got %+v", p)
				}
			},
		},
		{
			name: "every section",
			doc: `version: 1
server:
  listen: 0.0.0.0:9090
  data_dir: /var/lib/upkeep
  log: {level: debug, format: json}
services:
  - name: api
    title: Public API
    description: The REST API.
    objectives: {availability: 99.95%, rpo: 1h, rto: 15m}
    depends_on: [db]
  - name: db
monitors:
  - {name: api-health, service: api, http: {url: /}}
channels:
  ops-mail: {email: {smtp: {host: smtp.example.com, from: upkeep@example.com}, to: [ops@example.com]}}
  oncall-sms: {ntfy: {topic: oncall}}
escalations:
  - name: default
    steps:
      - {after: 0s, notify: [ops-mail]}
      - {after: 3m, notify: [oncall-sms, ops-mail]}
maintenance:
  - {name: db-upgrade, services: [db], cron: "0 2 * * 0", duration: 2h}
status_page:
  title: Acme status
  services: [api, db]
destinations:
  onsite: {path: /var/backups/upkeep, password_file: /etc/upkeep/backup.pass}
  offsite: {s3: {bucket: acme-backups}, password_file: /etc/upkeep/backup.pass}
backups:
  - {name: app-db, service: db, postgres: {dsn: "postgres:///app"}, schedule: "0 6 * * *", to: [onsite, offsite]}
drills:
  - {name: app-db-restore, backup: app-db, into: {postgres: {dsn: "postgres:///postgres", database: app_drill, scratch: true}}}
agents:
  - name: eu-west
`,
			check: func(t *testing.T, p *Policy) {
				if p.Server.PublicURL != "http://localhost:9090" {
					t.Errorf("public_url = %q, want it derived from 0.0.0.0:9090", p.Server.PublicURL)
				}
				if p.Server.Log != (Log{Level: "debug", Format: "json"}) {
					t.Errorf("log = %+v", p.Server.Log)
				}
				api := p.Services[0]
				if api.Title != "Public API" || api.Objectives.Availability != 99.95 ||
					api.Objectives.RPO.Duration != time.Hour || api.Objectives.RTO.Duration != 15*time.Minute ||
					!reflect.DeepEqual(api.DependsOn, []string{"db"}) {
					t.Errorf("api = %+v", api)
				}
				if p.Services[1].Title != "db" {
					t.Errorf("title defaults to the name; got %q", p.Services[1].Title)
				}
				if len(p.Channels) != 2 || len(p.Destinations) != 2 {
					t.Errorf("channels %v, destinations %v", p.Channels, p.Destinations)
				}
				if got := p.Escalations[0].Steps[1]; got.After.Duration != 3*time.Minute || len(got.Notify) != 2 {
					t.Errorf("step = %+v", got)
				}
				if p.StatusPage == nil || p.StatusPage.Title != "Acme status" {
					t.Errorf("status page = %+v", p.StatusPage)
				}
				if p.Drills[0].Backup != "app-db" || p.Agents[0].Name != "eu-west" || p.Maintenance[0].Services[0] != "db" {
					t.Errorf("drills %+v agents %+v maintenance %+v", p.Drills, p.Agents, p.Maintenance)
				}
				want := "p.yaml: valid policy: 2 services, 1 monitor, 2 channels, 1 escalation, 1 maintenance window, a status page, 2 destinations, 1 backup, 1 drill, 1 agent"
				if got := p.Summary(); got != want {
					t.Errorf("summary = %q\nwant      %q", got, want)
				}
			},
		},
		{
			name: "public url kept, trailing slash removed",
			doc:  "server: {listen: '[::1]:8443', public_url: 'https://status.example.com/upkeep/'}\n",
			check: func(t *testing.T, p *Policy) {
				if p.Server.PublicURL != "https://status.example.com/upkeep" {
					t.Errorf("public_url = %q", p.Server.PublicURL)
				}
			},
		},
		{
			name: "public url derived from an IPv6 listen address",
			doc:  "server: {listen: '[::]:8080'}\n",
			check: func(t *testing.T, p *Policy) {
				if p.Server.PublicURL != "http://localhost:8080" {
					t.Errorf("public_url = %q", p.Server.PublicURL)
				}
			},
		},
		{
			name: "listen on all interfaces with an empty host",
			doc:  "server: {listen: ':80'}\n",
			check: func(t *testing.T, p *Policy) {
				if p.Server.PublicURL != "http://localhost:80" {
					t.Errorf("public_url = %q", p.Server.PublicURL)
				}
			},
		},
		{
			name: "environment expansion",
			doc: `server:
  listen: ${LISTEN}
  data_dir: ${DATA:-/srv/upkeep}
  public_url: "https://${HOST}"
services:
  - name: api
    description: costs $${PRICE} and $5
    objectives: {rpo: "${RPO}", availability: "${AVAIL:-99.5%}"}
`,
			env: map[string]string{"LISTEN": "127.0.0.1:7000", "HOST": "up.example.com", "RPO": "90s", "AVAIL": ""},
			check: func(t *testing.T, p *Policy) {
				s := p.Server
				if s.Listen != "127.0.0.1:7000" || s.DataDir != "/srv/upkeep" || s.PublicURL != "https://up.example.com" {
					t.Errorf("server = %+v", s)
				}
				svc := p.Services[0]
				if svc.Description != "costs ${PRICE} and $5" {
					t.Errorf("description = %q", svc.Description)
				}
				if svc.Objectives.RPO.Duration != 90*time.Second || svc.Objectives.Availability != 99.5 {
					t.Errorf("objectives = %+v", svc.Objectives)
				}
				if !strings.Contains(string(p.Source), "${LISTEN}") {
					t.Errorf("source is expanded: %s", p.Source)
				}
			},
		},
		{
			name: "anchors, aliases and merge keys",
			doc: `services:
  - &base
    name: api
    objectives: &obj {availability: 99.9%, rpo: &hour 1h}
  - <<: *base
    name: web
  - name: batch
    objectives:
      <<: *obj
      rto: *hour
  - <<: [{description: first wins}, {description: second, title: Batch 2}]
    name: batch2
`,
			check: func(t *testing.T, p *Policy) {
				if len(p.Services) != 4 {
					t.Fatalf("services = %+v", p.Services)
				}
				web := p.Services[1]
				if web.Name != "web" || web.Objectives.Availability != 99.9 || web.Objectives.RPO.Duration != time.Hour {
					t.Errorf("web = %+v", web)
				}
				batch := p.Services[2]
				if batch.Objectives.RPO.Duration != time.Hour || batch.Objectives.RTO.Duration != time.Hour || batch.Objectives.Availability != 99.9 {
					t.Errorf("batch = %+v", batch)
				}
				b2 := p.Services[3]
				if b2.Description != "first wins" || b2.Title != "Batch 2" {
					t.Errorf("batch2 = %+v", b2)
				}
			},
		},
		{
			name: "numbers and booleans as strings, literal blocks, document markers",
			doc:  "---\nservices:\n  - name: 2024\n    title: true\n    description: |\n      line one\n      line two\n...\n",
			check: func(t *testing.T, p *Policy) {
				s := p.Services[0]
				if s.Name != "2024" || s.Title != "true" || s.Description != "line one\nline two\n" {
					t.Errorf("service = %+v", s)
				}
			},
		},
		{
			name: "empty trailing document",
			doc:  "services: [{name: a}]\n---\n",
			check: func(t *testing.T, p *Policy) {
				if len(p.Services) != 1 {
					t.Errorf("services = %+v", p.Services)
				}
			},
		},
		{
			name: "standard tags",
			doc:  "version: !!int 1\nservices:\n  - name: !!str 123\n",
			check: func(t *testing.T, p *Policy) {
				if p.Version != 1 || p.Services[0].Name != "123" {
					t.Errorf("got %+v", p)
				}
			},
		},
		{
			name: "byte order mark and CRLF line ends",
			doc:  "\uFEFFservices:\r\n  - name: a\r\n",
			check: func(t *testing.T, p *Policy) {
				if len(p.Services) != 1 || p.Services[0].Name != "a" {
					t.Errorf("services = %+v", p.Services)
				}
			},
		},
		{
			name: "dependencies without a cycle",
			doc:  "services:\n  - {name: a, depends_on: [b, c]}\n  - {name: b, depends_on: [c]}\n  - {name: c}\n",
			check: func(t *testing.T, p *Policy) {
				if len(p.Services[0].DependsOn) != 2 {
					t.Errorf("got %+v", p.Services)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.doc), env(tt.env))
			if err != nil {
				t.Fatalf("unexpected problems:\n%v", err)
			}
			if p.File != "p.yaml" || string(p.Source) != tt.doc {
				t.Errorf("file %q, source %q", p.File, p.Source)
			}
			tt.check(t, p)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		env  map[string]string
		want []string
	}{
		{
			name: "unknown keys",
			doc:  "sevrices: []\nserver:\n  listen: :80\n  lgo: {}\n  whatever: 1\n",
			want: []string{
				`p.yaml:1:1: sevrices: unknown key "sevrices" (did you mean "services"?)`,
				`p.yaml:4:3: server.lgo: unknown key "lgo" (did you mean "log"?)`,
				`p.yaml:5:3: server.whatever: unknown key "whatever" (valid keys: listen, public_url, data_dir, log, ping_key, metrics_auth, history)`,
			},
		},
		{
			name: "long and odd keys are quoted and shortened",
			doc:  strings.Repeat("x", 100) + ": 1\nserver:\n  'a.b\\n': 1\n",
			want: []string{
				`p.yaml:1:1: ["` + strings.Repeat("x", 60) + `…"]: unknown key "` + strings.Repeat("x", 60) + `…" (valid keys: version, server, services, monitors, channels, escalations, maintenance, status_page, destinations, backups, drills, agents)`,
				`p.yaml:3:3: server["a.b\\n"]: unknown key "a.b\\n" (valid keys: listen, public_url, data_dir, log, ping_key, metrics_auth, history)`,
			},
		},
		{
			name: "wrong types",
			doc: `server: [a]
services:
  - name: {x: 1}
    depends_on: db
    objectives: 99.9%
monitors: {a: b}
version: one
status_page: [x]
`,
			want: []string{
				`p.yaml:1:9: server: expected a mapping, got a list`,
				`p.yaml:3:11: services[0].name: expected a string, got a mapping`,
				`p.yaml:4:17: services[0].depends_on: expected a list, got a string (write one entry per line starting with "- ", or [a, b])`,
				`p.yaml:5:17: services[0].objectives: expected a mapping, got a string`,
				`p.yaml:6:11: monitors: expected a list, got a mapping (write one entry per line starting with "- ", or [a, b])`,
				`p.yaml:7:10: version: expected a whole number, got a string`,
				`p.yaml:8:14: status_page: expected a mapping, got a list`,
			},
		},
		{
			name: "document is not a mapping",
			doc:  "- services\n",
			want: []string{`p.yaml:1:1: expected a mapping, got a list`},
		},
		{
			name: "duplicate keys",
			doc:  "services:\n  - name: a\n    name: b\nservices: []\nchannels:\n  x: {}\n  x: {}\n",
			want: []string{
				`p.yaml:3:5: services[0].name: duplicate key "name" (already set at line 2)`,
				`p.yaml:4:1: services: duplicate key "services" (already set at line 1)`,
				`p.yaml:7:3: channels.x: duplicate key "x" (already set at line 6)`,
			},
		},
		{
			name: "duplicate names",
			doc:  "services:\n  - name: api\n  - name: db\n  - name: api\nmonitors:\n  - {name: m, http: {url: /}}\n  - {name: m, http: {url: /}}\n",
			want: []string{
				`p.yaml:4:11: services[2].name: duplicate service name "api" (already used at line 2)`,
				`p.yaml:7:12: monitors[1].name: duplicate monitor name "m" (already used at line 6)`,
			},
		},
		{
			name: "invalid names",
			doc:  "services:\n  - name: my service\n  - name: -x\n  - name: ''\nchannels:\n  ops/mail: {}\n",
			want: []string{
				`p.yaml:2:11: services[0].name: invalid name "my service" (` + nameHint + `)`,
				`p.yaml:3:11: services[1].name: invalid name "-x" (` + nameHint + `)`,
				`p.yaml:4:11: services[2].name: invalid name "" (` + nameHint + `)`,
				`p.yaml:6:3: channels["ops/mail"]: invalid name "ops/mail" (` + nameHint + `)`,
			},
		},
		{
			name: "missing required keys",
			doc:  "services:\n  - title: no name\n  - name:\ndrills:\n  - {}\n",
			want: []string{
				`p.yaml:2:5: services[0]: missing required key "name"`,
				`p.yaml:3:10: services[1].name: a value is required`,
				`p.yaml:5:5: drills[0]: missing required key "name"`,
				`p.yaml:5:5: drills[0]: missing required key "backup"`,
				`p.yaml:5:5: drills[0]: missing required key "into"`,
			},
		},
		{
			name: "empty list entries",
			doc:  "services:\n  -\n  - name: a\n    depends_on: [~]\n",
			want: []string{
				`p.yaml:2:4: services[0]: expected a mapping, got nothing (remove the empty entry)`,
				`p.yaml:4:18: services[1].depends_on[0]: expected a string, got nothing (remove the empty entry)`,
			},
		},
		{
			name: "unknown references",
			doc: `services:
  - {name: api, depends_on: [apx, nothing-like-it]}
  - {name: db}
monitors:
  - {name: m, service: dbb, http: {url: /}}
escalations:
  - name: e
    steps: [{notify: [ops]}]
backups:
  - {name: b, service: api, to: [s3], schedule: "@daily", command: {run: x}}
drills:
  - {name: d, backup: c, into: {sqlite: {path: /srv/d.db}}}
maintenance:
  - {name: w, services: [api, web], cron: "@daily", duration: 1h}
status_page: {services: [api, web]}
`,
			want: []string{
				`p.yaml:2:30: services[0].depends_on[0]: unknown service "apx" (did you mean "api"?)`,
				`p.yaml:2:35: services[0].depends_on[1]: unknown service "nothing-like-it" (defined services: "api", "db")`,
				`p.yaml:5:24: monitors[0].service: unknown service "dbb" (did you mean "db"?)`,
				`p.yaml:8:23: escalations[0].steps[0].notify[0]: unknown channel "ops" (no channels are defined)`,
				`p.yaml:10:34: backups[0].to[0]: unknown destination "s3" (no destinations are defined)`,
				`p.yaml:12:23: drills[0].backup: unknown backup "c" (did you mean "b"?)`,
				`p.yaml:14:31: maintenance[0].services[1]: unknown service "web" (defined services: "api", "db")`,
				`p.yaml:15:31: status_page.services[1]: unknown service "web" (defined services: "api", "db")`,
			},
		},
		{
			name: "references into a broken section are not reported again",
			doc:  "services: api\nmonitors:\n  - {name: m, service: api, http: {url: /}}\n",
			want: []string{
				`p.yaml:1:11: services: expected a list, got a string (write one entry per line starting with "- ", or [a, b])`,
			},
		},
		{
			name: "dependency problems",
			doc: `services:
  - {name: a, depends_on: [a, b]}
  - {name: b, depends_on: [c]}
  - {name: c, depends_on: [a]}
  - {name: d, depends_on: [e]}
  - {name: e, depends_on: [d]}
`,
			want: []string{
				`p.yaml:2:28: services[0].depends_on[0]: service "a" depends on itself (remove it from its own depends_on)`,
				`p.yaml:4:28: services[2].depends_on[0]: dependency cycle: "a" -> "b" -> "c" -> "a" (services cannot depend on each other in a circle; remove one of these dependencies)`,
				`p.yaml:6:28: services[4].depends_on[0]: dependency cycle: "d" -> "e" -> "d" (services cannot depend on each other in a circle; remove one of these dependencies)`,
			},
		},
		{
			name: "bad values",
			doc: `server:
  listen: localhost
  log: {level: verbose, format: jsn}
services:
  - name: api
    objectives: {availability: 99.9, rpo: 60, rto: 1h 30m}
  - name: db
    objectives: {availability: "-1%", rpo: "-5m", rto: 5 minutes}
version: 2
`,
			want: []string{
				`p.yaml:2:11: server.listen: invalid listen address "localhost" (host:port with a numeric port, e.g. "127.0.0.1:8080" or ":8080")`,
				`p.yaml:3:16: server.log.level: invalid value "verbose" (one of: debug, info, warn, error)`,
				`p.yaml:3:33: server.log.format: invalid value "jsn" (did you mean "json"?)`,
				`p.yaml:6:32: services[0].objectives.availability: invalid percentage "99.9" (add a percent sign, e.g. "99.9%")`,
				`p.yaml:6:43: services[0].objectives.rpo: invalid duration "60" (add a unit, e.g. "60s"; units: ms, s, m, h, d, w)`,
				`p.yaml:6:52: services[0].objectives.rto: invalid duration "1h 30m" (` + durationHint + `)`,
				`p.yaml:8:32: services[1].objectives.availability: invalid percentage "-1%" (` + percentHint + `)`,
				`p.yaml:8:44: services[1].objectives.rpo: invalid duration "-5m" (a duration cannot be negative)`,
				`p.yaml:8:56: services[1].objectives.rto: invalid duration "5 minutes" (` + durationHint + `)`,
				`p.yaml:9:10: version: unsupported version 2 (this Upkeep reads version 1)`,
			},
		},
		{
			name: "bad public URLs",
			doc:  "server: {public_url: 'ftp://x'}\n",
			want: []string{
				`p.yaml:1:22: server.public_url: invalid public URL "ftp://x": the scheme must be http or https (an absolute http or https URL, e.g. "https://upkeep.example.com")`,
			},
		},
		{
			name: "public URL with a query",
			doc:  "server: {public_url: 'https://x.example/?a=b'}\n",
			want: []string{
				`p.yaml:1:22: server.public_url: invalid public URL "https://x.example/?a=b": a query is not allowed (remove the "?" and what follows)`,
			},
		},
		{
			name: "relative public URL",
			doc:  "server: {public_url: /status}\n",
			want: []string{
				`p.yaml:1:22: server.public_url: invalid public URL "/status": the scheme must be http or https (an absolute http or https URL, e.g. "https://upkeep.example.com")`,
			},
		},
		{
			name: "listen port out of range",
			doc:  "server: {listen: '127.0.0.1:80800'}\n",
			want: []string{
				`p.yaml:1:18: server.listen: invalid listen address "127.0.0.1:80800" (host:port with a numeric port, e.g. "127.0.0.1:8080" or ":8080")`,
			},
		},
		{
			name: "environment problems",
			doc: `server:
  listen: ${LISTEN}
  data_dir: ${1BAD}
  public_url: "${HOST"
services:
  - name: api
    objectives: {rpo: "${RPO}", rto: "${RTO:-5 minutes}", availability: "${AVAIL}"}
`,
			env: map[string]string{"RPO": "soon", "AVAIL": "200%"},
			want: []string{
				`p.yaml:2:11: server.listen: environment variable LISTEN is not set (set it, or give a default: ${LISTEN:-value})`,
				`p.yaml:3:13: server.data_dir: invalid variable reference "${1BAD}" (a variable name is letters, digits and _, not starting with a digit; write $${ for a literal ${)`,
				`p.yaml:4:15: server.public_url: unterminated variable reference "${HOST" (write ${NAME} or ${NAME:-default}; write $${ for a literal ${)`,
				`p.yaml:7:23: services[0].objectives.rpo: invalid duration "${RPO}" (value from the environment) (` + durationHint + `)`,
				`p.yaml:7:38: services[0].objectives.rto: invalid duration "${RTO:-5 minutes}" (` + durationHint + `)`,
				`p.yaml:7:73: services[0].objectives.availability: invalid percentage "${AVAIL}" (value from the environment) (` + percentHint + `)`,
			},
		},
		{
			name: "values from the environment are not shown in other problems",
			doc: `services:
  - name: ${NAME}
  - name: ${NAME}
  - {name: ok, depends_on: ["${DEP}"]}
server: {listen: "${LISTEN}", log: {level: "${LEVEL}"}}
version: ${VERSION}
`,
			env: map[string]string{"NAME": "top secret", "DEP": "hunter2", "LISTEN": "s3cr3t", "LEVEL": "pa55", "VERSION": "7"},
			want: []string{
				`p.yaml:2:11: services[0].name: invalid name "${NAME}" (value from the environment) (` + nameHint + `)`,
				`p.yaml:3:11: services[1].name: invalid name "${NAME}" (value from the environment) (` + nameHint + `)`,
				`p.yaml:3:11: services[1].name: duplicate service name "${NAME}" (value from the environment) (already used at line 2)`,
				`p.yaml:4:29: services[2].depends_on[0]: unknown service "${DEP}" (value from the environment) (defined services: "${NAME}" (value from the environment), "ok")`,
				`p.yaml:5:18: server.listen: invalid listen address "${LISTEN}" (value from the environment) (host:port with a numeric port, e.g. "127.0.0.1:8080" or ":8080")`,
				`p.yaml:5:44: server.log.level: invalid value "${LEVEL}" (value from the environment) (one of: debug, info, warn, error)`,
				`p.yaml:6:10: version: unsupported version "${VERSION}" (value from the environment) (this Upkeep reads version 1)`,
			},
		},
		{
			name: "more than one document",
			doc:  "services: []\n---\nmonitors: []\n---\nagents: []\n",
			want: []string{
				`p.yaml:2:1: more than one YAML document (a policy is a single document; remove the "---" and what follows, or merge it into the first)`,
			},
		},
		{
			name: "syntax error",
			doc:  "services:\n  - name: a\n   title: b\n",
			want: []string{
				`p.yaml:3:4: YAML syntax error: value is not allowed in this context`,
			},
		},
		{
			name: "unclosed flow sequence",
			doc:  "services: [a, b\nmonitors: []\n",
			want: []string{
				`p.yaml:2:1: YAML syntax error: ',' or ']' must be specified`,
			},
		},
		{
			name: "unknown alias and custom tag",
			doc:  "services:\n  - name: *nope\n  - name: !secret x\n",
			want: []string{
				`p.yaml:2:11: services[0].name: unknown alias "*nope" (an alias (*name) refers to an anchor (&name) written before it)`,
				`p.yaml:3:11: services[1].name: unsupported YAML tag "!secret" (only the standard tags (!!str, !!int, ...) are allowed)`,
			},
		},
		{
			name: "bad merge keys",
			doc:  "services:\n  - <<: x\n    name: a\n  - <<: [*nope, y]\n    name: b\n",
			want: []string{
				`p.yaml:2:9: services[0]: a merge key (<<) takes a mapping or a list of mappings, got a string (write "<<: *name" or "<<: [*a, *b]" with anchors (&name) on mappings)`,
				`p.yaml:4:10: services[1]: unknown alias "*nope" (an alias (*name) refers to an anchor (&name) written before it)`,
				`p.yaml:4:17: services[1]: a merge key (<<) takes a mapping or a list of mappings, got a list with a string (write "<<: *name" or "<<: [*a, *b]" with anchors (&name) on mappings)`,
			},
		},
		{
			name: "problems inside merged content",
			doc:  "services:\n  - &a {name: a, objectives: {rpo: forever}}\n  - <<: *a\n    name: b\n",
			want: []string{
				`p.yaml:2:36: services[0].objectives.rpo: invalid duration "forever" (` + durationHint + `)`,
			},
		},
		{
			name: "too deeply nested",
			doc:  "services: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
			want: []string{
				`p.yaml:1:75: YAML syntax error: collections nested more than 64 deep`,
			},
		},
		{
			name: "too deeply nested block sequences",
			doc:  "services:\n" + strings.Repeat("- ", 100) + "x\n",
			want: []string{
				`p.yaml:2:129: YAML syntax error: collections nested more than 64 deep`,
			},
		},
		{
			name: "alias bomb",
			doc: func() string {
				// Each level merges ten copies of the one before: 10^7 mappings once expanded.
				var b strings.Builder
				b.WriteString("x0: &m0 {description: d}\n")
				for i := 1; i <= 7; i++ {
					fmt.Fprintf(&b, "x%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 10), ", "))
				}
				b.WriteString("services:\n  - <<: *m7\n    name: s\n")
				return b.String()
			}(),
			want: func() []string {
				var want []string
				for i := 0; i <= 7; i++ {
					want = append(want, fmt.Sprintf(`p.yaml:%d:1: x%d: unknown key "x%d" (valid keys: version, server, services, monitors, channels, escalations, maintenance, status_page, destinations, backups, drills, agents)`, i+1, i, i))
					if i == 0 {
						want = append(want, `p.yaml:1:9: the document is too large once its aliases are expanded (use fewer nested aliases (*name))`)
					}
				}
				return want
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.doc), env(tt.env))
			if err == nil {
				t.Fatalf("no problems found; policy %+v", p)
			}
			if p != nil {
				t.Errorf("a policy was returned with problems")
			}
			got := problemStrings(t, err)
			if !slicesEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func slicesEqual(a, b []string) bool { return reflect.DeepEqual(a, b) || len(a) == 0 && len(b) == 0 }

// TestAcceptance is the case from issue 2: five different problems in one file, all reported
// with their positions.
func TestAcceptance(t *testing.T) {
	doc := `server:
  listen: 127.0.0.1:8080
  colour: blue
services:
  - name: api
    objectives:
      availability: 101%
      rpo: 5 minutes
  - name: api
    objectives:
      rto: ${RTO}
`
	_, err := Parse("upkeep.yaml", []byte(doc), env(nil))
	got := problemStrings(t, err)
	want := []string{
		`upkeep.yaml:3:3: server.colour: unknown key "colour" (valid keys: listen, public_url, data_dir, log, ping_key, metrics_auth, history)`,
		`upkeep.yaml:7:21: services[0].objectives.availability: invalid percentage "101%" (a percentage between 0% and 100%, e.g. "99.9%")`,
		`upkeep.yaml:8:12: services[0].objectives.rpo: invalid duration "5 minutes" (e.g. "90s", "15m", "1h30m", "14d"; units: ms, s, m, h, d, w)`,
		`upkeep.yaml:9:11: services[1].name: duplicate service name "api" (already used at line 5)`,
		`upkeep.yaml:11:12: services[1].objectives.rto: environment variable RTO is not set (set it, or give a default: ${RTO:-value})`,
	}
	if !slicesEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if msg := err.Error(); msg != strings.Join(want, "\n") {
		t.Errorf("Error() =\n%s", msg)
	}
}

// TestEnvironmentValuesNeverShown parses documents whose every variable holds a secret and
// checks that no problem shows it.
func TestEnvironmentValuesNeverShown(t *testing.T) {
	const secret = "Sup3rSecret"
	getenv := func(string) (string, bool) { return secret, true }
	docs := []string{
		"services:\n  - name: ${A}\n    objectives: {rpo: '${A}', rto: 'x${B}', availability: '${C}'}\n    depends_on: [$${X}, '${D}']\n",
		"services:\n  - name: ${A}\n  - name: ${A}\n  - name: b\n    depends_on: [${A}x]\nmonitors: [{name: m, service: '${S}', http: {url: /}}]\n",
		"server: {listen: '${L}', public_url: 'https://${H}?q', data_dir: '${D}', log: {level: '${L}', format: '${F}'}}\nversion: ${V}\n",
		"channels: {a: {}}\nescalations: [{name: e, steps: [{after: '${T}', notify: ['${C}']}]}]\ndrills: [{name: d, backup: '${B}'}]\n",
	}
	for _, doc := range docs {
		_, err := Parse("p.yaml", []byte(doc), getenv)
		if err == nil {
			t.Fatalf("expected problems for %q", doc)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("a problem shows an environment value:\n%v", err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "upkeep.yaml")
	if err := os.WriteFile(path, []byte("services:\n  - name: api\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if p.File != path || len(p.Services) != 1 {
		t.Errorf("got %+v", p)
	}
	if got, want := p.Summary(), path+": valid policy: 1 service"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"), os.LookupEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
	if want := "reading policy: open " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	var ps Problems
	if errors.As(err, &ps) {
		t.Errorf("a read error is not Problems")
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("services: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad, nil)
	got := problemStrings(t, err)
	if want := bad + `:1:11: services: expected a list, got a mapping (write one entry per line starting with "- ", or [a, b])`; len(got) != 1 || got[0] != want {
		t.Errorf("problems %q, want %q", got, want)
	}
}

func TestQuickStart(t *testing.T) {
	p, err := QuickStart(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.File != QuickStartName {
		t.Errorf("file = %q", p.File)
	}
	if len(p.Services) != 1 || p.Services[0].Name != "upkeep" || p.Services[0].Title != "Upkeep itself" || p.Services[0].Objectives.Availability != 99.9 {
		t.Errorf("services = %+v", p.Services)
	}
	if len(p.Monitors) != 1 || p.Monitors[0].Name != "upkeep-self" || p.Monitors[0].Service != "upkeep" || p.Monitors[0].Kind() != KindHTTP {
		t.Errorf("monitors = %+v", p.Monitors)
	}
	if p.Server.Listen != "127.0.0.1:8080" || p.Server.PublicURL != "http://127.0.0.1:8080" || p.Server.DataDir != "./upkeep-data" {
		t.Errorf("server = %+v", p.Server)
	}
	if want := "(built-in quick-start policy): valid policy: 1 service, 1 monitor"; p.Summary() != want {
		t.Errorf("summary = %q", p.Summary())
	}
}

func TestProblems(t *testing.T) {
	ps := Problems{
		{File: "f", Line: 3, Col: 1, Path: "b", Message: "third"},
		{File: "f", Line: 1, Col: 9, Path: "a", Message: "second", Hint: "do this"},
		{File: "f", Line: 1, Col: 2, Message: "first"},
	}
	want := "f:1:2: first\nf:1:9: a: second (do this)\nf:3:1: b: third"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if ps[0].Message != "third" {
		t.Errorf("Error() reordered the problems it was called on")
	}
	var err error = ps
	var back Problems
	if !errors.As(err, &back) || len(back) != 3 {
		t.Errorf("errors.As failed")
	}
}

// TestTypesAreTagged checks that every field reachable from Policy is in the file (has a yaml
// tag) and is documented for the JSON Schema, so a field added later cannot be forgotten.
func TestTypesAreTagged(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeFor[Policy]().PkgPath() {
			return
		}
		seen[typ] = true
		if reflect.PointerTo(typ).Implements(textUnmarshalerType) {
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if typ == reflect.TypeFor[Policy]() && (f.Name == "File" || f.Name == "Source") || typ == reflect.TypeFor[Monitor]() && (f.Name == "Backup" || f.Name == "Drill") {
				if f.Tag.Get("yaml") != "-" {
					t.Errorf("Policy.%s must be tagged yaml:\"-\"", f.Name)
				}
				continue
			}
			key := f.Tag.Get("yaml")
			if key == "" || key == "-" {
				t.Errorf("%s.%s has no yaml key", typ.Name(), f.Name)
			}
			if key != strings.ToLower(key) {
				t.Errorf("%s.%s: yaml key %q is not snake_case", typ.Name(), f.Name, key)
			}
			if !strings.Contains(f.Tag.Get("jsonschema"), "description=") {
				t.Errorf("%s.%s has no jsonschema description", typ.Name(), f.Name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Policy]())
}

// TestDefaultsParse checks that every default in a tag is a valid value of its field.
func TestDefaultsParse(t *testing.T) {
	if err := newDecoder("", nil).applyDefaults(reflect.ValueOf(&Policy{StatusPage: &StatusPage{}}).Elem()); err != nil {
		t.Fatal(err)
	}
}

func TestTooLarge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.yaml")
	data := []byte("services: []\n" + strings.Repeat("# padding\n", maxSize/10+1))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := Load(path, nil); return err }(),
		func() error { _, err := Parse(path, data, nil); return err }(),
	} {
		got := problemStrings(t, err)
		if want := path + ":1:1: the policy is larger than 4 MiB"; len(got) != 1 || got[0] != want {
			t.Errorf("problems %q, want %q", got, want)
		}
	}
}
