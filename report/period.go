// Package report computes service level reports (measured availability against the objective,
// downtime budget, outages, per-day breakdown) from the monitors' stored transitions and the
// engine's sessions, and renders them as JSON, CSV or printable HTML.
package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is the span a report covers: [From, To) in Location.
type Period struct {
	Name     string // "2026-10", "2026-Q4", "2026" or "FROM..TO"
	From, To time.Time
	// Monthly is true for a year: its breakdown is per month, not per day.
	Monthly bool
}

// ParsePeriod parses a month ("2026-10"), a quarter ("2026-Q4"), a year ("2026") or a range of
// days ("2026-10-01..2026-10-15", the end day included), in loc.
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	bad := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("period %q: %s (use a month 2026-10, a quarter 2026-Q4, a year 2026 or days 2026-10-01..2026-10-15)", s, why)
	}
	if from, to, ok := strings.Cut(s, ".."); ok {
		a, err := time.ParseInLocation(time.DateOnly, from, loc)
		if err != nil {
			return bad("the first day is not a date")
		}
		b, err := time.ParseInLocation(time.DateOnly, to, loc)
		if err != nil {
			return bad("the last day is not a date")
		}
		if b.Before(a) {
			return bad("the last day is before the first")
		}
		return Period{Name: s, From: a, To: b.AddDate(0, 0, 1)}, nil
	}
	if y, q, ok := strings.Cut(s, "-Q"); ok {
		year, err := strconv.Atoi(y)
		n, err2 := strconv.Atoi(q)
		if err != nil || err2 != nil || len(y) != 4 || n < 1 || n > 4 {
			return bad("not a quarter")
		}
		from := time.Date(year, time.Month(3*(n-1)+1), 1, 0, 0, 0, 0, loc)
		return Period{Name: s, From: from, To: from.AddDate(0, 3, 0)}, nil
	}
	if len(s) == 4 {
		year, err := strconv.Atoi(s)
		if err != nil {
			return bad("not a year")
		}
		from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
		return Period{Name: s, From: from, To: from.AddDate(1, 0, 0), Monthly: true}, nil
	}
	m, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return bad("not a period")
	}
	return Period{Name: s, From: m, To: m.AddDate(0, 1, 0)}, nil
}

// buckets splits the period into days, or months for a year.
func (p Period) buckets() [][2]time.Time {
	var out [][2]time.Time
	for a := p.From; a.Before(p.To); {
		b := a.AddDate(0, 0, 1)
		if p.Monthly {
			b = a.AddDate(0, 1, 0)
		}
		if b.After(p.To) {
			b = p.To
		}
		out = append(out, [2]time.Time{a, b})
		a = b
	}
	return out
}
