package policy

import (
	"strings"
	"testing"
	"time"
)

const drillPrelude = `
services: [{name: app, objectives: {rpo: 1h, rto: 15m}}]
destinations: {onsite: {path: /b1, password_file: /p}, offsite: {path: /b2, password_file: /p}}
backups: [{name: db, service: app, postgres: {dsn: "postgres://localhost/app"}, schedule: "@daily", to: [onsite, offsite]},
  {name: tree, service: app, files: {paths: [/srv/app]}, schedule: "@daily", to: [onsite]},
  {name: lite, sqlite: {path: /srv/app.db}, schedule: "@daily", to: [onsite]}, {name: my, mysql: {dsn: "root@tcp(x)/"}, schedule: "@daily", to: [onsite]}]
drills:
`

func TestDrillValid(t *testing.T) {
	doc := drillPrelude + `
  - name: pg
    backup: db
    schedule: "0 7 * * *"
    tz: Europe/Berlin
    destination: offsite
    snapshot: "-1h"
    into: {postgres: {dsn: "postgres://localhost/postgres", database: app_drill, scratch: true}}
    verify: [{sql: "select count(*) > 0 from orders"}, {command: "true"}]
  - name: tree-drill
    backup: tree
    into: {path: {dir: /srv/drill, wipe: true}}
    verify:
      - files: {}
      - files: {sample: 100%}
      - http: {start: "./app", check_url: "http://127.0.0.1:8081/"}
    max_rto: 1m
    max_rpo: 2d
`
	p, err := Parse("d.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	pg, tree := p.Drills[0], p.Drills[1]
	if pg.Into.Kind() != TargetPostgres || pg.Snapshot.Before != time.Hour || pg.Snapshot.String() != "-1h" || pg.Timeout.Duration != DefaultDrillTimeout {
		t.Errorf("pg = %+v", pg)
	}
	if pg.MaxRTO.Duration != 15*time.Minute || pg.MaxRPO.Duration != time.Hour {
		t.Errorf("objectives of the service are the defaults: rto %s rpo %s", pg.MaxRTO, pg.MaxRPO)
	}
	if s, err := pg.Cron(); err != nil || s == nil {
		t.Errorf("cron: %v", err)
	}
	if tree.MaxRTO.Duration != time.Minute || tree.MaxRPO.Duration != 48*time.Hour || tree.Snapshot.Before != 0 {
		t.Errorf("tree = %+v", tree)
	}
	if tree.Verify[0].Files.Sample != DefaultFilesSample || tree.Verify[1].Files.Sample != 100 {
		t.Errorf("samples %v %v", tree.Verify[0].Files.Sample, tree.Verify[1].Files.Sample)
	}
	if h := tree.Verify[2].HTTP; h.ReadyURL != h.CheckURL || h.ExpectStatus != 200 || h.ReadyWithin.Duration != time.Minute {
		t.Errorf("http defaults %+v", h)
	}
	if s, err := tree.Cron(); err != nil || s != nil {
		t.Errorf("no schedule: %v %v", s, err)
	}
}

func TestDrillInvalid(t *testing.T) {
	for _, tc := range []struct{ name, drill, want string }{
		{"not scratch", `{name: d, backup: db, into: {postgres: {dsn: "postgres://x/postgres", database: app}}}`,
			`drills[0].into.postgres.scratch: database "app" is not marked as scratch: the drill drops and recreates it (add scratch: true`},
		{"mysql not scratch", `{name: d, backup: my, into: {mysql: {dsn: "root@tcp(x)/", database: app}}}`,
			`drills[0].into.mysql.scratch: database "app" is not marked as scratch`},
		{"system db", `{name: d, backup: db, into: {postgres: {dsn: "postgres://x/", database: postgres, scratch: true}}}`,
			`drills[0].into.postgres.database: "postgres" is a system database`},
		{"no wipe", `{name: d, backup: tree, into: {path: {dir: /srv/x}}}`,
			`drills[0].into.path.wipe: the drill deletes everything in "/srv/x" before restoring, but the policy does not say it may (add wipe: true`},
		{"relative", `{name: d, backup: tree, into: {path: {dir: x, wipe: true}}}`, `drills[0].into.path.dir: "x" is not an absolute path`},
		{"two targets", `{name: d, backup: lite, into: {path: {dir: /x, wipe: true}, sqlite: {path: /y}}}`,
			`drills[0].into.sqlite: a drill restores into exactly one target, this one has path and sqlite`},
		{"no target", `{name: d, backup: db, into: {}}`, `drills[0].into: the drill has no target`},
		{"missing into", `{name: d, backup: db}`, `drills[0]: missing required key "into"`},
		{"destination not of backup", `{name: d, backup: lite, destination: elsewhere, into: {sqlite: {path: /y}}}`, `drills[0].destination: unknown destination "elsewhere"`},
		{"snapshot", `{name: d, backup: lite, snapshot: yesterday, into: {sqlite: {path: /y}}}`, `drills[0].snapshot: invalid snapshot "yesterday"`},
		{"cron", `{name: d, backup: lite, schedule: "7 o'clock", into: {sqlite: {path: /y}}}`, `drills[0].schedule: invalid cron expression`},
		{"tz", `{name: d, backup: lite, schedule: "@daily", tz: Mars/Base, into: {sqlite: {path: /y}}}`, `drills[0].tz: unknown time zone "Mars/Base"`},
		{"sql on files", `{name: d, backup: tree, into: {path: {dir: /x, wipe: true}}, verify: [{sql: "select 1"}]}`,
			`drills[0].verify[0].sql: an sql check needs a database target, this drill restores into path`},
		{"files on db", `{name: d, backup: lite, into: {sqlite: {path: /y}}, verify: [{files: {}}]}`,
			`drills[0].verify[0].files: a files check needs a path or command target`},
		{"two checks", `{name: d, backup: lite, into: {sqlite: {path: /y}}, verify: [{sql: "select 1", command: "true"}]}`,
			`drills[0].verify[0].command: a verify step has exactly one check, this one has sql and command`},
		{"empty step", `{name: d, backup: lite, into: {sqlite: {path: /y}}, verify: [{}]}`, `drills[0].verify[0]: the verify step has no check`},
		{"zero sample", `{name: d, backup: tree, into: {path: {dir: /x, wipe: true}}, verify: [{files: {sample: 0%}}]}`, `drills[0].verify[0].files.sample: the sample is empty`},
		{"freshness on files", `{name: d, backup: tree, freshness_sql: "select now()", into: {path: {dir: /x, wipe: true}}}`, `drills[0].freshness_sql: freshness_sql needs a database target`},
		{"grace", `{name: d, backup: lite, schedule: "@daily", grace: 0s, into: {sqlite: {path: /y}}}`, `drills[0].grace: grace "0s" is too short`},
		{"name of a backup", `{name: lite, backup: lite, into: {sqlite: {path: /y}}}`,
			`drills[0].name: drill "lite" has the name of a monitor or backup (every drill is also a monitor of its name; rename the drill or the backup "lite")`},
		{"http url", `{name: d, backup: lite, into: {sqlite: {path: /y}}, verify: [{http: {start: ./app, check_url: "localhost:80"}}]}`,
			`drills[0].verify[0].http.check_url: "localhost:80" is not an http or https URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("d.yaml", []byte(drillPrelude+"  - "+tc.drill+"\n"), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestDrillTargetSuitsBackup(t *testing.T) {
	for _, tc := range []struct{ drill, want string }{
		{`{name: d, backup: db, into: {sqlite: {path: /y}}}`,
			`d.yaml:8:42: drills[0].into.sqlite: backup "db" is a postgres backup and cannot be restored into a sqlite target (restore it into one of: postgres, command)`},
		{`{name: d, backup: tree, into: {mysql: {dsn: "root@tcp(x)/", database: t, scratch: true}}}`,
			`drills[0].into.mysql: backup "tree" is a files backup and cannot be restored into a mysql target (restore it into one of: path, command)`},
		{`{name: d, backup: my, into: {postgres: {dsn: "postgres://x/postgres", database: t, scratch: true}}}`,
			`drills[0].into.postgres: backup "my" is a mysql backup and cannot be restored into a postgres target`},
	} {
		_, err := Parse("d.yaml", []byte(drillPrelude+"  - "+tc.drill+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
	for _, ok := range []string{
		`{name: d, backup: db, into: {command: {run: "true"}}}`,
		`{name: d, backup: tree, into: {command: {run: "true"}}}`,
		`{name: d, backup: lite, into: {sqlite: {path: /y}}}`,
	} {
		if _, err := Parse("d.yaml", []byte(drillPrelude+"  - "+ok+"\n"), nil); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestDrillDestinationOfBackup(t *testing.T) {
	doc := strings.Replace(drillPrelude, "to: [onsite, offsite]", "to: [onsite]", 1) +
		`  - {name: d, backup: db, destination: offsite, into: {command: {run: "true"}}}` + "\n"
	_, err := Parse("d.yaml", []byte(doc), nil)
	if err == nil || !strings.Contains(err.Error(), `d.yaml:8:40: drills[0].destination: backup "db" is not written to destination "offsite" (one of: onsite)`) {
		t.Errorf("got %v", err)
	}
}

// TestDrillMonitor: every drill is a monitor of kind drill, of its backup's service, with the
// defaults of grace (1h) and catch_up (true).
func TestDrillMonitor(t *testing.T) {
	p, err := Parse("d.yaml", []byte(drillPrelude+"  - {name: d, backup: db, schedule: \"@daily\", into: {postgres: {dsn: \"postgres://x/\", database: s, scratch: true}}}\n"+
		"  - {name: e, backup: db, grace: 10m, catch_up: false, into: {postgres: {dsn: \"postgres://x/\", database: s, scratch: true}}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []Monitor
	for _, m := range p.Monitors {
		if m.Drill != nil {
			got = append(got, m)
		}
	}
	if len(got) != 2 || got[0].Name != "d" || got[0].Kind() != KindDrill || got[0].Service != "app" || !got[0].Passive() || got[0].Drill.Drill != "d" {
		t.Fatalf("drill monitors: %+v", got)
	}
	if d := p.Drills[0]; d.Grace.Duration != time.Hour || !d.CatchUpEnabled() {
		t.Errorf("defaults: grace %s, catch_up %v", d.Grace, d.CatchUpEnabled())
	}
	if e := p.Drills[1]; e.Grace.Duration != 10*time.Minute || e.CatchUpEnabled() {
		t.Errorf("set: grace %s, catch_up %v", e.Grace, e.CatchUpEnabled())
	}
	if s := p.Summary(); !strings.Contains(s, "2 drills") || strings.Contains(s, "monitor") {
		t.Errorf("summary counts the drill monitors as written monitors: %s", s)
	}
}
