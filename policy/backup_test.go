package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBackupValid(t *testing.T) {
	doc := `
services: [{name: db}]
destinations:
  onsite: {path: /var/backups/upkeep, password: "${BACKUP_PASSWORD}"}
  offsite:
    s3: {endpoint: "http://127.0.0.1:7070", bucket: acme-backups, access_key_id: "${KEY}", secret_access_key: "${SECRET}", path_style: true}
    password_file: /etc/upkeep/offsite.pass
  vault:
    sftp: {host: vault.example.net, user: backup, key_file: /k, known_hosts: /kh, path: backups}
    password: "${BACKUP_PASSWORD}"
backups:
  - name: app-db
    service: db
    postgres: {dsn: "${DSN}", exclude: [scratch]}
    schedule: "0 6 * * *"
    tz: Europe/Berlin
    to: [onsite, offsite, vault]
    keep: {within: 14d, daily: 30}
    hooks: {before: [app, maintenance, "on"], after: "app maintenance off"}
    catch_up: false
  - name: export
    command: {run: "exporter --all | gzip"}
    schedule: "@hourly"
    to: [onsite]
`
	p, err := Parse("t.yaml", []byte(doc), env(map[string]string{"BACKUP_PASSWORD": "pw", "KEY": "k", "SECRET": "s", "DSN": "postgres:///app"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Summary(); got != "t.yaml: valid policy: 1 service, 3 destinations, 2 backups" {
		t.Errorf("summary %q", got)
	}
	if p.Destinations["onsite"].Kind() != DestinationPath || p.Destinations["offsite"].Kind() != DestinationS3 || p.Destinations["vault"].Kind() != DestinationSFTP {
		t.Errorf("kinds: %+v", p.Destinations)
	}
	if p.Destinations["onsite"].Password.Reveal() != "pw" || p.Destinations["vault"].SFTP.Port != 22 {
		t.Errorf("destinations %+v", p.Destinations)
	}
	b := p.Backups[0]
	if b.Source() != SourcePostgres || b.CatchUpEnabled() || b.Timeout.Duration != 6*time.Hour || b.Grace.Duration != time.Hour ||
		b.Keep.Within.Duration != 14*24*time.Hour || b.Keep.Daily != 30 || !b.Keep.Any() {
		t.Errorf("backup %+v", b)
	}
	if !reflect.DeepEqual(b.Hooks.Before.Args(), []string{"app", "maintenance", "on"}) ||
		!reflect.DeepEqual(b.Hooks.After.Args(), []string{"/bin/sh", "-c", "app maintenance off"}) {
		t.Errorf("hooks %+v", b.Hooks)
	}
	e := p.Backups[1]
	if e.Source() != SourceCommand || e.Command.Name != "stdout" || e.Command.Run.Shell != "exporter --all | gzip" || !e.CatchUpEnabled() || e.TZ != "UTC" || e.Keep.Any() {
		t.Errorf("export %+v", e)
	}
	// Every backup is a monitor of kind backup, of its service.
	m := p.Monitor("app-db")
	if m == nil || m.Kind() != KindBackup || !m.Passive() || m.Service != "db" || m.Backup.Backup != "app-db" {
		t.Fatalf("monitor %+v", m)
	}
	if len(p.Monitors) != 2 {
		t.Errorf("monitors %d", len(p.Monitors))
	}
}

func TestBackupInvalid(t *testing.T) {
	const dst = "destinations: {d: {path: /b, password_file: /p}}\n"
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"no kind", "destinations:\n  d: {password_file: /p}\n",
			[]string{`t.yaml:2:6: destinations.d: the destination has no kind (add one of: path, s3, sftp)`}},
		{"two kinds", "destinations:\n  d: {path: /b, sftp: {host: h, user: u, key_file: /k, known_hosts: /h, path: p}, password_file: /p}\n",
			[]string{`t.yaml:2:23: destinations.d.sftp: a destination has exactly one kind, this one has path and sftp (split it into one destination per kind)`}},
		{"no password", "destinations:\n  d: {path: /b}\n",
			[]string{`t.yaml:2:6: destinations.d: the destination has no repository password`}},
		{"literal password", "destinations:\n  d: {path: /b, password: hunter2}\n",
			[]string{`t.yaml:2:27: destinations.d.password: the repository password is written literally in the policy (take it from the environment, password: "${BACKUP_PASSWORD}", or use password_file)`}},
		{"password and file", "destinations:\n  d: {path: /b, password: \"${PW}\", password_file: /p}\n",
			[]string{`destinations.d.password_file: a destination has a password or a password_file, not both`}},
		{"relative path", "destinations:\n  d: {path: backups, password_file: pass}\n",
			[]string{`destinations.d.path: "backups" is not an absolute path`, `destinations.d.password_file: "pass" is not an absolute path`}},
		{"s3 problems", "destinations:\n  d: {s3: {endpoint: \"http://s3.example.com\", bucket: Bad_Bucket, secret_access_key: plain}, password_file: /p}\n",
			[]string{`destinations.d.s3.endpoint: endpoint "http://s3.example.com" is not encrypted`, `destinations.d.s3.bucket: invalid bucket name "Bad_Bucket"`,
				`destinations.d.s3.secret_access_key: secret_access_key needs access_key_id`, `destinations.d.s3.secret_access_key: the secret access key is written literally`}},
		{"s3 endpoint with path", "destinations:\n  d: {s3: {endpoint: \"https://s3.example.com/bucket\", bucket: b1b}, password_file: /p}\n",
			[]string{`endpoint "https://s3.example.com/bucket" has a path or query`}},
		{"s3 no bucket", "destinations:\n  d: {s3: {}, password_file: /p}\n",
			[]string{`destinations.d.s3: missing required key "bucket"`}},
		{"sftp problems", "destinations:\n  d: {sftp: {host: \"bad host\", port: 70000, user: u, key_file: k, known_hosts: /h, path: p}, password_file: /p}\n",
			[]string{`destinations.d.sftp.host: invalid host "bad host"`, `destinations.d.sftp.port: port 70000 is out of range`, `destinations.d.sftp.key_file: "k" is not an absolute path`}},
		{"no source", dst + "backups: [{name: b, schedule: \"@daily\", to: [d]}]\n",
			[]string{`t.yaml:2:11: backups[0]: the backup has no source (add one of: files, postgres, mysql, sqlite, command)`}},
		{"two sources", dst + "backups: [{name: b, sqlite: {path: /a.db}, command: {run: x}, schedule: \"@daily\", to: [d]}]\n",
			[]string{`backups[0].command: a backup has exactly one source, this one has sqlite and command`}},
		{"required", dst + "backups: [{name: b, sqlite: {path: /a.db}}]\n",
			[]string{`backups[0]: missing required key "schedule"`, `backups[0]: missing required key "to"`}},
		{"bad schedule", dst + "backups: [{name: b, sqlite: {path: /a.db}, schedule: \"0 25 * * *\", to: [d]}]\n",
			[]string{`backups[0].schedule: invalid cron expression "0 25 * * *": hour: 25 is out of range (0 to 23)`}},
		{"bad tz", dst + "backups: [{name: b, sqlite: {path: /a.db}, schedule: \"@daily\", tz: Mars/Base, to: [d]}]\n",
			[]string{`backups[0].tz: unknown time zone "Mars/Base"`}},
		{"destinations", dst + "backups: [{name: b, sqlite: {path: /a.db}, schedule: \"@daily\", to: [d, d, e]}]\n",
			[]string{`backups[0].to[1]: destination "d" is listed twice`, `backups[0].to[2]: unknown destination "e" (did you mean "d"?)`}},
		{"no destinations", dst + "backups: [{name: b, sqlite: {path: /a.db}, schedule: \"@daily\", to: []}]\n",
			[]string{`backups[0].to: no destinations`}},
		{"sources", dst + "backups:\n  - {name: b, files: {paths: [rel]}, schedule: \"@daily\", to: [d]}\n  - {name: c, sqlite: {path: a.db}, schedule: \"@daily\", to: [d]}\n  - {name: e, command: {run: [], name: a/b}, schedule: \"@daily\", to: [d]}\n",
			[]string{`backups[0].files.paths[0]: "rel" is not an absolute path`, `backups[1].sqlite.path: "a.db" is not an absolute path`,
				`backups[2].command.run: the command is empty`, `backups[2].command.name: invalid file name "a/b"`}},
		{"timing", dst + "backups: [{name: b, sqlite: {path: /a.db}, schedule: \"@daily\", to: [d], timeout: 0s, grace: 0s, verify: {schedule: nope}, maintenance: {schedule: \"61 * * * *\"}}]\n",
			[]string{`backups[0].timeout: timeout "0s" is too short`, `backups[0].grace: grace "0s" is too short`,
				`backups[0].verify.schedule: invalid cron expression "nope"`, `backups[0].maintenance.schedule: invalid cron expression "61 * * * *"`}},
		{"keep", dst + "backups: [{name: b, sqlite: {path: /a.db}, schedule: \"@daily\", to: [d], keep: {daily: x, within: forever, last: -2}}]\n",
			[]string{`backups[0].keep.daily: expected a whole number`, `backups[0].keep.within: invalid duration "forever"`, `backups[0].keep.last: last -2 is negative`}},
		{"name of a monitor", dst + "monitors: [{name: b, heartbeat: {period: 1d}}]\nbackups: [{name: b, sqlite: {path: /a.db}, schedule: \"@daily\", to: [d]}]\n",
			[]string{`t.yaml:3:18: backups[0].name: backup "b" has the name of a monitor (every backup is also a monitor of its name; rename the backup or the monitor at line 2)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.doc), env(map[string]string{"PW": "x"}))
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

// TestBackupSecretsNotShown: the values of passwords and DSNs never appear in problems.
func TestBackupSecretsNotShown(t *testing.T) {
	doc := "destinations:\n  d: {path: /b, password: \"${PW}\"}\nbackups: [{name: b, postgres: {dsn: \"${DSN}\"}, schedule: \"@daily\", to: [d], tz: \"${PW}\"}]\n"
	_, err := Parse("t.yaml", []byte(doc), env(map[string]string{"PW": "topsecret", "DSN": "postgres://u:topsecret@h/db"}))
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("err = %v", err)
	}
}
