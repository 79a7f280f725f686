package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/policy.schema.json from the Go types")

const schemaFile = "../docs/policy.schema.json"

// TestSchemaUpToDate fails when docs/policy.schema.json is not what JSONSchema generates.
func TestSchemaUpToDate(t *testing.T) {
	want, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is missing or stale (%v); refresh it with:\n\tgo test ./policy -run TestSchemaUpToDate -update", filepath.Clean(schemaFile), err)
	}
}

func TestSchemaContent(t *testing.T) {
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
		Defs                 map[string]struct {
			Type                 string `json:"type"`
			AdditionalProperties *bool  `json:"additionalProperties"`
			Pattern              string `json:"pattern"`
			Properties           map[string]struct {
				Pattern string `json:"pattern"`
			} `json:"properties"`
			Required []string `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"version", "server", "services", "monitors", "channels", "escalations", "maintenance", "status_page", "destinations", "backups", "drills", "agents"} {
		if _, ok := s.Properties[key]; !ok {
			t.Errorf("top-level key %q missing", key)
		}
	}
	if len(s.Properties) != 12 {
		t.Errorf("top level has %d keys", len(s.Properties))
	}
	if s.AdditionalProperties == nil || *s.AdditionalProperties {
		t.Errorf("top level allows additional properties")
	}
	for name, def := range s.Defs {
		if def.Type == "object" && (def.AdditionalProperties == nil || *def.AdditionalProperties) {
			t.Errorf("%s allows additional properties", name)
		}
	}
	if got := s.Defs["Service"].Properties["name"].Pattern; got != namePattern {
		t.Errorf("service name pattern = %q", got)
	}
	if got := s.Defs["Drill"].Required; len(got) != 3 {
		t.Errorf("drill required = %v", got)
	}
	// The patterns of Duration and Percent accept what the parsers accept.
	durRE := regexp.MustCompile(s.Defs["Duration"].Pattern)
	for _, v := range []string{"90s", "1h30m", "1.5h", "14d", "2w", "250ms", "${RPO}"} {
		if _, err := ParseDuration(v); err != nil && v[0] != '$' || !durRE.MatchString(v) {
			t.Errorf("duration %q: parser %v, pattern %v", v, err, durRE.MatchString(v))
		}
	}
	for _, v := range []string{"60", "5 minutes", "-5m"} {
		if durRE.MatchString(v) {
			t.Errorf("duration pattern matches %q", v)
		}
	}
	pctRE := regexp.MustCompile(s.Defs["Percent"].Pattern)
	for _, v := range []string{"99.9%", "100%", "0%", "${AVAILABILITY}"} {
		if !pctRE.MatchString(v) {
			t.Errorf("percent pattern does not match %q", v)
		}
	}
	for _, v := range []string{"101%", "99.9", "-1%"} {
		if pctRE.MatchString(v) {
			t.Errorf("percent pattern matches %q", v)
		}
	}
}
