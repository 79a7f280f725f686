package report

import (
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Formats are the output formats of Write.
var Formats = []string{"html", "json", "csv"}

// CheckFormat returns an error naming the formats when format is not one of them.
func CheckFormat(format string, formats []string) error {
	if slices.Contains(formats, format) {
		return nil
	}
	n := len(formats)
	return fmt.Errorf("format %q: use %s or %s", format, strings.Join(formats[:n-1], ", "), formats[n-1])
}

// Write renders reports (one per service) in format: "json", "csv" or "html".
func Write(w io.Writer, format string, reports []*SLA) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Reports []*SLA `json:"reports"`
		}{reports})
	case "csv":
		return writeCSV(w, reports)
	case "html":
		return pages.ExecuteTemplate(w, "sla.html", reports)
	}
	return CheckFormat(format, Formats)
}

// ContinuityFormats are the output formats of WriteContinuity.
var ContinuityFormats = []string{"html", "json"}

// WriteContinuity renders continuity reports (one per service), made at generated, in format:
// "json" or "html".
func WriteContinuity(w io.Writer, format string, generated time.Time, reports []*Continuity) error {
	doc := struct {
		GeneratedAt time.Time     `json:"generated_at"`
		Reports     []*Continuity `json:"reports"`
	}{generated.UTC(), reports}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case "html":
		return pages.ExecuteTemplate(w, "continuity.html", doc)
	}
	return CheckFormat(format, ContinuityFormats)
}

// writeCSV writes one line per service and day (or month), then a "total" line per service.
func writeCSV(w io.Writer, reports []*SLA) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"service", "period", "from", "to", "up_seconds", "degraded_seconds", "down_seconds",
		"maintenance_seconds", "paused_seconds", "no_data_seconds", "availability_percent", "objective_percent"})
	secs := func(d Duration) string { return strconv.FormatFloat(time.Duration(d).Seconds(), 'f', -1, 64) }
	pct := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	line := func(r *SLA, label string, from, to time.Time, t Times, avail *float64) {
		_ = cw.Write([]string{r.Service, label, from.Format(time.RFC3339), to.Format(time.RFC3339),
			secs(t.Up), secs(t.Degraded), secs(t.Down), secs(t.Maintenance), secs(t.Paused), secs(t.NoData),
			pct(avail), pct(r.Objective)})
	}
	for _, r := range reports {
		for _, row := range r.Breakdown {
			line(r, row.Label, row.From, row.To, row.Times, row.Availability)
		}
		line(r, r.Period, r.From, r.To, r.Times, r.Availability)
	}
	cw.Flush()
	return cw.Error()
}

//go:embed sla.html continuity.html style.html
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"pct": func(p *float64) string {
		if p == nil {
			return "no data"
		}
		return fmtPercent(*p)
	},
	"target": fmtTarget,
	"dur": func(d Duration) string {
		if d < 0 {
			return "overrun by " + (-d).String()
		}
		return d.String()
	},
	"deref": func(p any) any {
		switch v := p.(type) {
		case *float64:
			return *v
		case *bool:
			return *v
		}
		return nil
	},
	"derefd":    func(d *Duration) Duration { return *d },
	"derefTime": func(t *time.Time) time.Time { return *t },
	"optdur": func(d *Duration) string {
		if d == nil {
			return "none"
		}
		return d.String()
	},
	"verdictClass": func(status string) string {
		switch status {
		case VerdictMet:
			return "good"
		case VerdictMissed:
			return "bad"
		}
		return "unknown"
	},
	"span": func(a, b time.Time) Duration { return Duration(b.Sub(a)) },
	"when": func(t time.Time) string { return t.Format("2006-01-02 15:04") },
}).ParseFS(files, "*.html"))
