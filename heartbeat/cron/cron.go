// Package cron reads the five-field cron expressions of heartbeat schedules and says when the
// next run of a job is expected, in the job's time zone.
//
// The syntax is that of the cron daemons jobs actually run under (Vixie, Debian, cronie):
// minute, hour, day of month, month and day of week; each a "*", a number, a range ("1-5"),
// a step ("*/15", "0-30/10", "5/10" meaning 5 to the end in steps of 10) or a comma-separated
// list of these; month and day names (JAN-DEC, SUN-SAT, any case); 0 and 7 both Sunday; the
// shorthands @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly. When both the
// day of month and the day of week are restricted (neither starts with "*"), a day matching
// either one matches, as in every cron.
//
// # Why not github.com/robfig/cron/v3
//
// Upkeep does not run jobs, it waits for their pings, so it must never expect a run that the
// job's cron does not make: that would be a false alarm. robfig/cron v3.0.1 (the last release,
// from 2020) expects a run scheduled in the hour that is repeated when clocks fall back twice,
// one hour apart (measured: "30 2 * * *" in Europe/Berlin gives 02:30 CEST and 02:30 CET on
// 2026-10-25), while Debian's and cronie's cron run such a job once. Its parser is the smaller
// half of the work and does not take 7 for Sunday. Both halves are written here.
//
// # Daylight saving time
//
// Expectations lean towards never raising a false alarm. A run scheduled at a wall-clock time
// that does not exist (in the hour skipped when clocks spring forward) is not expected: some
// crons run it right after the change, others (Kubernetes CronJobs) skip it. A run scheduled at
// a time that exists twice (when clocks fall back) is expected once, at the first occurrence.
package cron

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed cron expression in a time zone.
type Schedule struct {
	expr   string
	loc    *time.Location
	minute uint64 // bit i: minute i
	hour   uint64
	dom    uint64 // bits 1-31
	month  uint64 // bits 1-12
	dow    uint64 // bits 0-6, Sunday 0
	// domStar and dowStar record a field starting with "*": the day matches when both fields
	// match if either is a star, and when either matches otherwise.
	domStar, dowStar bool
}

type field struct {
	name     string
	min, max int
	names    []string // names for min, min+1, ... (months, days)
}

