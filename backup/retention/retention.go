// Package retention decides which snapshots a backup job keeps, with restic's `forget --keep-*`
// semantics, as a pure function: no repository, no clock, no I/O.
//
// The rules are those of restic (https://restic.readthedocs.io/en/stable/060_forget.html), which
// users already know: snapshots are walked from the newest to the oldest; a "last" rule keeps the
// N newest; an hourly/daily/weekly/monthly/yearly rule keeps the newest snapshot of each of the N
// most recent hours/days/ISO weeks/months/years that have one; "within" keeps every snapshot
// younger than the duration counted back from the newest snapshot (not from now, so a job that
// stopped running does not lose its recent history). A snapshot is kept if any rule keeps it.
// Periods are calendar periods in the given time zone.
package retention

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Rules says how many snapshots of each kind to keep. A count of 0 means the rule is off; a
// negative count means no limit (every hour, day... that has a snapshot). Rules whose fields are
// all zero keep every snapshot.
type Rules struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every snapshot taken less than this long before the newest snapshot.
	Within time.Duration
}

// IsZero reports whether no rule is set, in which case Apply keeps every snapshot.
func (r Rules) IsZero() bool { return r == Rules{} }

// Snapshot is what retention needs to know about a snapshot.
type Snapshot struct {
	ID   string
	Time time.Time
}

// Decision is the verdict on one snapshot: kept (with every rule that keeps it, in the order
// last, hourly, daily, weekly, monthly, yearly, within) or to be forgotten (no reasons).
type Decision struct {
	Snapshot Snapshot
	Keep     bool
	Reasons  []string
}

// Reasons given in Decision.Reasons.
const (
	ReasonNoRules = "no keep rules"
	ReasonLast    = "last snapshot"
	ReasonHourly  = "hourly snapshot"
	ReasonDaily   = "daily snapshot"
	ReasonWeekly  = "weekly snapshot"
	ReasonMonthly = "monthly snapshot"
	ReasonYearly  = "yearly snapshot"
)

// Apply returns one decision per snapshot, in the order of snaps. Periods (hour, day, ISO week,
// month, year) are those of the time zone loc (UTC when nil). Snapshots with equal times are
// ordered by ID, so the result does not depend on the order of snaps.
func Apply(r Rules, snaps []Snapshot, loc *time.Location) []Decision {
	if loc == nil {
		loc = time.UTC
	}
	decisions := make([]Decision, len(snaps))
	for i, s := range snaps {
		decisions[i].Snapshot = s
	}
	if len(snaps) == 0 {
		return decisions
	}
	if r.IsZero() {
		for i := range decisions {
			decisions[i].Keep = true
			decisions[i].Reasons = []string{ReasonNoRules}
		}
		return decisions
	}

	// Newest first, as restic walks them.
	order := make([]int, len(snaps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := snaps[b].Time.Compare(snaps[a].Time); c != 0 {
			return c
		}
		return cmp.Compare(snaps[a].ID, snaps[b].ID)
	})

	buckets := []struct {
		count  int
		period func(t time.Time, nr int) int
		reason string
		last   int
	}{
		{r.Last, func(_ time.Time, nr int) int { return nr }, ReasonLast, -1},
		{r.Hourly, func(t time.Time, _ int) int { return ((t.Year()*100+int(t.Month()))*100+t.Day())*100 + t.Hour() }, ReasonHourly, -1},
		{r.Daily, func(t time.Time, _ int) int { return (t.Year()*100+int(t.Month()))*100 + t.Day() }, ReasonDaily, -1},
		{r.Weekly, func(t time.Time, _ int) int { y, w := t.ISOWeek(); return y*100 + w }, ReasonWeekly, -1},
		{r.Monthly, func(t time.Time, _ int) int { return t.Year()*100 + int(t.Month()) }, ReasonMonthly, -1},
		{r.Yearly, func(t time.Time, _ int) int { return t.Year() }, ReasonYearly, -1},
	}

	newest := snaps[order[0]].Time
	withinReason := "within " + formatDuration(r.Within)
	for nr, i := range order {
		t := snaps[i].Time.In(loc)
		d := &decisions[i]
		for b := range buckets {
			bk := &buckets[b]
			if bk.count == 0 {
				continue
			}
			if p := bk.period(t, nr); p != bk.last {
				bk.last = p
				if bk.count > 0 {
					bk.count--
				}
				d.Reasons = append(d.Reasons, bk.reason)
			}
		}
		if r.Within > 0 && snaps[i].Time.After(newest.Add(-r.Within)) {
			d.Reasons = append(d.Reasons, withinReason)
		}
		d.Keep = len(d.Reasons) > 0
	}
	return decisions
}

// formatDuration writes whole days as "14d" (as a policy says it), anything else as Go does.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return fmt.Sprint(d)
}
