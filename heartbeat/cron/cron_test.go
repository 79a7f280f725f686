package cron

import (
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"":                       "0 fields",
		"* * * *":                "4 fields",
		"* * * * * *":            "6 fields",
		"60 * * * *":             "minute: 60 is out of range",
		"* 24 * * *":             "hour: 24 is out of range",
		"* * 0 * *":              "day of month: 0 is out of range",
		"* * * 13 *":             "month: 13 is out of range",
		"* * * * 8":              "day of week: 8 is out of range",
		"* * * foo *":            `month: invalid value "foo"`,
		"*/0 * * * *":            `minute: invalid step "0"`,
		"5-1 * * * *":            "runs backwards",
		"1,,2 * * * *":           "empty item",
		"+5 * * * *":             `invalid value "+5"`,
		"0 0 30 2 *":             "never matches",
		"@reboot":                "unknown shorthand",
		"@every 1h":              "unknown shorthand",
		strings.Repeat("*", 300): "longer than",
	} {
		_, err := Parse(expr, time.UTC)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", expr, err, want)
		}
	}
	if _, err := Parse("* * * * *", nil); err == nil {
		t.Error("Parse without a location succeeded")
	}
}

// runs lists the runs of expr in (from, to].
func runs(t *testing.T, expr string, loc *time.Location, from, to time.Time) []string {
	t.Helper()
	s, err := Parse(expr, loc)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	var out []string
	for at := s.Next(from); !at.IsZero() && !at.After(to); at = s.Next(at) {
		out = append(out, at.In(loc).Format("01-02 15:04 MST"))
		if len(out) > 5000 {
			t.Fatal("too many runs")
		}
	}
	return out
}

func TestNext(t *testing.T) {
	utc := time.UTC
	from := time.Date(2026, 11, 23, 0, 0, 0, 0, utc)
	for _, tc := range []struct {
		expr string
		days int
		want string
	}{
		{"0 6 * * *", 3, "11-23 06:00 UTC,11-24 06:00 UTC,11-25 06:00 UTC"},
		{"@daily", 2, "11-23 00:00 UTC,11-24 00:00 UTC,11-25 00:00 UTC"},
		{"*/20 6-7 * * *", 1, "11-23 06:00 UTC,11-23 06:20 UTC,11-23 06:40 UTC,11-23 07:00 UTC,11-23 07:20 UTC,11-23 07:40 UTC"},
		{"50/5 23 * * *", 1, "11-23 23:50 UTC,11-23 23:55 UTC"},
		// 2026-11-23 is a Monday. Both day fields restricted: either matches.
		{"0 0 1 * mon", 15, "11-23 00:00 UTC,11-30 00:00 UTC,12-01 00:00 UTC,12-07 00:00 UTC"},
		// A star in one day field: both must match (the star always does).
		{"0 0 * * MON-tue", 8, "11-23 00:00 UTC,11-24 00:00 UTC,11-30 00:00 UTC,12-01 00:00 UTC"},
		{"0 0 */10 * *", 20, "12-01 00:00 UTC,12-11 00:00 UTC"},
		// 7 and 0 are both Sunday.
		{"0 12 * * 7", 14, "11-29 12:00 UTC,12-06 12:00 UTC"},
		{"0 12 * * 0", 14, "11-29 12:00 UTC,12-06 12:00 UTC"},
		{"0 12 * * 5-7", 7, "11-27 12:00 UTC,11-28 12:00 UTC,11-29 12:00 UTC"},
		{"0 0 1 jan,JUL *", 410, "01-01 00:00 UTC,07-01 00:00 UTC,01-01 00:00 UTC"},
	} {
		got := strings.Join(runs(t, tc.expr, utc, from.Add(-time.Nanosecond), from.AddDate(0, 0, tc.days)), ",")
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.expr, got, tc.want)
		}
	}

	// A leap day is found years ahead.
	s, err := Parse("0 0 29 2 *", utc)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Date(2096, 3, 1, 0, 0, 0, 0, utc)); !got.Equal(time.Date(2104, 2, 29, 0, 0, 0, 0, utc)) {
		t.Errorf("next leap day after 2096-03-01 = %v", got)
	}
	if s.String() != "0 0 29 2 *" || s.Location() != utc {
		t.Errorf("String, Location = %q, %v", s.String(), s.Location())
	}
}

