package retention

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// clock is the injectable clock of the simulation: each call to next is one daily run.
type clock struct{ now time.Time }

func (c *clock) next() time.Time { c.now = c.now.AddDate(0, 0, 1); return c.now }

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func kept(ds []Decision) []string {
	var ids []string
	for _, d := range ds {
		if d.Keep {
			ids = append(ids, d.Snapshot.ID)
		}
	}
	return ids
}

// TestSimulatedYear runs a daily 06:00 UTC job from 2024-12-01 to 2025-12-31, applying the rules
// after every run and forgetting what they drop, as the backup job does, and checks the survivors
// against a hand-computed list.
func TestSimulatedYear(t *testing.T) {
	rules := Rules{Last: 3, Daily: 7, Weekly: 4, Monthly: 6, Yearly: 2, Within: 10 * 24 * time.Hour}
	c := &clock{now: day("2024-11-30 06:00")}
	var repo []Snapshot
	for c.now.Before(day("2025-12-31 00:00")) {
		now := c.next()
		repo = append(repo, Snapshot{ID: now.Format("2006-01-02"), Time: now})
		var survivors []Snapshot
		for _, d := range Apply(rules, repo, time.UTC) {
			if d.Keep {
				survivors = append(survivors, d.Snapshot)
			}
		}
		repo = survivors
	}

	// By hand: 2025-12-31 is a Wednesday in ISO week 2026-W01 (which starts Monday 12-29).
	// within 10d of 12-31 06:00: 12-22 .. 12-31 (12-21 06:00 is exactly 10 days: not within)
	// last 3: 12-29 .. 12-31; daily 7: 12-25 .. 12-31
	// weekly 4: 12-31 (2026-W01), 12-28 (W52), 12-21 (W51), 12-14 (W50)
	// monthly 6: 12-31, 11-30, 10-31, 09-30, 08-31, 07-31
	// yearly 2: 2025-12-31, 2024-12-31
	want := []string{
		"2024-12-31",
		"2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30",
		"2025-12-14", "2025-12-21",
		"2025-12-22", "2025-12-23", "2025-12-24", "2025-12-25", "2025-12-26", "2025-12-27",
		"2025-12-28", "2025-12-29", "2025-12-30", "2025-12-31",
	}
	var got []string
	for _, s := range repo {
		got = append(got, s.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kept after a year of daily runs:\n got %v\nwant %v", got, want)
	}

	// Applying the rules once to the whole year keeps the same snapshots, with these reasons.
	var all []Snapshot
	for d := day("2024-12-01 06:00"); !d.After(day("2025-12-31 06:00")); d = d.AddDate(0, 0, 1) {
		all = append(all, Snapshot{ID: d.Format("2006-01-02"), Time: d})
	}
	ds := Apply(rules, all, time.UTC)
	if got := kept(ds); !slices.Equal(got, want) {
		t.Fatalf("kept by one pass over the year:\n got %v\nwant %v", got, want)
	}
	reasons := map[string]string{}
	for _, d := range ds {
		reasons[d.Snapshot.ID] = strings.Join(d.Reasons, ", ")
	}
	for id, want := range map[string]string{
		"2025-12-31": "last snapshot, daily snapshot, weekly snapshot, monthly snapshot, yearly snapshot, within 10d",
		"2025-12-28": "daily snapshot, weekly snapshot, within 10d",
		"2025-12-22": "within 10d",
		"2025-12-21": "weekly snapshot",
		"2025-07-31": "monthly snapshot",
		"2024-12-31": "yearly snapshot",
		"2025-07-30": "",
	} {
		if reasons[id] != want {
			t.Errorf("reasons for %s = %q, want %q", id, reasons[id], want)
		}
	}
}

func TestZeroRulesKeepEverything(t *testing.T) {
	snaps := []Snapshot{{"b", day("2025-01-02 00:00")}, {"a", day("2025-01-01 00:00")}}
	ds := Apply(Rules{}, snaps, nil)
	for i, d := range ds {
		if !d.Keep || !slices.Equal(d.Reasons, []string{ReasonNoRules}) || d.Snapshot != snaps[i] {
			t.Errorf("decision %d = %+v, want kept for %q", i, d, ReasonNoRules)
		}
	}
	if got := Apply(Rules{Daily: 3}, nil, nil); len(got) != 0 {
		t.Errorf("no snapshots: got %v", got)
	}
}

// Several runs a day: the newest of each day is the daily one, in the order given.
func TestSeveralPerDay(t *testing.T) {
	var snaps []Snapshot
	for _, s := range []string{"2025-03-03 23:00", "2025-03-01 01:00", "2025-03-01 13:00", "2025-03-01 23:00",
		"2025-03-02 01:00", "2025-03-02 13:00", "2025-03-02 23:00", "2025-03-03 01:00", "2025-03-03 13:00"} {
		snaps = append(snaps, Snapshot{ID: s, Time: day(s)})
	}
	ds := Apply(Rules{Daily: 2, Last: 2}, snaps, time.UTC)
	want := []string{"2025-03-03 23:00", "2025-03-02 23:00", "2025-03-03 13:00"}
	if got := kept(ds); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	if d := ds[0]; !slices.Equal(d.Reasons, []string{ReasonLast, ReasonDaily}) {
		t.Errorf("reasons of the newest = %v", d.Reasons)
	}
	// Unlimited: one per day, every day.
	want = []string{"2025-03-03 23:00", "2025-03-01 23:00", "2025-03-02 23:00"}
	if got := kept(Apply(Rules{Daily: -1}, snaps, time.UTC)); !slices.Equal(got, want) {
		t.Fatalf("daily -1 kept %v, want %v", got, want)
	}
}

func TestSameTimeOrderedByID(t *testing.T) {
	at := day("2025-05-05 05:05")
	for _, snaps := range [][]Snapshot{{{"x", at}, {"y", at}}, {{"y", at}, {"x", at}}} {
		if got := kept(Apply(Rules{Last: 1}, snaps, nil)); !slices.Equal(got, []string{"x"}) {
			t.Errorf("Apply(last 1, %v) kept %v, want [x]", snaps, got)
		}
	}
}

func TestTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	snaps := []Snapshot{
		{"a", day("2025-03-10 03:00")}, // 2025-03-09 23:00 EDT
		{"b", day("2025-03-10 05:00")}, // 2025-03-10 01:00 EDT
		{"c", day("2025-03-11 04:30")}, // 2025-03-11 00:30 EDT
	}
	if got := kept(Apply(Rules{Daily: 3}, snaps, time.UTC)); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("daily in UTC kept %v, want [b c]", got)
	}
	if got := kept(Apply(Rules{Daily: 3}, snaps, ny)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("daily in New York kept %v, want [a b c]", got)
	}

	// The night the clocks go back, 01:00-01:59 happens twice: both are the same local hour, so
	// the hourly rule keeps the later one only (restic does the same). The day of 25 hours is one day.
	snaps = []Snapshot{
		{"0030EDT", day("2025-11-02 04:30")},
		{"0130EDT", day("2025-11-02 05:30")},
		{"0130EST", day("2025-11-02 06:30")},
		{"0230EST", day("2025-11-02 07:30")},
	}
	if got := kept(Apply(Rules{Hourly: 10}, snaps, ny)); !slices.Equal(got, []string{"0030EDT", "0130EST", "0230EST"}) {
		t.Errorf("hourly across the end of DST kept %v", got)
	}
	if got := kept(Apply(Rules{Daily: 10}, snaps, ny)); !slices.Equal(got, []string{"0230EST"}) {
		t.Errorf("daily across the end of DST kept %v", got)
	}
	// The day the clocks go forward (23 hours) has its own daily snapshot.
	snaps = []Snapshot{
		{"sat", day("2025-03-09 04:59")}, // 2025-03-08 23:59 EST
		{"sun", day("2025-03-10 03:59")}, // 2025-03-09 23:59 EDT
		{"mon", day("2025-03-10 04:00")}, // 2025-03-10 00:00 EDT
	}
	if got := kept(Apply(Rules{Daily: 10}, snaps, ny)); !slices.Equal(got, []string{"sat", "sun", "mon"}) {
		t.Errorf("daily around the start of DST kept %v", got)
	}
}

func TestWithinReason(t *testing.T) {
	for d, want := range map[time.Duration]string{
		14 * 24 * time.Hour: "within 14d",
		36 * time.Hour:      "within 36h0m0s",
	} {
		ds := Apply(Rules{Within: d}, []Snapshot{{"a", day("2025-01-01 00:00")}}, nil)
		if got := fmt.Sprint(ds[0].Reasons); got != "["+want+"]" {
			t.Errorf("within %v: reasons %s, want [%s]", d, got, want)
		}
	}
}
