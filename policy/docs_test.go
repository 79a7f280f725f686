package policy

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestDocsExamples parses every YAML example in docs/policy.md: the reference must not show a
// policy that Upkeep rejects.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{
		"PUBLIC_HOST": "status.example.com",
		// Secrets of the monitors examples.
		"STATUS_TOKEN":     "t0ken",
		"PROBE_PASSWORD":   "pr0be",
		"PRIMARY_DSN":      "postgres://monitor:pw@db.internal:5432/app",
		"REPLICA_DSN":      "host=replica.internal user=monitor password=pw dbname=app",
		"SHOP_DB_PASSWORD": "pw",
		// Secrets of the channels examples.
		"SMTP_PASSWORD":         "smtp-pw",
		"TWILIO_AUTH_TOKEN":     "twilio-token",
		"SLACK_WEBHOOK_URL":     "https://hooks.slack.com/services/T0/B0/x",
		"PAGERDUTY_ROUTING_KEY": "0123456789abcdef0123456789abcdef",
		// Secrets of the backups examples.
		"BACKUP_PASSWORD":       "b4ckup",
		"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "s3cret",
		"APP_DB_DSN":            "postgres://backup:pw@db.internal/app",
		// Keys of the status page export example.
		"STATUS_S3_KEY_ID": "AKIASTATUS",
		"STATUS_S3_SECRET": "st4tus",
		// Secrets of the drills examples.
		"SCRATCH_DSN": "postgres://drill:pw@scratch.internal:5432/postgres",
	})
	blocks := yamlBlocks(string(doc))
	if len(blocks) < 10 {
		t.Fatalf("found only %d yaml blocks", len(blocks))
	}
	// The full example starts with the editor modeline and sets a version.
	isFull := func(b string) bool {
		return strings.HasPrefix(b, "# yaml-language-server") && strings.Contains(b, "\nversion: 1\n")
	}
	full := 0
	for i, b := range blocks {
		_, err := Parse("docs/policy.md example", []byte(b), getenv)
		if err == nil {
			if isFull(b) {
				full++
			}
			continue
		}
		// An example of one section may refer to names defined in another.
		ps, ok := err.(Problems)
		if !ok {
			t.Fatal(err)
		}
		for _, p := range ps {
			if !isFull(b) && strings.HasPrefix(p.Message, "unknown ") && !strings.HasPrefix(p.Message, "unknown key") {
				continue
			}
			t.Errorf("example %d:\n%s\nproblem: %s", i+1, b, p)
		}
	}
	if full != 1 {
		t.Errorf("found %d valid full examples, want 1", full)
	}

	// The last block is the quick-start policy, without its comments.
	last, err := Parse("docs", []byte(blocks[len(blocks)-1]), getenv)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := QuickStart(getenv)
	if err != nil {
		t.Fatal(err)
	}
	last.File, last.Source, qs.File, qs.Source = "", nil, "", nil
	if !reflect.DeepEqual(last, qs) {
		t.Errorf("docs/policy.md shows a quick-start policy different from quickstart.yaml:\n%+v\n%+v", last, qs)
	}
}

// yamlBlocks returns the contents of the ```yaml blocks of a Markdown text.
func yamlBlocks(md string) []string {
	var blocks []string
	var cur *strings.Builder
	for line := range strings.Lines(md) {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return blocks
}
