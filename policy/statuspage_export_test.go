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
	p, err = Parse("t.yaml", []byte("services: [{name: a}]\nstatus_page: {export: {to: {s3: {endpoint: \"https://s3.example.com\", bucket: site, prefix: status, path_style: true}}}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if to := p.StatusPage.Export.To; to.Kind() != "s3" || to.S3.Bucket != "site" || !to.S3.PathStyle || to.String() != "s3://site/status at https://s3.example.com" {
		t.Errorf("export to = %+v (%s)", to, to)
	}
	for doc, want := range map[string]string{
		"status_page: {export: {to: {path: d}, every: 1s}}":                                           `t.yaml:2:46: status_page.export.every: every "1s" is too often (at least 10s)`,
		"status_page: {export: {every: 1m}}":                                                          "status_page.export: ",
		"status_page: {export: {to: {}}}":                                                             "status_page.export.to: the export target has no kind (add one of: path, s3)",
		"status_page: {export: {to: {path: d, s3: {bucket: site}}}}":                                  "t.yaml:2:42: status_page.export.to.s3: an export target has exactly one kind, this one has path and s3",
		"status_page: {export: {to: {s3: {bucket: Site}}}}":                                           `status_page.export.to.s3.bucket: invalid bucket name "Site"`,
		"status_page: {export: {to: {s3: {bucket: site, endpoint: \"http://s3.example.com\"}}}}":      "is not encrypted",
		"status_page: {export: {to: {s3: {bucket: site, secret_access_key: abc, access_key_id: k}}}}": "the secret access key is written literally",
		"status_page: {export: {to: {s3: {bucket: site, object_lock_days: 3}}}}":                      "status_page.export.to.s3.object_lock_days: a status page export is not locked",
	} {
		_, err := Parse("t.yaml", []byte("services: [{name: a}]\n"+doc+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}
