package statuspage

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
)

//go:embed assets
var assets embed.FS

var templates = func() *template.Template {
	css, err := assets.ReadFile("assets/style.css")
	if err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"css":        func() template.CSS { return template.CSS(css) },
		"time":       func(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") },
		"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct":        pct,
		"icon":       icon,
		"statusWord": statusWord,
		"impactWord": func(i upkeep.Impact) string {
			if i == "" || i == upkeep.ImpactNone {
				return "No impact"
			}
			return strings.ToUpper(string(i[:1])) + string(i[1:]) + " impact"
		},
		"duration": func(from, to time.Time) string { return humanDuration(to.Sub(from)) },
		"bar":      bar,
		"chart":    chart,
	}
	return template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))
}()

// statusWord says a component status or incident status in words.
func statusWord(s any) string {
	switch fmt.Sprint(s) {
	case string(Operational):
		return "Operational"
	case string(DegradedPerformance):
		return "Degraded performance"
	case string(PartialOutage):
		return "Partial outage"
	case string(MajorOutage):
		return "Major outage"
	case string(UnderMaintenance):
		return "Under maintenance"
	case string(upkeep.StatusInvestigating):
		return "Investigating"
	case string(upkeep.StatusIdentified):
		return "Identified"
	case string(upkeep.StatusMonitoring):
		return "Monitoring"
	case string(upkeep.StatusResolved):
		return "Resolved"
	}
	return fmt.Sprint(s)
}

// icon is a symbol for a state, so that colour is never the only sign of it.
func icon(s ComponentStatus) string {
	switch s {
	case DegradedPerformance:
		return "▲"
	case PartialOutage, MajorOutage:
		return "✕"
	case UnderMaintenance:
		return "⚙"
	}
	return "✓"
}

// pct shows a fraction as a percentage with as many decimals as it takes not to round a
// failure up to 100%.
func pct(f float64) string {
	if f >= 1 {
		return "100%"
	}
	p := f * 100
	for dec := 2; dec < 5; dec++ {
		s := strconv.FormatFloat(math.Floor(p*math.Pow10(dec))/math.Pow10(dec), 'f', dec, 64)
		if s != "100."+strings.Repeat("0", dec) {
			return s + "%"
		}
	}
	return "99.9999%"
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return plural(h, "hour")
		}
		return plural(h, "hour") + " " + plural(m, "minute")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// view is what the page templates render.
type view struct {
	S     *Snapshot
	Title string
	I     *Incident // an incident's page
	G     *Group    // a group's page
}

// Titles returns the titles of the named services, joined.
func (v view) Titles(names []string) string {
	var out []string
	for _, n := range names {
		t := n
		for _, s := range v.S.Services {
			if s.Name == n {
				t = s.Title
				break
			}
		}
		out = append(out, t)
	}
	return strings.Join(out, ", ")
}

// Ongoing reports whether a maintenance window has started.
func (v view) Ongoing(w Window) bool { return !w.Start.After(v.S.At) }

// dayClass grades a day of the bar; the tooltip text says the same in words.
func dayClass(d Day) string {
	switch {
	case !d.Known:
		return "none"
	case d.Fraction >= 1 && d.Degraded == 0:
		return "ok"
	case d.Fraction >= 0.99:
		return "minor"
	case d.Fraction >= 0.95:
		return "partial"
	}
	return "major"
}

// Bar renders a service's uptime bar: one focusable item per day whose text (shown on hover
// and focus, read by screen readers) gives the day's uptime, downtime and incidents. It is
// written directly rather than through the template: with hundreds of services it is most of
// the page, and this is several times faster.
func bar(s *Service) template.HTML {
	var b strings.Builder
	b.Grow(len(s.Days) * 110)
	fmt.Fprintf(&b, `<ul class="bar" aria-label="Uptime of %s, one item per day, oldest first">`, html.EscapeString(s.Title))
	for _, d := range s.Days {
		b.WriteString(`<li tabindex="0" class="`)
		b.WriteString(dayClass(d))
		b.WriteString(`"><span class="tip">`)
		b.WriteString(d.Date.Format("Jan 2, 2006"))
		b.WriteString(": ")
		if !d.Known {
			b.WriteString("no data")
		} else {
			b.WriteString(pct(d.Fraction))
			b.WriteString(" uptime, ")
			if d.Down > 0 {
				b.WriteString(humanDuration(d.Down))
				b.WriteString(" down")
			} else {
				b.WriteString("no downtime")
			}
			if d.Degraded > 0 {
				b.WriteString(", ")
				b.WriteString(humanDuration(d.Degraded))
				b.WriteString(" degraded")
			}
		}
		switch len(d.Incidents) {
		case 0:
			if d.Known {
				b.WriteString(", no incidents")
			}
		default:
			b.WriteString(", ")
			b.WriteString(plural(len(d.Incidents), "incident"))
			b.WriteString(": ")
			for i, inc := range d.Incidents {
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(html.EscapeString(inc.Title))
			}
		}
		b.WriteString("</span></li>")
	}
	b.WriteString("</ul>")
	return template.HTML(b.String())
}

