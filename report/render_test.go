package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestJSONShape(t *testing.T) {
	r := compute(t, history(t), []string{"web", "db"}, "2026-10", 99.9)
	var buf bytes.Buffer
	if err := Write(&buf, "json", []*SLA{r}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Reports []map[string]any `json:"reports"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	g := got.Reports[0]
	for key, want := range map[string]any{
		"service": "api", "period": "2026-10", "time_zone": "UTC", "down_seconds": 12600.0,
		"no_data_seconds": 86400.0, "maintenance_seconds": 7200.0, "objective_percent": 99.9,
		"objective_met": false, "outages": 2.0, "mttr_seconds": 6300.0, "longest_outage_seconds": 10800.0,
	} {
		if g[key] != want {
			t.Errorf("%s = %v, want %v", key, g[key], want)
		}
	}
	if b, ok := g["budget_remaining_seconds"].(float64); !ok || b >= 0 {
		t.Errorf("budget_remaining_seconds = %v, want negative (overrun)", g["budget_remaining_seconds"])
	}
	if len(g["breakdown"].([]any)) != 31 || len(g["nines"].([]any)) != 6 {
		t.Errorf("breakdown or nines missing: %s", buf.String())
	}
}

func TestCSVShape(t *testing.T) {
	r := compute(t, history(t), []string{"web", "db"}, "2026-10", 99.9)
	var buf bytes.Buffer
	if err := Write(&buf, "csv", []*SLA{r}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+31+1 || rows[0][0] != "service" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if day := rows[11]; day[1] != "2026-10-11" || day[6] != "7200" {
		t.Errorf("Oct 11 = %v, want 7200 s down", day)
	}
	if total := rows[32]; total[1] != "2026-10" || total[6] != "12600" || total[9] != "86400" || total[11] != "99.9" {
		t.Errorf("total = %v", total)
	}
}

func TestHTMLPrintable(t *testing.T) {
	db := history(t)
	a := compute(t, db, []string{"web", "db"}, "2026-10", 99.9)
	b := compute(t, db, []string{"web"}, "2026-10", 0)
	var buf bytes.Buffer
	if err := Write(&buf, "html", []*SLA{a, b}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	var sections, tables int
	var style string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "section":
			sections++
		case "table":
			tables++
		case "style":
			style += n.FirstChild.Data
		}
	}
	if sections != 2 || tables < 6 {
		t.Errorf("%d sections, %d tables", sections, tables)
	}
	for _, want := range []string{"@media print", "@page", "break-after: page", "break-inside: avoid", "table-header-group"} {
		if !strings.Contains(style, want) {
			t.Errorf("print stylesheet lacks %q", want)
		}
	}
	for _, want := range []string{"99.513%", "overrun by 2h46m55s", "2026-10-20"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "pdf", nil); err == nil || !strings.Contains(err.Error(), "html, json or csv") {
		t.Errorf("err = %v", err)
	}
}
