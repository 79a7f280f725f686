package statuspage_test

import (
	"encoding/xml"
	"fmt"
	"github.com/upkeep-dev/upkeep/policy"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/httpapi"
)

func TestFeeds(t *testing.T) {
	f := newFixture(t, nil)

	var rss struct {
		XMLName xml.Name `xml:"rss"`
		Version string   `xml:"version,attr"`
		Channel struct {
			Title string     `xml:"title"`
			Links []struct { // the channel's link, and atom:link (rel self)
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:"link"`
			Description   string `xml:"description"`
			LastBuildDate string `xml:"lastBuildDate"`
			Items         []struct {
				Title       string `xml:"title"`
				Link        string `xml:"link"`
				Description string `xml:"description"`
				PubDate     string `xml:"pubDate"`
				GUID        string `xml:"guid"`
			} `xml:"item"`
		} `xml:"channel"`
	}
	if err := xml.Unmarshal([]byte(f.get(t, "/history.rss", 200)), &rss); err != nil {
		t.Fatal(err)
	}
	c := rss.Channel
	// RSS 2.0: a channel needs title, link and description; an item a title or a description;
	// dates are RFC 822 (RFC 1123 with a numeric zone); guids are unique.
	link := ""
	for _, l := range c.Links {
		if l.XMLName.Space == "" {
			link = l.Value
		}
	}
	if rss.Version != "2.0" || c.Title == "" || link != "https://status.example.com/" || c.Description == "" {
		t.Errorf("channel %+v", c)
	}
	if _, err := time.Parse(time.RFC1123Z, c.LastBuildDate); err != nil {
		t.Errorf("lastBuildDate: %v", err)
	}
	if len(c.Items) != 5 { // 3 incidents, 2 maintenance windows
		t.Fatalf("%d items, want 5", len(c.Items))
	}
	guids := map[string]bool{}
	for _, it := range c.Items {
		if it.Title == "" || !strings.HasPrefix(it.Link, "https://status.example.com/") || it.Description == "" {
			t.Errorf("item %+v", it)
		}
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
			t.Errorf("pubDate: %v", err)
		}
		if guids[it.GUID] || it.GUID == "" {
			t.Errorf("guid %q not unique", it.GUID)
		}
		guids[it.GUID] = true
	}

	var atom struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Author  struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Links []struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"link"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Summary string `xml:"summary"`
			Link    struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(f.get(t, "/history.atom", 200)), &atom); err != nil {
		t.Fatal(err)
	}
	// Atom (RFC 4287): a feed has id, title, updated, an author (or every entry has one) and
	// should have a self link; every entry id, title, updated; ids are unique IRIs.
	if atom.ID == "" || atom.Title == "" || atom.Author.Name == "" {
		t.Errorf("feed %+v", atom)
	}
	if _, err := time.Parse(time.RFC3339, atom.Updated); err != nil {
		t.Errorf("updated: %v", err)
	}
	self := false
	for _, l := range atom.Links {
		self = self || l.Rel == "self" && l.Href == "https://status.example.com/history.atom"
	}
	if !self {
		t.Errorf("no self link: %+v", atom.Links)
	}
	ids := map[string]bool{}
	for _, e := range atom.Entries {
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil || e.Title == "" || e.Link.Href == "" {
			t.Errorf("entry %+v (%v)", e, err)
		}
		if ids[e.ID] || !strings.HasPrefix(e.ID, "https://") {
			t.Errorf("entry id %q", e.ID)
		}
		ids[e.ID] = true
	}
	if len(atom.Entries) != 5 || atom.Entries[0].Title != "Public API is down" || atom.Entries[3].Title != "Maintenance: Switch upgrade" {
		t.Errorf("entries %+v", atom.Entries)
	}
}

func TestPublicOutputHidesInternals(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/", "/status", "/incidents/1", "/incidents/3", "/incidents/4", "/history.rss", "/history.atom",
		"/api/v2/summary.json", "/api/v2/incidents.json", "/badge/api/status.svg", "/badge/web/uptime.svg?window=7d"} {
		body := f.get(t, path, 200)
		for _, leak := range []string{secret, "api-a", "api-b", "web-home", "internal", "Internal box", "ops-mail", "10.0.0.5", "refused", "alice-token", "HTTP 503"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s shows %q", path, leak)
			}
		}
	}
	// The incident of the monitor without a service is not public.
	f.get(t, "/incidents/2", 404)
}

func TestPage(t *testing.T) {
	f := newFixture(t, nil)
	page := f.get(t, "/", 200)
	for _, want := range []string{
		"<title>Example status</title>", "Partial System Outage", "Status of Example&#39;s services.",
		`<h3>Website</h3>`, `<h3 style="font-size:1.1rem">Backend</h3>`, "No data yet", // db has no monitors
		"Mar 5, 2026: 97.91% uptime, 30 minutes down, 1 incident: Website is down",
		"Mar 7, 2026: no data", "Mar 6, 2026: 100% uptime, no downtime, 1 incident: Slow logins",
		`<a href="/incidents/3">Public API is down</a>`, "We are investigating a problem with Public API.",
		`<svg viewBox="0 0 600 120" role="img" aria-label="Response times of Website per day`,
		"<h3>Switch upgrade</h3>", "(in progress) · Public API", "<h3>Database move</h3>", "(scheduled) · Database",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "Old work") {
		t.Error("a maintenance window that is over is shown")
	}
	if status := f.get(t, "/status", 200); status != page {
		t.Error("/status differs from /")
	}
	inc := f.get(t, "/incidents/4", 200)
	for _, want := range []string{"Slow logins", "Logins take a minute.", "Logins are fast again.", "A full session table.", "Expiry job.", "lasted 1 hour"} {
		if !strings.Contains(inc, want) {
			t.Errorf("the incident page lacks %q", want)
		}
	}
	f.get(t, "/incidents/99", 404)
	f.get(t, "/incidents/x", 404)

	badge := f.get(t, "/badge/api/status.svg", 200)
	if !strings.Contains(badge, "Public API: Partial outage") {
		t.Errorf("status badge %s", badge)
	}
	if b := f.get(t, "/badge/web/uptime.svg?window=7d", 200); !strings.Contains(b, "uptime 7d: 99.65%") {
		t.Errorf("uptime badge %s", b)
	}
	f.get(t, "/badge/web/uptime.svg?window=1y", 400)
	f.get(t, "/badge/nope/status.svg", 404)
}

func TestGzipAndETag(t *testing.T) {
	f := newFixture(t, nil)
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("ETag") == "" {
		t.Fatalf("headers %v", res.Header)
	}
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", res.StatusCode)
	}
}

func TestPrivateAndAbsentPage(t *testing.T) {
	f := newFixture(t, nil)
	f.pol.StatusPage.Public = ptr(false)
	f.page.Apply(f.pol)
	for _, path := range []string{"/", "/status", "/api/v2/status.json", "/history.rss", "/badge/web/status.svg"} {
		f.get(t, path, 401)
	}

	// Without a status page "/" is the landing page and the status routes are not found.
	f.pol.StatusPage = nil
	f.page.Apply(f.pol)
	if body := f.get(t, "/", 200); !strings.Contains(body, "Upkeep is running") {
		t.Errorf("landing page: %s", body)
	}
	f.get(t, "/status", 404)
	f.get(t, "/api/v2/summary.json", 404)

	// A server without a status page at all.
	srv := httpTestServer(t, httpapi.Config{Store: f.db, Runtime: runtime{f.pol}})
	res, err := http.Get(srv + "/api/v2/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("no status page configured: %d", res.StatusCode)
	}
}

func TestCompactPage(t *testing.T) {
	f := newFixture(t, nil)
	many := policy.StatusGroup{Name: "Many"}
	for i := range 60 {
		name := fmt.Sprintf("x%02d", i)
		f.pol.Services = append(f.pol.Services, policy.Service{Name: name, Title: "X " + name})
		many.Services = append(many.Services, name)
	}
	f.pol.StatusPage.Groups = append(f.pol.StatusPage.Groups, many)
	f.page.Apply(f.pol)

	page := f.get(t, "/", 200)
	for _, want := range []string{`<a href="/status/groups/0">Services</a>`, `<a href="/status/groups/1">Backend</a>`, `<a href="/status/groups/2">Many</a>`,
		// Backend's summary: api's state, and day 0 as api has it.
		`Mar 10, 2026: 95.83% uptime, 30 minutes down, 1 incident: Public API is down`, "Partial outage"} {
		if !strings.Contains(page, want) {
			t.Errorf("compact page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="svc-web"`) {
		t.Error("the compact page shows the services' own bars")
	}
	if g := f.get(t, "/status/groups/0", 200); !strings.Contains(g, `id="svc-web"`) || !strings.Contains(g, "Mar 5, 2026: 97.91% uptime") {
		t.Error("the group page lacks web's bar")
	}
	f.get(t, "/status/groups/3", 404)
}
