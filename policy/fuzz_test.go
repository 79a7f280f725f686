package policy

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary documents to the loader: it must never panic, must place every
// problem at a real position with a message, and must never show an environment value.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"# comment only\n",
		quickStart,
		"services:\n  - name: api\n    objectives: {availability: 99.9%, rpo: 1h, rto: 15m}\n    depends_on: [db]\n  - name: db\n",
		"server: {listen: '0.0.0.0:80', public_url: 'https://x.example/a/', data_dir: /d, log: {level: warn, format: json}}\n",
		"services:\n  - &b {name: a, objectives: &o {rpo: 1h}}\n  - <<: *b\n    name: c\n    objectives: {<<: *o, rto: 2h}\n",
		"channels: {ops: {}}\nescalations: [{name: e, steps: [{after: 3m, notify: [ops]}]}]\n",
		"destinations: {d: {}}\nbackups: [{name: b, service: s, to: [d]}]\ndrills: [{name: x, backup: b, into: {path: {dir: /d, wipe: true}}}]\nservices: [{name: s}]\n",
		"maintenance: [{name: m, services: [s], start: \"2026-12-01 02:00\", end: \"2026-12-01 04:00\"}]\nstatus_page: {title: T, services: [s]}\nagents: [{name: eu}]\nservices: [{name: s}]\n",
		"maintenance:\n  - {name: w, title: T, monitors: [m], cron: \"0 3 * * 0\", duration: 1h, tz: Europe/Berlin, notify: [c], notify_before: 0s}\n  - {name: x, services: [s], start: \"2026-12-01T02:00:00Z\", end: \"2026-12-01 01:00\", tz: Asia/Kolkata}\nservices: [{name: s}]\nmonitors: [{name: m, service: s, http: {url: /}}]\nchannels: {c: {ntfy: {topic: t}}}\n",
		"server:\n  listen: ${LISTEN}\n  data_dir: ${DATA:-/x}\n  public_url: $${LITERAL}\n",
		"server:\n  colour: blue\nservices:\n  - name: api\n    objectives: {availability: 101%, rpo: 5 minutes}\n  - name: api\n    objectives: {rto: '${RTO}'}\n",
		"services: [{name: a, depends_on: [b]}, {name: b, depends_on: [a]}]\n",
		"a: 1\n---\nb: 2\n",
		"services: [a, b\n",
		"services:\n  - name: *nope\n  - name: !tag x\n  - <<: 5\n",
		"version: 2\nservices: {}\nmonitors: x\n",
		"- a\n- b\n",
		"? [a]\n: b\n",
		"services:\n  - name: |\n      x\n    title: >-\n      y\n",
		"services: " + strings.Repeat("[", 70) + "\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	const secret = "S3cr3tValue"
	getenv := func(name string) (string, bool) {
		if strings.HasPrefix(name, "UNSET") {
			return "", false
		}
		return secret, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data, getenv)
		if err == nil {
			if p == nil {
				t.Fatal("nil policy without problems")
			}
			_ = p.Summary()
			return
		}
		if p != nil {
			t.Fatal("policy returned with problems")
		}
		ps, ok := err.(Problems)
		if !ok {
			t.Fatalf("error %T is not Problems: %v", err, err)
		}
		if len(ps) == 0 {
			t.Fatal("empty Problems returned as an error")
		}
		showsSecret := !strings.Contains(string(data), secret)
		for _, pr := range ps {
			if pr.Line <= 0 || pr.Col <= 0 || pr.Message == "" || pr.File != "fuzz.yaml" {
				t.Fatalf("bad problem %+v", pr)
			}
			if s := pr.String(); strings.ContainsAny(s, "\n\r") || len(s) > 2000 {
				t.Fatalf("problem is not one short line: %q", s)
			}
			if showsSecret && (strings.Contains(pr.Message, secret) || strings.Contains(pr.Hint, secret) || strings.Contains(pr.Path, secret)) {
				t.Fatalf("problem shows an environment value: %s", pr)
			}
		}
	})
}
