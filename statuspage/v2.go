package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// The /api/v2 documents use the field names, types and values of Atlassian Statuspage's
// public API, so that status consumers written for it work unchanged. Ids are strings: a
// service's id is its name, a group's "group-" and its position, an incident's its number.

type v2Time struct{ time.Time }

func (t v2Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
}

// opt is a time that is null when zero.
func opt(t time.Time) *v2Time {
	if t.IsZero() {
		return nil
	}
	return &v2Time{t}
}

type v2Page struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt v2Time `json:"updated_at"`
}

type v2Status struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type v2Component struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status"`
	CreatedAt          v2Time   `json:"created_at"`
	UpdatedAt          v2Time   `json:"updated_at"`
	Position           int      `json:"position"`
	Description        *string  `json:"description"`
	Showcase           bool     `json:"showcase"`
	StartDate          *string  `json:"start_date"`
	GroupID            *string  `json:"group_id"`
	PageID             string   `json:"page_id"`
	Group              bool     `json:"group"`
	OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
	Components         []string `json:"components,omitempty"` // the members of a group
}

type v2Update struct {
	ID                   string       `json:"id"`
	Status               string       `json:"status"`
	Body                 string       `json:"body"`
	IncidentID           string       `json:"incident_id"`
	CreatedAt            v2Time       `json:"created_at"`
	UpdatedAt            v2Time       `json:"updated_at"`
	DisplayAt            v2Time       `json:"display_at"`
	AffectedComponents   []v2Affected `json:"affected_components"`
	DeliverNotifications bool         `json:"deliver_notifications"`
	CustomTweet          *string      `json:"custom_tweet"`
	TweetID              *string      `json:"tweet_id"`
}

type v2Affected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type v2Incident struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Status         string        `json:"status"`
	CreatedAt      v2Time        `json:"created_at"`
	UpdatedAt      v2Time        `json:"updated_at"`
	MonitoringAt   *v2Time       `json:"monitoring_at"`
	ResolvedAt     *v2Time       `json:"resolved_at"`
	Impact         string        `json:"impact"`
	Shortlink      string        `json:"shortlink"`
	StartedAt      v2Time        `json:"started_at"`
	PageID         string        `json:"page_id"`
	IncidentUpdate []v2Update    `json:"incident_updates"`
	Components     []v2Component `json:"components"`
	// Scheduled maintenances only.
	ScheduledFor   *v2Time `json:"scheduled_for,omitempty"`
	ScheduledUntil *v2Time `json:"scheduled_until,omitempty"`
}

// v2Doc is every /api/v2 document; each fills the fields it has.
type v2Doc struct {
	Page                  v2Page         `json:"page"`
	Components            *[]v2Component `json:"components,omitempty"`
	Incidents             *[]v2Incident  `json:"incidents,omitempty"`
	ScheduledMaintenances *[]v2Incident  `json:"scheduled_maintenances,omitempty"`
	Status                *v2Status      `json:"status,omitempty"`
}

// v2Documents are the /api/v2 documents by name (the path after /api/v2/).
var v2Documents = map[string]func(s *Snapshot, d *v2Doc){
	"summary.json": func(s *Snapshot, d *v2Doc) {
		d.Components = ptr(v2Components(s))
		d.Incidents = ptr(v2Incidents(s, s.Active, 0))
		d.ScheduledMaintenances = ptr(v2Maintenances(s, func(Window) bool { return true }))
		d.Status = ptr(v2StatusOf(s))
	},
	"status.json":     func(s *Snapshot, d *v2Doc) { d.Status = ptr(v2StatusOf(s)) },
	"components.json": func(s *Snapshot, d *v2Doc) { d.Components = ptr(v2Components(s)) },
	"incidents.json": func(s *Snapshot, d *v2Doc) {
		d.Incidents = ptr(v2Incidents(s, append(append([]Incident{}, s.Active...), s.History...), 50))
	},
	"incidents/unresolved.json": func(s *Snapshot, d *v2Doc) { d.Incidents = ptr(v2Incidents(s, s.Active, 0)) },
	"scheduled-maintenances.json": func(s *Snapshot, d *v2Doc) {
		d.ScheduledMaintenances = ptr(v2Maintenances(s, func(Window) bool { return true }))
	},
	"scheduled-maintenances/upcoming.json": func(s *Snapshot, d *v2Doc) {
		d.ScheduledMaintenances = ptr(v2Maintenances(s, func(w Window) bool { return w.Start.After(s.At) }))
	},
	"scheduled-maintenances/active.json": func(s *Snapshot, d *v2Doc) {
		d.ScheduledMaintenances = ptr(v2Maintenances(s, func(w Window) bool { return !w.Start.After(s.At) }))
	},
}

func ptr[T any](v T) *T { return &v }

func (p *Page) renderV2(name string) render {
	fill := v2Documents[name]
	return func(_ context.Context, s *Snapshot) (*response, bool, error) {
		if fill == nil {
			return nil, false, nil
		}
		d := v2Doc{Page: v2Page{ID: pageID(s.URL), Name: s.Title, URL: s.URL, TimeZone: "Etc/UTC", UpdatedAt: v2Time{s.UpdatedAt}}}
		fill(s, &d)
		body, err := json.Marshal(d)
		if err != nil {
			return nil, false, err
		}
		return &response{ctype: "application/json", body: body}, true, nil
	}
}

// pageID is a stable id for the page, from its address.
func pageID(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:6])
}