// Chart renders a service's daily response times (median and 95th percentile) as an SVG line
// chart, with a text alternative.
func chart(s *Service) template.HTML {
	if len(s.LatencyDays) == 0 {
		return ""
	}
	const w, h, pad = 600.0, 120.0, 18.0
	var top time.Duration
	for _, l := range s.LatencyDays {
		top = max(top, l.P95, l.P50)
	}
	if top <= 0 {
		return ""
	}
	first := s.LatencyDays[0].Date
	if len(s.Days) > 0 {
		first = s.Days[0].Date
	}
	span := float64(max(len(s.Days)-1, 1))
	point := func(l LatencyDay, d time.Duration) string {
		x := float64(l.Date.Sub(first)/day) / span * w
		y := h - pad - float64(d)/float64(top)*(h-2*pad)
		return strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64)
	}
	var p50, p95 []string
	for _, l := range s.LatencyDays {
		p50, p95 = append(p50, point(l, l.P50)), append(p95, point(l, l.P95))
	}
	last := s.LatencyDays[len(s.LatencyDays)-1]
	label := fmt.Sprintf("Response times of %s per day: on %s median %s, 95th percentile %s; highest 95th percentile %s",
		s.Title, last.Date.Format("Jan 2"), ms(last.P50), ms(last.P95), ms(top))
	var b bytes.Buffer
	fmt.Fprintf(&b, `<figure class="chart"><svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s"><title>%s</title>`, w, h, html.EscapeString(label), html.EscapeString(label))
	fmt.Fprintf(&b, `<line class="grid" x1="0" y1="%.0f" x2="%.0f" y2="%.0f"/><line class="grid" x1="0" y1="%.0f" x2="%.0f" y2="%.0f"/>`, pad, w, pad, h-pad, w, h-pad)
	fmt.Fprintf(&b, `<text x="2" y="%.0f">%s</text><text x="2" y="%.0f">0 ms</text>`, pad-4, ms(top), h-pad+12)
	fmt.Fprintf(&b, `<polyline class="p95" fill="none" stroke-width="1.5" points="%s"/>`, strings.Join(p95, " "))
	fmt.Fprintf(&b, `<polyline class="p50" fill="none" stroke-width="2" points="%s"/></svg>`, strings.Join(p50, " "))
	b.WriteString(`<figcaption class="legend">Response time per day: solid blue line median, orange line 95th percentile.</figcaption></figure>`)
	return template.HTML(b.String())
}

func ms(d time.Duration) string {
	return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
}

func (p *Page) renderPage(_ context.Context, s *Snapshot) (*response, bool, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "page.html", view{S: s, Title: s.Title}); err != nil {
		return nil, false, err
	}
	return &response{ctype: "text/html; charset=utf-8", body: b.Bytes()}, true, nil
}

func (p *Page) renderGroup(index int) render {
	return func(_ context.Context, s *Snapshot) (*response, bool, error) {
		if index < 0 || index >= len(s.Groups) {
			return nil, false, nil
		}
		g := &s.Groups[index]
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, "group.html", view{S: s, Title: g.Summary.Title + " · " + s.Title, G: g}); err != nil {
			return nil, false, err
		}
		return &response{ctype: "text/html; charset=utf-8", body: b.Bytes()}, true, nil
	}
}

func (p *Page) renderIncident(id int64) render {
	return func(ctx context.Context, s *Snapshot) (*response, bool, error) {
		inc := s.incident(id)
		if inc == nil {
			return nil, false, nil
		}
		if !inc.detailed { // an older incident: read its updates now
			full, err := p.incidents.Get(ctx, id)
			if err != nil {
				return nil, false, err
			}
			pub := publicIncident(full, inc.Services, inc.titles)
			inc = &pub
		}
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, "incident.html", view{S: s, Title: inc.Title + " · " + s.Title, I: inc}); err != nil {
			return nil, false, err
		}
		return &response{ctype: "text/html; charset=utf-8", body: b.Bytes()}, true, nil
	}
}

// incident returns a shown incident, or nil.
func (s *Snapshot) incident(id int64) *Incident {
	for _, list := range [][]Incident{s.Active, s.History} {
		for i := range list {
			if list[i].ID == id {
				return &list[i]
			}
		}
	}
	return nil
}
