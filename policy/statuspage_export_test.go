package policy

import (
	"strings"
	"testing"
	"time"
)

func TestStatusExport(t *testing.T) {
	p, err := Parse("t.yaml", []byte("services: [{name: a}]\nstatus_page: {export: {to: {path: /srv/status}}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := p.StatusPage.Export
	if e.To.Path != "/srv/status" || e.Every.Duration != 5*time.Minute || !e.IsOnChange() {
		t.Errorf("export = %+v", e)
	}
	p, err = Parse("t.yaml", []byte("services: [{name: a}]\nstatus_page: {export: {to: {path: d}, every: 1h, on_change: false}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.StatusPage.Export; e.Every.Duration != time.Hour || e.IsOnChange() {
		t.Errorf("export = %+v", e)
	}
	for doc, want := range map[string]string{
		"status_page: {export: {to: {path: d}, every: 1s}}": `t.yaml:2:46: status_page.export.every: every "1s" is too often (at least 10s)`,
		"status_page: {export: {every: 1m}}":                "status_page.export: ",
		"status_page: {export: {to: {}}}":                   "status_page.export.to",
	} {
		_, err := Parse("t.yaml", []byte("services: [{name: a}]\n"+doc+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}