// TestDST walks whole days on which the clocks change in Europe/Berlin: runs in the skipped hour
// are not expected, runs in the repeated hour are expected once.
func TestDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	spring := time.Date(2026, 3, 29, 0, 0, 0, 0, berlin) // 02:00 CET -> 03:00 CEST
	fall := time.Date(2026, 10, 25, 0, 0, 0, 0, berlin)  // 03:00 CEST -> 02:00 CET
	day := func(d time.Time) (time.Time, time.Time) {
		return d.Add(-time.Nanosecond), d.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}

	for _, tc := range []struct {
		expr string
		day  time.Time
		want string
	}{
		{"30 2 * * *", spring, ""},
		{"30 2 * * *", fall, "10-25 02:30 CEST"},
		{"0 6 * * *", spring, "03-29 06:00 CEST"},
		{"0 6 * * *", fall, "10-25 06:00 CET"},
		{"0 1-4 * * *", spring, "03-29 01:00 CET,03-29 03:00 CEST,03-29 04:00 CEST"},
		{"0 1-4 * * *", fall, "10-25 01:00 CEST,10-25 02:00 CEST,10-25 03:00 CET,10-25 04:00 CET"},
		{"*/30 2 * * *", fall, "10-25 02:00 CEST,10-25 02:30 CEST"},
	} {
		from, to := day(tc.day)
		got := strings.Join(runs(t, tc.expr, berlin, from, to), ",")
		if got != tc.want {
			t.Errorf("%q on %s:\n got %s\nwant %s", tc.expr, tc.day.Format("2006-01-02"), got, tc.want)
		}
	}

	// Hourly: 23 runs on the short day, 24 on the long one (the repeated 02:00 once).
	for d, want := range map[time.Time]int{spring: 23, fall: 24} {
		from, to := day(d)
		if n := len(runs(t, "0 * * * *", berlin, from, to)); n != want {
			t.Errorf("hourly on %s: %d runs, want %d", d.Format("2006-01-02"), n, want)
		}
	}
	// Every minute: no instant twice, always moving forward, also through the repeated hour.
	from, to := day(fall)
	s, _ := Parse("* * * * *", berlin)
	n := 0
	for at := s.Next(from); at.Before(to); at = s.Next(at) {
		n++
	}
	if want := 24*60 + 0; n != want {
		// The repeated hour's wall times are expected once: 1440 distinct wall minutes.
		t.Errorf("every minute on the long day: %d runs, want %d", n, want)
	}
	// From inside the repeated hour (second pass, CET), the next 02:30 is the next day's.
	inRepeat := time.Date(2026, 10, 25, 1, 40, 0, 0, time.UTC) // 02:40 CET
	s, _ = Parse("30 2 * * *", berlin)
	if got := s.Next(inRepeat).In(berlin).Format("01-02 15:04 MST"); got != "10-26 02:30 CET" {
		t.Errorf("next 02:30 after 02:40 CET on the long day = %s", got)
	}
}

// TestZones checks a zone with a half-hour shift and one far from UTC.
func TestZones(t *testing.T) {
	lordHowe := mustLoad(t, "Australia/Lord_Howe") // +11 -> +10:30 on 2026-04-05 at 02:00
	got := strings.Join(runs(t, "45 1 * * *", lordHowe, time.Date(2026, 4, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, 4, 6, 12, 0, 0, 0, time.UTC)), ",")
	if got != "04-05 01:45 +11,04-06 01:45 +1030" {
		t.Errorf("Lord Howe: %s", got)
	}
	kiritimati := mustLoad(t, "Pacific/Kiritimati") // +14
	s, _ := Parse("0 0 * * *", kiritimati)
	if got := s.Next(time.Date(2026, 1, 1, 9, 59, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Kiritimati midnight = %v", got.UTC())
	}
}