var (
	minuteField = field{name: "minute", min: 0, max: 59}
	hourField   = field{name: "hour", min: 0, max: 23}
	domField    = field{name: "day of month", min: 1, max: 31}
	monthField  = field{name: "month", min: 1, max: 12,
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	// 7 is Sunday as well as 0; it is folded into bit 0 after parsing.
	dowField = field{name: "day of week", min: 0, max: 7,
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

var shorthands = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// horizon is how far ahead Next looks for a run: a leap day can be eight years away (2096 to
// 2104).
const horizon = 8*366 + 2 // days

// maxLen bounds the expressions read; a real one is a few dozen characters.
const maxLen = 200

// Parse reads expr, a five-field cron expression or a shorthand, for the time zone loc. It
// rejects expressions that never match (February 30th).
func Parse(expr string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		return nil, errors.New("no time zone given")
	}
	if len(expr) > maxLen {
		return nil, fmt.Errorf("longer than %d characters", maxLen)
	}
	text := strings.TrimSpace(expr)
	if strings.HasPrefix(text, "@") {
		full, ok := shorthands[strings.ToLower(text)]
		if !ok {
			return nil, fmt.Errorf("unknown shorthand %q (known: @yearly, @monthly, @weekly, @daily, @hourly)", text)
		}
		text = full
	}
	parts := strings.Fields(text)
	if len(parts) != 5 {
		return nil, fmt.Errorf("%d fields instead of 5 (minute, hour, day of month, month, day of week)", len(parts))
	}
	s := &Schedule{expr: strings.Join(strings.Fields(expr), " "), loc: loc}
	var err error
	if s.minute, err = minuteField.parse(parts[0]); err != nil {
		return nil, err
	}
	if s.hour, err = hourField.parse(parts[1]); err != nil {
		return nil, err
	}
	if s.dom, err = domField.parse(parts[2]); err != nil {
		return nil, err
	}
	if s.month, err = monthField.parse(parts[3]); err != nil {
		return nil, err
	}
	if s.dow, err = dowField.parse(parts[4]); err != nil {
		return nil, err
	}
	if s.dow&(1<<7) != 0 {
		s.dow = s.dow&^(1<<7) | 1
	}
	s.domStar, s.dowStar = strings.HasPrefix(parts[2], "*"), strings.HasPrefix(parts[4], "*")
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, errors.New("the expression never matches a date")
	}
	return s, nil
}

// parse reads one field into a bit set.
func (f field) parse(text string) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return 0, fmt.Errorf("%s: empty item in %q", f.name, text)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 || n > f.max {
				return 0, fmt.Errorf("%s: invalid step %q", f.name, stepText)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
			if f.name == dowField.name {
				hi = 6 // "*" is every day once; 7 would only repeat Sunday
			}
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			if hi, err = f.value(b); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("%s: range %q runs backwards", f.name, rng)
			}
		default:
			v, err := f.value(rng)
			if err != nil {
				return 0, err
			}
			lo = v
			if !hasStep {
				hi = v // "5/10" means 5 to the end in steps of 10
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

// value reads a number or a name of the field.
func (f field) value(text string) (int, error) {
	if n, err := strconv.Atoi(text); err == nil && text != "" && text[0] != '+' && text[0] != '-' {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%s: %d is out of range (%d to %d)", f.name, n, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if strings.EqualFold(text, name) {
			return f.min + i, nil
		}
	}
	if f.names != nil {
		return 0, fmt.Errorf("%s: invalid value %q (a number from %d to %d, or a name such as %s)", f.name, text, f.min, f.max, strings.ToUpper(f.names[0]))
	}
	return 0, fmt.Errorf("%s: invalid value %q (a number from %d to %d)", f.name, text, f.min, f.max)
}

// String returns the expression as written, with its spaces normalised.
func (s *Schedule) String() string { return s.expr }

// Location returns the time zone the schedule is read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// dayMatches reports whether the schedule runs on the given date at all.
func (s *Schedule) dayMatches(month time.Month, day int, weekday time.Weekday) bool {
	if s.month&(1<<uint(month)) == 0 {
		return false
	}
	domOK := s.dom&(1<<uint(day)) != 0
	dowOK := s.dow&(1<<uint(weekday)) != 0
	if s.domStar || s.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// Next returns the first run after t, or the zero time if there is none within eight years.
// Runs at wall-clock times that do not exist are not expected, runs at times that exist twice
// are expected once (see the package comment).
func (s *Schedule) Next(t time.Time) time.Time {
	local := t.In(s.loc)
	// Start a day early: the wall-clock date of t can be ahead of the first candidate when
	// clocks have just fallen back.
	y, m, d := local.Date()
	day := time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC)
	// Wall-clock times more than a few hours before t's cannot be after t (no zone has ever set
	// its clocks back by more than that), so they are skipped without looking up the zone.
	earliest := time.Date(y, m, d, local.Hour(), local.Minute(), 0, 0, time.UTC).Add(-3 * time.Hour)
	for range horizon {
		y, m, d := day.Date()
		if s.dayMatches(m, d, day.Weekday()) {
			for hours := s.hour; hours != 0; hours &= hours - 1 {
				h := bits.TrailingZeros64(hours)
				for minutes := s.minute; minutes != 0; minutes &= minutes - 1 {
					mi := bits.TrailingZeros64(minutes)
					wall := time.Date(y, m, d, h, mi, 0, 0, time.UTC)
					if wall.Before(earliest) {
						continue
					}
					if at, ok := s.instant(wall); ok && at.After(t) {
						return at
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// instant returns the first instant at which the clocks of the schedule's zone show wall (given
// as a UTC time with the same fields), and false when they never do (the time is skipped).
func (s *Schedule) instant(wall time.Time) (time.Time, bool) {
	w := wall.Unix()
	// The zone's offset at the instant sought is one of the offsets in force within a day of it.
	var best int64
	found := false
	for _, probe := range [...]int64{w - 86400, w, w + 86400} {
		_, off := time.Unix(probe, 0).In(s.loc).Zone()
		at := w - int64(off)
		if _, o := time.Unix(at, 0).In(s.loc).Zone(); o != off {
			continue // this offset is not in force at that instant
		}
		if !found || at < best {
			best, found = at, true
		}
	}
	if !found {
		return time.Time{}, false
	}
	return time.Unix(best, 0).In(s.loc), true
}