func v2StatusOf(s *Snapshot) v2Status {
	return v2Status{Indicator: s.Overall.Indicator, Description: s.Overall.Description}
}

// groupID is the id of the group component of a service, or nil.
func groupID(s *Snapshot, svc *Service) *string {
	if svc.Group == "" {
		return nil
	}
	for i, g := range s.Groups {
		if g.Name == svc.Group {
			return ptr(fmt.Sprintf("group-%d", i))
		}
	}
	return nil
}

func v2ComponentOf(s *Snapshot, svc *Service) v2Component {
	c := v2Component{ID: svc.Name, Name: svc.Title, Status: string(svc.Status), CreatedAt: v2Time{s.At}, UpdatedAt: v2Time{s.At},
		Position: svc.Position, PageID: pageID(s.URL), GroupID: groupID(s, svc), Showcase: true}
	if svc.Description != "" {
		c.Description = &svc.Description
	}
	if !svc.Since.IsZero() {
		c.UpdatedAt = v2Time{svc.Since}
	}
	for _, d := range svc.Days {
		if d.Known {
			c.CreatedAt = v2Time{d.Date}
			c.StartDate = ptr(d.Date.Format(time.DateOnly))
			break
		}
	}
	return c
}

func v2Components(s *Snapshot) []v2Component {
	out := []v2Component{}
	for gi, g := range s.Groups {
		if g.Name == "" {
			for _, svc := range g.Services {
				out = append(out, v2ComponentOf(s, svc))
			}
			continue
		}
		id := fmt.Sprintf("group-%d", gi)
		group := v2Component{ID: id, Name: g.Name, Status: string(Operational), PageID: pageID(s.URL), Group: true, Components: []string{},
			Position: g.Services[0].Position}
		worst := Operational
		for i, svc := range g.Services {
			c := v2ComponentOf(s, svc)
			if i == 0 || c.CreatedAt.Before(group.CreatedAt.Time) {
				group.CreatedAt = c.CreatedAt
			}
			if c.UpdatedAt.After(group.UpdatedAt.Time) {
				group.UpdatedAt = c.UpdatedAt
			}
			out = append(out, c)
			group.Components = append(group.Components, svc.Name)
			if rank(svc.Status) > rank(worst) {
				worst = svc.Status
			}
		}
		group.Status = string(worst)
		out = append(out, group)
	}
	return out
}

func (s *Snapshot) service(name string) *Service {
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

func v2Incidents(s *Snapshot, incs []Incident, limit int) []v2Incident {
	out := []v2Incident{}
	for _, inc := range incs {
		if limit > 0 && len(out) == limit {
			break
		}
		id := fmt.Sprint(inc.ID)
		v := v2Incident{ID: id, Name: inc.Title, Status: string(inc.Status), CreatedAt: v2Time{inc.StartedAt}, UpdatedAt: v2Time{inc.UpdatedAt},
			MonitoringAt: opt(inc.MonitoringAt), ResolvedAt: opt(inc.ResolvedAt), Impact: string(inc.Impact),
			Shortlink: fmt.Sprintf("%s/incidents/%d", s.URL, inc.ID), StartedAt: v2Time{inc.StartedAt}, PageID: pageID(s.URL),
			IncidentUpdate: []v2Update{}, Components: []v2Component{}}
		if v.Impact == "" {
			v.Impact = string(upkeep.ImpactNone)
		}
		for _, u := range inc.Updates {
			v.IncidentUpdate = append(v.IncidentUpdate, v2Update{ID: u.ID, Status: string(u.Status), Body: u.Message, IncidentID: id,
				CreatedAt: v2Time{u.At}, UpdatedAt: v2Time{u.At}, DisplayAt: v2Time{u.At}})
		}
		for _, name := range inc.Services {
			if svc := s.service(name); svc != nil {
				v.Components = append(v.Components, v2ComponentOf(s, svc))
			}
		}
		out = append(out, v)
	}
	return out
}

// v2Maintenances lists the maintenance windows that keep says to, as Statuspage's scheduled
// maintenances.
func v2Maintenances(s *Snapshot, keep func(Window) bool) []v2Incident {
	out := []v2Incident{}
	for _, w := range s.Maintenance {
		if !keep(w) {
			continue
		}
		status := "scheduled"
		if !w.Start.After(s.At) {
			status = "in_progress"
		}
		if !w.End.After(s.At) {
			status = "completed"
		}
		id := "maintenance-" + w.ID
		body := w.Description
		if body == "" {
			body = w.Title
		}
		v := v2Incident{ID: id, Name: w.Title, Status: status, CreatedAt: v2Time{w.Start}, UpdatedAt: v2Time{w.Start},
			Impact: "maintenance", Shortlink: s.URL + "/", StartedAt: v2Time{w.Start}, PageID: pageID(s.URL),
			IncidentUpdate: []v2Update{{ID: id + "-0", Status: status, Body: body, IncidentID: id,
				CreatedAt: v2Time{w.Start}, UpdatedAt: v2Time{w.Start}, DisplayAt: v2Time{w.Start}}},
			Components: []v2Component{}, ScheduledFor: &v2Time{w.Start}, ScheduledUntil: &v2Time{w.End}}
		for _, name := range w.Services {
			if svc := s.service(name); svc != nil {
				v.Components = append(v.Components, v2ComponentOf(s, svc))
			}
		}
		out = append(out, v)
	}
	return out
}
