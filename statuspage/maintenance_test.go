package statuspage_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/httpapi"
	"github.com/upkeep-dev/upkeep/internal/fakeclock"
	"github.com/upkeep-dev/upkeep/maintenance"
	"github.com/upkeep-dev/upkeep/statuspage"
)

// TestMaintenanceShownAtOnce: a window scheduled at runtime, ended, or declared by a new policy
// is on the page and in the v2 JSON with the very next request, although the page had been
// rendered and cached just before; a window's start and end, and a recurring window's next
// occurrence, are shown as soon as the (fake) clock reaches them, with no other change to
// invalidate the cache and nothing running in the background.
func TestMaintenanceShownAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	clock := fakeclock.New(now)
	sched := maintenance.New(maintenance.Config{Store: f.db, Clock: clock})
	if err := sched.Apply(ctx, f.pol); err != nil {
		t.Fatal(err)
	}
	page := statuspage.New(statuspage.Config{Monitoring: f.eng, Rollups: f.db, Incidents: f.inc, Maintenance: sched, Now: clock.Now})
	page.Apply(f.pol)
	srv := httpTestServer(t, httpapi.Config{Store: f.db, Runtime: runtime{f.pol}, StatusPage: page, Now: clock.Now})
	get := func(path string) string { t.Helper(); return getBody(t, srv+path, http.StatusOK) }
	// windows returns "name status scheduled_for" of a v2 maintenance document.
	windows := func(doc string) []string {
		t.Helper()
		var out struct {
			ScheduledMaintenances []struct {
				Name         string    `json:"name"`
				Status       string    `json:"status"`
				ScheduledFor time.Time `json:"scheduled_for"`
			} `json:"scheduled_maintenances"`
		}
		if err := json.Unmarshal([]byte(get("/api/v2/"+doc)), &out); err != nil {
			t.Fatal(err)
		}
		var ws []string
		for _, m := range out.ScheduledMaintenances {
			ws = append(ws, m.Name+" "+m.Status+" "+m.ScheduledFor.UTC().Format("Jan 2 15:04"))
		}
		return ws
	}
	expect := func(when string, want ...string) {
		t.Helper()
		if got := windows("scheduled-maintenances.json"); !slices.Equal(got, want) {
			t.Errorf("%s: scheduled-maintenances.json has %q, want %q", when, got, want)
		}
		page := get("/")
		for _, w := range want {
			if name := strings.Fields(w)[0]; !strings.Contains(page, name) {
				t.Errorf("%s: the page does not show %s", when, name)
			}
		}
	}
	expect("before") // rendered and cached

	// Scheduled through the API (Create is what POST /api/v1/maintenance and the CLI call).
	w, err := sched.Create(ctx, maintenance.NewWindow{Title: "Disk-swap", Services: []string{"web"},
		Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	expect("scheduled", "Disk-swap scheduled Mar 10 14:00")
	if got := windows("scheduled-maintenances/upcoming.json"); len(got) != 1 {
		t.Errorf("upcoming.json: %q", got)
	}

	// It starts, then ends: nothing but time changes.
	clock.Advance(2 * time.Hour)
	expect("at its start", "Disk-swap in_progress Mar 10 14:00")
	if got := windows("scheduled-maintenances/active.json"); len(got) != 1 || windows("scheduled-maintenances/upcoming.json") != nil {
		t.Errorf("at its start: active.json %q, upcoming.json %q", got, windows("scheduled-maintenances/upcoming.json"))
	}
	clock.Advance(time.Hour)
	expect("at its end")

	// Another one, cancelled before it starts.
	w, err = sched.Create(ctx, maintenance.NewWindow{Title: "Router-swap", Services: []string{"api"},
		Start: clock.Now().Add(time.Hour), End: clock.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	expect("scheduled", "Router-swap scheduled Mar 10 16:00")
	if _, err := sched.End(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	expect("cancelled")

	// A recurring window declared in a new policy (every day at 03:00 for an hour), then its
	// next occurrence once the current one is over.
	pol := parsePolicy(t, testPolicy+`maintenance:
  - {name: nightly, title: Nightly-backup, services: [db], cron: "0 3 * * *", duration: 1h}
`)
	if err := sched.Apply(ctx, pol); err != nil {
		t.Fatal(err)
	}
	expect("declared", "Nightly-backup scheduled Mar 11 03:00")
	clock.Advance(12 * time.Hour) // Mar 11 03:00
	expect("its first occurrence", "Nightly-backup in_progress Mar 11 03:00")
	clock.Advance(time.Hour)
	expect("after it", "Nightly-backup scheduled Mar 12 03:00")
}
