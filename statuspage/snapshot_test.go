package statuspage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/statuspage"
)

func TestSnapshotFromStore(t *testing.T) {
	f := newFixture(t, nil)
	s, err := f.page.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Services) != 3 || s.Services[0].Name != "web" || s.Services[1].Name != "api" || s.Services[2].Name != "db" {
		t.Fatalf("services %+v", s.Services)
	}
	if len(s.Groups) != 2 || s.Groups[0].Name != "" || s.Groups[1].Name != "Backend" || len(s.Groups[1].Services) != 2 {
		t.Errorf("groups %+v", s.Groups)
	}
	web, api, db := s.Services[0], s.Services[1], s.Services[2]
	if web.Status != statuspage.Operational || api.Status != statuspage.PartialOutage || db.Known {
		t.Errorf("states web %s, api %s, db known %v", web.Status, api.Status, db.Known)
	}
	if s.Overall.Status != statuspage.PartialOutage || s.Overall.Indicator != "major" || s.Overall.Description != "Partial System Outage" {
		t.Errorf("overall %+v", s.Overall)
	}

	if len(web.Days) != 14 || !web.Days[13].Date.Equal(day(0)) || !web.Days[0].Date.Equal(day(13)) {
		t.Fatalf("web has %d days from %s", len(web.Days), web.Days[0].Date)
	}
	at := func(svc *statuspage.Service, n int) statuspage.Day { return svc.Days[13-n] }
	for _, n := range []int{13, 11, 3} { // before the first session, and the day Upkeep was stopped
		if d := at(web, n); d.Known {
			t.Errorf("day %d has data: %+v", n, d)
		}
	}
	if d := at(web, 10); !d.Known || d.Fraction != 1 || d.Down != 0 {
		t.Errorf("day 10: %+v", d)
	}
	d5 := at(web, 5)
	if want := 1 - 30.0/(24*60); !d5.Known || d5.Down != 30*time.Minute || d5.Fraction != want {
		t.Errorf("day 5: %+v, want 30m down, fraction %v", d5, want)
	}
	if len(d5.Incidents) != 1 || d5.Incidents[0].Title != "Website is down" {
		t.Errorf("day 5 incidents %+v", d5.Incidents)
	}
	if d4 := at(web, 4); len(d4.Incidents) != 1 || d4.Incidents[0].Title != "Slow logins" {
		t.Errorf("day 4 incidents %+v", d4.Incidents)
	}
	// api is as available as its worse monitor: api-a is down for the last 30 minutes of the
	// 12 hours of today so far.
	if d := at(api, 0); d.Down != 30*time.Minute || d.Fraction != 1-30.0/(12*60) {
		t.Errorf("api today: %+v", d)
	}
	w24 := api.Windows[0]
	if w24.Label != "24h" || !w24.Known || w24.Fraction != 1-0.5/24 {
		t.Errorf("api 24h window %+v", w24)
	}
	// 7 days from day 7 12:00: 84h to day 3, day 3 is no data, 60h from day 2 on; 30 minutes down.
	if w7 := web.Windows[1]; w7.Fraction != 1-0.5/144 {
		t.Errorf("web 7d %v, want %v", w7.Fraction, 1-0.5/144)
	}
	// 30 days: data only from day 10 to day 3 (168h) and from day 2 on (60h).
	if w30 := web.Windows[2]; w30.Fraction != 1-0.5/228 {
		t.Errorf("web 30d %v, want %v", w30.Fraction, 1-0.5/228)
	}
	if len(web.LatencyDays) != 2 || web.LatencyDays[0].P50 != 104*time.Millisecond || web.LatencyDays[1].P95 != 309*time.Millisecond {
		t.Errorf("latency %+v", web.LatencyDays)
	}

	// Incidents: api's is open, web's automatic one and the manual one resolved; internal's
	// (a monitor without a service) is not public.
	if len(s.Active) != 1 || s.Active[0].Title != "Public API is down" || s.Active[0].Status != upkeep.StatusInvestigating {
		t.Errorf("active %+v", s.Active)
	}
	if len(s.History) != 2 || s.History[0].Title != "Slow logins" || s.History[1].Title != "Website is down" {
		t.Fatalf("history %+v", s.History)
	}
	manual := s.History[0]
	if len(manual.Updates) != 2 || manual.Updates[0].Message != "Logins are fast again." || manual.Updates[1].Message != "Logins take a minute." {
		t.Errorf("manual updates %+v", manual.Updates)
	}
	if manual.Report == nil || manual.Report.Cause != "A full session table." {
		t.Errorf("report %+v", manual.Report)
	}
	auto := s.History[1]
	if len(auto.Updates) != 2 || auto.Updates[0].Status != upkeep.StatusResolved || !strings.Contains(auto.Updates[1].Message, "Website") {
		t.Errorf("automatic incident's public updates %+v", auto.Updates)
	}
}
