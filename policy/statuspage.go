package policy

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// StatusPage is the public status page: what it is called, which services it shows and how.
type StatusPage struct {
	Title       string           `yaml:"title" jsonschema:"default=Status,description=Title of the status page."`
	Description string           `yaml:"description" jsonschema:"description=A sentence or two under the title: what the page covers\\, whom to contact."`
	Logo        string           `yaml:"logo" jsonschema:"description=Logo shown above the title: an absolute http or https URL\\, or the path of an image file (PNG\\, SVG\\, JPEG\\, GIF or WebP; relative to the working directory of upkeep serve)\\, which the page serves at /status/logo."`
	Links       []StatusPageLink `yaml:"links" jsonschema:"description=Links shown in the page header (your home page\\, support\\, documentation)."`
	Services    []string         `yaml:"services" policy:"ref=service" jsonschema:"description=Names of the services shown without a group\\, in this order. Default\\, when neither services nor groups is given: every service of the policy."`
	Groups      []StatusGroup    `yaml:"groups" jsonschema:"description=Services shown together under a heading\\, in this order\\, after the ungrouped services."`
	Theme       string           `yaml:"theme" jsonschema:"enum=auto,enum=light,enum=dark,default=auto,description=Colour theme: auto follows the visitor's system setting (prefers-color-scheme)."`
	HistoryDays int              `yaml:"history_days" jsonschema:"default=90,description=Days of uptime history shown per service (the uptime bar and the incident history)\\, 7 to 400."`
	// Public is *bool: a default of true must not overwrite an explicit false.
	Public            *bool `yaml:"public" jsonschema:"description=Whether the page and its feeds\\, badges and /api/v2 JSON are served without a token. Default: true. With false they need an API token (Authorization: Bearer)."`
	ShowResponseTimes bool  `yaml:"show_response_times" jsonschema:"description=Show a response-time chart (median and 95th percentile per day) for each service."`
	// Subscriptions: see subscriptions.go.
	Subscriptions *Subscriptions `yaml:"subscriptions" jsonschema:"description=Subscriptions to incident and maintenance notices (e-mail and webhooks). Absent: none."`
	// Export: see statuspage_export.go.
	Export  *StatusExport  `yaml:"export" jsonschema:"description=Publish the page as static files to a directory\\, on a schedule and on every change\\, to host it elsewhere (see docs/statuspage.md)."`
	Reports *StatusReports `yaml:"reports" jsonschema:"description=Whether the SLA reports of the services the page shows are public (GET /reports/sla)."`
}

// StatusReports says who may read the SLA reports over HTTP.
type StatusReports struct {
	Public bool `yaml:"public" jsonschema:"description=Serve the SLA reports of the services the page shows at /reports/sla without a token. Default: false (only with an API token\\, which reports on every service). The continuity report always needs a token."`
}

// ReportsPublic reports whether the SLA reports of the shown services are served without a
// token.
func (s *StatusPage) ReportsPublic() bool { return s != nil && s.Reports != nil && s.Reports.Public }

// StatusPageLink is a link in the status page's header.
type StatusPageLink struct {
	Title string `yaml:"title" jsonschema:"required,description=Text of the link."`
	URL   string `yaml:"url" jsonschema:"required,description=Where it points: an absolute http or https URL."`
}

// StatusGroup is a heading on the status page with the services under it.
type StatusGroup struct {
	Name     string   `yaml:"name" jsonschema:"required,description=Heading of the group\\, as shown."`
	Services []string `yaml:"services" policy:"ref=service" jsonschema:"required,description=Names of the services in the group\\, in this order."`
}

// IsPublic reports whether the page is served without a token.
func (s *StatusPage) IsPublic() bool { return s.Public == nil || *s.Public }

// LogoIsURL reports whether the logo is a URL (not a file path).
func (s *StatusPage) LogoIsURL() bool {
	return strings.HasPrefix(s.Logo, "http://") || strings.HasPrefix(s.Logo, "https://")
}

// logoTypes are the image files a logo may be, by extension.
var logoTypes = map[string]string{
	".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp",
}

// LogoType returns the media type of a logo file, from its extension.
func LogoType(path string) string { return logoTypes[strings.ToLower(filepath.Ext(path))] }

// ShownServices returns the services the page shows: the ungrouped ones, then those of every
// group, in order; every service of p when the page names none.
func (p *Policy) ShownServices() []string {
	s := p.StatusPage
	if s == nil {
		return nil
	}
	var out []string
	if len(s.Services) == 0 && len(s.Groups) == 0 {
		for _, svc := range p.Services {
			out = append(out, svc.Name)
		}
		return out
	}
	out = append(out, s.Services...)
	for _, g := range s.Groups {
		out = append(out, g.Services...)
	}
	return out
}

const (
	minHistoryDays = 7
	maxHistoryDays = 400
)

// checkStatusPage reports links and logos that are not usable, history lengths out of range and
// services shown twice.
func (d *decoder) checkStatusPage(s *StatusPage) {
	if s == nil {
		return
	}
	const path = "status_page"
	d.checkStatusExport(s.Export)
	if s.Logo != "" && !d.hasProblem(path+".logo") {
		lp := path + ".logo"
		if s.LogoIsURL() {
			if u, err := url.Parse(s.Logo); err != nil || u.Host == "" {
				d.add(d.posAt(lp), lp, fmt.Sprintf("invalid logo URL %s", d.show(lp, s.Logo)), "an absolute http or https URL, or the path of an image file")
			}
		} else if LogoType(s.Logo) == "" {
			d.add(d.posAt(lp), lp, fmt.Sprintf("logo %s is not a URL nor an image file Upkeep can serve", d.show(lp, s.Logo)),
				"an http(s) URL, or a file ending in .png, .svg, .jpg, .jpeg, .gif or .webp")
		}
	}
	for i, l := range s.Links {
		d.checkSendURL(fmt.Sprintf("%s.links[%d].url", path, i), l.URL, false)
	}
	if s.ReportsPublic() && !s.IsPublic() {
		rp := path + ".reports.public"
		d.add(d.posAt(rp), rp, "the SLA reports are public while the status page is not (status_page.public: false)",
			"make the page public, or leave reports.public false: token holders can read the reports either way")
	}
	hp := path + ".history_days"
	if !d.hasProblem(hp) && (s.HistoryDays < minHistoryDays || s.HistoryDays > maxHistoryDays) {
		d.add(d.posAt(hp), hp, fmt.Sprintf("%d days of history is out of range", s.HistoryDays),
			fmt.Sprintf("%d to %d", minHistoryDays, maxHistoryDays))
	}
	seen := map[string]string{}
	shown := func(p, name string) {
		if first, dup := seen[name]; dup {
			d.add(d.posAt(p), p, fmt.Sprintf("service %s is shown twice", d.show(p, name)), "already listed at "+first)
			return
		}
		seen[name] = p
	}
	for i, name := range s.Services {
		shown(fmt.Sprintf("%s.services[%d]", path, i), name)
	}
	for i, g := range s.Groups {
		gp := fmt.Sprintf("%s.groups[%d]", path, i)
		if len(g.Services) == 0 && !d.hasProblem(gp+".services") {
			d.add(d.posAt(gp), gp, "the group shows no service", "add services: [name, ...] or remove the group")
		}
		for j, name := range g.Services {
			shown(fmt.Sprintf("%s.services[%d]", gp, j), name)
		}
	}
}
