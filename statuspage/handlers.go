package statuspage

import (
	"net/http"
	"os"
	"strconv"

	"github.com/upkeep-dev/upkeep/policy"
)

// HandlePage serves the status page.
func (p *Page) HandlePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, "page", p.renderPage) })
}

// HandleIncident serves the page of the incident {id}.
func (p *Page) HandleIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			http.NotFound(w, r)
			return
		}
		p.serve(w, r, "incident/"+strconv.FormatInt(id, 10), p.renderIncident(id))
	})
}

// HandleGroup serves the page of the group {index} (0 is the first), with its services' bars.
func (p *Page) HandleGroup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("index"))
		if err != nil || i < 0 {
			http.NotFound(w, r)
			return
		}
		p.serve(w, r, "group/"+strconv.Itoa(i), p.renderGroup(i))
	})
}

// HandleAPI serves the Statuspage-compatible documents /api/v2/{doc...}.
func (p *Page) HandleAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := r.PathValue("doc")
		if v2Documents[doc] == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*") // public data, read by other sites' widgets
		p.serve(w, r, "v2/"+doc, p.renderV2(doc))
	})
}

// HandleStatusBadge serves /badge/{service}/status.svg.
func (p *Page) HandleStatusBadge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := r.PathValue("service")
		p.serve(w, r, "badge/status/"+svc, p.renderStatusBadge(svc))
	})
}

// HandleUptimeBadge serves /badge/{service}/uptime.svg?window=30d (24h, 7d, 30d or 90d).
func (p *Page) HandleUptimeBadge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc, window := r.PathValue("service"), r.URL.Query().Get("window")
		if window == "" {
			window = "30d"
		}
		known := false
		for _, w := range windows {
			known = known || w.label == window
		}
		if !known {
			http.Error(w, "window must be 24h, 7d, 30d or 90d", http.StatusBadRequest)
			return
		}
		p.serve(w, r, "badge/uptime/"+window+"/"+svc, p.renderUptimeBadge(svc, window))
	})
}

// HandleRSS serves the incident history as RSS 2.0.
func (p *Page) HandleRSS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, "rss", p.renderRSS) })
}

// HandleAtom serves the incident history as Atom.
func (p *Page) HandleAtom() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, "atom", p.renderAtom) })
}

// HandleLogo serves the logo file named by status_page.logo.
func (p *Page) HandleLogo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol := p.pol.Load()
		if pol == nil || pol.StatusPage == nil || pol.StatusPage.Logo == "" || pol.StatusPage.LogoIsURL() {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(pol.StatusPage.Logo)
		if err != nil {
			p.log.Warn("status page: the logo file cannot be read", "err", err)
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", policy.LogoType(pol.StatusPage.Logo))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'") // an SVG logo runs no script
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
}
