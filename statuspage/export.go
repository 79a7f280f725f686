package statuspage

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/upkeep-dev/upkeep/policy"
)

// File is one file of a static export: its path relative to the export's root (slash
// separated), its media type and its content.
type File struct {
	Path        string `json:"path"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
}

// Export renders the whole status page as static files, from one snapshot and with the same
// renderers as the served page: index.html, status/groups/<n>.html, incidents/<id>.html,
// history.rss, history.atom, api/v2/*.json, badge/<service>/status.svg, uptime.svg (30 days)
// and uptime-<window>.svg, and the logo. Links between the pages are rewritten to relative
// links to these files, so the export works from any static host and any directory.
func (p *Page) Export(ctx context.Context) ([]File, error) {
	pol := p.pol.Load()
	if pol == nil || pol.StatusPage == nil {
		return nil, errNoPage
	}
	s, err := p.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking the status page's snapshot: %w", err)
	}
	logo := ""
	if sp := pol.StatusPage; sp.Logo != "" && !sp.LogoIsURL() {
		logo = "logo" + strings.ToLower(filepath.Ext(sp.Logo))
	}
	var files []File
	add := func(path string, fn render) error {
		res, ok, err := fn(ctx, s)
		if err != nil {
			return fmt.Errorf("rendering %s: %w", path, err)
		}
		if !ok {
			return nil
		}
		body := res.body
		if strings.HasPrefix(res.ctype, "text/html") {
			body = relink(body, strings.Count(path, "/"), logo)
		}
		files = append(files, File{Path: path, ContentType: res.ctype, Body: body})
		return nil
	}
	if err := add("index.html", p.renderPage); err != nil {
		return nil, err
	}
	for i := range s.Groups {
		if err := add(fmt.Sprintf("status/groups/%d.html", i), p.renderGroup(i)); err != nil {
			return nil, err
		}
	}
	for _, list := range [][]Incident{s.Active, s.History} {
		for _, inc := range list {
			if err := add(fmt.Sprintf("incidents/%d.html", inc.ID), p.renderIncident(inc.ID)); err != nil {
				return nil, err
			}
		}
	}
	if err := add("history.rss", p.renderRSS); err != nil {
		return nil, err
	}
	if err := add("history.atom", p.renderAtom); err != nil {
		return nil, err
	}
	for _, doc := range slices.Sorted(maps.Keys(v2Documents)) {
		if err := add("api/v2/"+doc, p.renderV2(doc)); err != nil {
			return nil, err
		}
	}
	for _, svc := range s.Services {
		dir := "badge/" + svc.Name + "/"
		if err := add(dir+"status.svg", p.renderStatusBadge(svc.Name)); err != nil {
			return nil, err
		}
		if err := add(dir+"uptime.svg", p.renderUptimeBadge(svc.Name, "30d")); err != nil {
			return nil, err
		}
		for _, w := range windows {
			if err := add(dir+"uptime-"+w.label+".svg", p.renderUptimeBadge(svc.Name, w.label)); err != nil {
				return nil, err
			}
		}
	}
	if logo != "" {
		body, err := os.ReadFile(pol.StatusPage.Logo)
		if err != nil {
			return nil, fmt.Errorf("reading the logo: %w", err)
		}
		files = append(files, File{Path: logo, ContentType: policy.LogoType(pol.StatusPage.Logo), Body: body})
	}
	return files, nil
}

// siteLink matches the root-relative links of the rendered HTML.
var siteLink = regexp.MustCompile(`(href|src)="(/[^"]*)"`)

// relink rewrites the root-relative links of a page depth directories deep into relative
// links to the exported files.
func relink(body []byte, depth int, logo string) []byte {
	up := strings.Repeat("../", depth)
	return siteLink.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := siteLink.FindSubmatch(m)
		target, frag, _ := strings.Cut(string(sub[2]), "#")
		file := staticPath(target, logo)
		if file == "" {
			return m
		}
		if frag != "" {
			file += "#" + frag
		}
		return fmt.Appendf(nil, `%s="%s%s"`, sub[1], up, file)
	})
}

// staticPath is the exported file of a path of the served page; "" when it has none.
func staticPath(path, logo string) string {
	switch {
	case path == "/" || path == "/status":
		return "index.html"
	case path == "/status/logo":
		return logo
	case strings.HasPrefix(path, "/incidents/"), strings.HasPrefix(path, "/status/groups/"):
		if _, err := strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:]); err == nil {
			return path[1:] + ".html"
		}
		return ""
	}
	return path[1:]
}
