package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestStatusPageValid(t *testing.T) {
	doc := `
services: [{name: web}, {name: api}, {name: db}, {name: queue}]
status_page:
  title: Acme status
  logo: https://acme.example/logo.svg
  links: [{title: Support, url: "https://acme.example/support"}]
  services: [web]
  groups: [{name: Backend, services: [api, db]}]
  public: false
`
	p, err := Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.StatusPage
	if s.HistoryDays != 90 || s.Theme != "auto" || s.IsPublic() || !s.LogoIsURL() || s.ReportsPublic() {
		t.Errorf("status page = %+v", s)
	}
	if got := p.ShownServices(); !slices.Equal(got, []string{"web", "api", "db"}) {
		t.Errorf("shown = %v", got)
	}
	p, err = Parse("t.yaml", []byte("services: [{name: a}, {name: b}]\nstatus_page: {history_days: 30, logo: ./logo.png}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := Parse("t.yaml", []byte("status_page: {reports: {public: true}}\n"), nil); err != nil || !p.StatusPage.ReportsPublic() {
		t.Errorf("public reports: %v", err)
	}
	if s := p.StatusPage; !s.IsPublic() || s.Title != "Status" || s.HistoryDays != 30 || s.LogoIsURL() || LogoType(s.Logo) != "image/png" {
		t.Errorf("status page = %+v", s)
	}
	if got := p.ShownServices(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("shown (default: all) = %v", got)
	}
}

func TestStatusPageInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown service", "status_page: {services: [nope]}\n", []string{`status_page.services[0]: unknown service "nope"`}},
		{"unknown service in a group", "services: [{name: a}]\nstatus_page: {groups: [{name: G, services: [a, b]}]}\n",
			[]string{`status_page.groups[0].services[1]: unknown service "b"`}},
		{"shown twice", "services: [{name: a}]\nstatus_page: {services: [a], groups: [{name: G, services: [a]}]}\n",
			[]string{`status_page.groups[0].services[0]: service "a" is shown twice`}},
		{"empty group", "status_page: {groups: [{name: G, services: []}]}\n", []string{`status_page.groups[0]: the group shows no service`}},
		{"bad theme", "status_page: {theme: blue}\n", []string{`status_page.theme`}},
		{"history too long", "status_page: {history_days: 1000}\n", []string{`status_page.history_days: 1000 days of history is out of range`}},
		{"bad logo", "status_page: {logo: logo.txt}\n", []string{`status_page.logo: logo "logo.txt" is not a URL nor an image file`}},
		{"bad link", "status_page: {links: [{title: x, url: 'ftp://x'}]}\n", []string{`status_page.links[0].url: invalid URL`}},
		{"link without title", "status_page: {links: [{url: 'https://x'}]}\n", []string{`status_page.links[0]: missing required key "title"`}},
		{"public reports of a private page", "status_page: {public: false, reports: {public: true}}\n",
			[]string{`t.yaml:1:48: status_page.reports.public: the SLA reports are public while the status page is not`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.doc), nil)
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
