package statuspage

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// ComponentStatus is a service's state in the Statuspage vocabulary.
type ComponentStatus string

// The states of a service, best first (see rank).
const (
	Operational         ComponentStatus = "operational"
	UnderMaintenance    ComponentStatus = "under_maintenance"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

func rank(s ComponentStatus) int {
	switch s {
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return 0
}

// Snapshot is everything the status page shows, at one moment. It holds only what a public
// visitor may see.
type Snapshot struct {
	At          time.Time
	Title       string
	Description string
	URL         string // the page's public address
	Logo        string // URL of the logo; empty: none
	Links       []policy.StatusPageLink
	Subscribe   bool // e-mail subscriptions are on: link to /subscribe (package subscription)
	Theme       string
	HistoryDays int
	Latency     bool // show response times
	Overall     Overall
	Groups      []Group
	Services    []*Service // in page order
	Active      []Incident // unresolved incidents, newest first
	History     []Incident // resolved incidents of the history, newest first
	Maintenance []Window   // ongoing and upcoming maintenance, soonest first
	UpdatedAt   time.Time  // the newest change shown
	Compact     bool       // groups are shown as summaries (see compactAbove)

	// expires is when a maintenance window shown starts or ends: the snapshot is out of date
	// then even if no version changed. Zero: never.
	expires time.Time
}

// current reports whether the snapshot still holds at now.
func (s *Snapshot) current(now time.Time) bool {
	return s.expires.IsZero() || now.Before(s.expires)
}

// Overall is the banner: the worst state of the services and the Statuspage indicator.
type Overall struct {
	Status      ComponentStatus
	Indicator   string // none, minor, major, critical
	Description string
}

// Group is a heading with its services; the ungrouped services have an empty Name.
type Group struct {
	Name     string
	Index    int // position among the groups; its page is /status/groups/{Index}
	Services []*Service
	// Summary is the group as one service: the worst state, and day by day and window by window
	// the lowest uptime, the longest downtime and every incident of its services.
	Summary *Service
}

// compactAbove is the number of services above which the main page shows every group as its
// summary bar and its services' states, with the services' own bars on the group's page: 500
// services of 90 days each would be 45,000 day marks (6.6 MB of HTML) on one page.
const compactAbove = 50

// Service is one service as the page shows it.
type Service struct {
	Name, Title, Description string
	Group                    string
	Position                 int
	Status                   ComponentStatus
	Known                    bool      // some monitor of it has a confirmed state
	Since                    time.Time // when it entered Status (the newest change of its monitors)
	Days                     []Day
	Windows                  []UptimeWindow
	LatencyDays              []LatencyDay
}

// Day is one day of a service's uptime bar.
type Day struct {
	Date      time.Time // 00:00 UTC
	Known     bool      // the day has up, degraded or down time
	Fraction  float64   // available / (available + down), when Known
	Down      time.Duration
	Degraded  time.Duration
	Incidents []IncidentRef
}

// IncidentRef names an incident.
type IncidentRef struct {
	ID    int64
	Title string
}

// UptimeWindow is the uptime over the last 24 hours, 7, 30 or 90 days.
type UptimeWindow struct {
	Label    string // "24h", "7d", ...
	Span     time.Duration
	Fraction float64
	Known    bool
}

// LatencyDay is a day's response times: the median and the 95th percentile.
type LatencyDay struct {
	Date     time.Time
	P50, P95 time.Duration
}

// Incident is an incident as the public sees it: only what people wrote about it.
type Incident struct {
	ID           int64
	Title        string
	Status       upkeep.IncidentStatus
	Impact       upkeep.Impact
	Services     []string // names of the services shown on the page
	StartedAt    time.Time
	UpdatedAt    time.Time
	MonitoringAt time.Time // zero unless it was in monitoring
	ResolvedAt   time.Time // zero while open
	Updates      []Update  // newest first
	Report       *Report

	detailed bool     // read with its updates (see detailedIncidents)
	titles   []string // of Services
}

// Update is one public update of an incident.
type Update struct {
	ID      string
	At      time.Time
	Status  upkeep.IncidentStatus
	Message string
}

// Report is the public part of an incident report.
type Report struct {
	Cause, Measures, Prevention string
}

// windows are the uptime windows shown per service.
var windows = []struct {
	label string
	span  time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"90d", 90 * 24 * time.Hour}}

const day = 24 * time.Hour

// incidentLimit bounds the incidents read for the history (and incidents.json shows at most 50).
const incidentLimit = 500

// detailedIncidents is how many of the newest incidents are read with their updates.
const detailedIncidents = 50

// serviceHistory is the slow part of a service: its bar, windows and response times.
type serviceHistory struct {
	days    []Day // without incidents
	windows []UptimeWindow
	latency []LatencyDay
}

// monitorsOf returns the names of the monitors of each service.
func monitorsOf(pol *policy.Policy) map[string][]string {
	out := map[string][]string{}
	for _, m := range pol.Monitors {
		if m.Service != "" {
			out[m.Service] = append(out[m.Service], m.Name)
		}
	}
	return out
}

// buildHistory computes the history of a service from its monitors: for every day and window
// the worst monitor's uptime (a service is as available as its least available monitor), the
// longest downtime of any of its monitors, and the slowest monitor's response times.
func (p *Page) buildHistory(ctx context.Context, sp *policy.StatusPage, monitors []string, now time.Time) (*serviceHistory, error) {
	today := now.UTC().Truncate(day)
	first := today.AddDate(0, 0, -(sp.HistoryDays - 1))
	spans := make([]upkeep.Interval, 0, sp.HistoryDays+len(windows))
	for d := first; !d.After(today); d = d.Add(day) {
		spans = append(spans, upkeep.Interval{Start: d, End: d.Add(day)})
	}
	for _, w := range windows {
		spans = append(spans, upkeep.Interval{Start: now.Add(-w.span), End: now})
	}
	h := &serviceHistory{days: make([]Day, sp.HistoryDays), windows: make([]UptimeWindow, len(windows))}
	for i := range h.days {
		h.days[i].Date = spans[i].Start
	}
	for i, w := range windows {
		h.windows[i] = UptimeWindow{Label: w.label, Span: w.span}
	}
	// worse folds a monitor's fraction into the service's: the lowest known one wins.
	worse := func(known *bool, frac *float64, f float64, ok bool) {
		if ok && (!*known || f < *frac) {
			*known, *frac = true, f
		}
	}
	latency := map[time.Time]*LatencyDay{}
	for _, m := range monitors {
		us, err := p.mon.UptimeSpans(ctx, m, spans)
		if err != nil {
			return nil, err
		}
		for i := range h.days {
			f, ok := us[i].Fraction()
			d := &h.days[i]
			worse(&d.Known, &d.Fraction, f, ok)
			d.Down = max(d.Down, us[i].Down)
			d.Degraded = max(d.Degraded, us[i].Degraded)
		}
		for i := range h.windows {
			f, ok := us[len(h.days)+i].Fraction()
			worse(&h.windows[i].Known, &h.windows[i].Fraction, f, ok)
		}
		if !sp.ShowResponseTimes || p.rollups == nil {
			continue
		}
		rs, err := p.rollups.Rollups(ctx, m, day, first, today)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.LatencyP50 == 0 && r.LatencyP95 == 0 {
				continue
			}
			l := latency[r.Start]
			if l == nil {
				l = &LatencyDay{Date: r.Start}
				latency[r.Start] = l
			}
			l.P50, l.P95 = max(l.P50, r.LatencyP50), max(l.P95, r.LatencyP95)
		}
	}
	for _, l := range latency {
		h.latency = append(h.latency, *l)
	}
	slices.SortFunc(h.latency, func(a, b LatencyDay) int { return a.Date.Compare(b.Date) })
	return h, nil
}

// refresh rebuilds the history of the services of the dirty monitors, or of every service when
// dirty is nil, and makes cached responses out of date.
func (p *Page) refresh(ctx context.Context, dirty map[string]bool) error {
	pol := p.pol.Load()
	if pol == nil || pol.StatusPage == nil {
		return nil
	}
	// Built without holding hmu: requests keep using the current history meanwhile.
	p.hmu.Lock()
	old, oldPol := p.history, p.histPol
	p.hmu.Unlock()
	if oldPol != pol {
		dirty = nil // a new policy: everything is rebuilt
	}
	next, err := p.build(ctx, pol, old, dirty)
	if err == nil {
		p.hmu.Lock()
		if p.histPol == oldPol || p.histPol == nil { // not replaced by a newer build meanwhile
			p.history, p.histPol = next, pol
		}
		p.hmu.Unlock()
	}
	p.gen.Add(1)
	return err
}

// build computes the history of the policy's services: all of it, or (dirty not nil) that of
// the services of the dirty monitors, the rest taken from old.
func (p *Page) build(ctx context.Context, pol *policy.Policy, old map[string]*serviceHistory, dirty map[string]bool) (map[string]*serviceHistory, error) {
	now := p.now()
	byService := monitorsOf(pol)
	next := make(map[string]*serviceHistory, len(pol.Services))
	if dirty != nil {
		maps.Copy(next, old)
	}
	for _, name := range pol.ShownServices() {
		ms := byService[name]
		if dirty != nil && !slices.ContainsFunc(ms, func(m string) bool { return dirty[m] }) {
			continue
		}
		h, err := p.buildHistory(ctx, pol.StatusPage, ms, now)
		if err != nil {
			return nil, fmt.Errorf("history of service %s: %w", name, err)
		}
		next[name] = h
	}
	return next, nil
}

// histories returns the history of the policy's services, building it first (on the first
// request after a policy is applied) if it belongs to another policy.
func (p *Page) histories(ctx context.Context, pol *policy.Policy) (map[string]*serviceHistory, error) {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	if p.histPol != pol {
		next, err := p.build(ctx, pol, nil, nil)
		if err != nil {
			return nil, err
		}
		p.history, p.histPol = next, pol
	}
	return p.history, nil
}

// statusOf maps the states of a service's monitors to its component status: any monitor down
// is an outage (major when every monitor with a state is down, partial otherwise), then
// degraded, then maintenance. Unknown and paused monitors say nothing.
func statusOf(states []upkeep.State) (ComponentStatus, bool) {
	var known, down int
	worst := Operational
	for _, s := range states {
		var c ComponentStatus
		switch s {
		case upkeep.StateUp:
			c = Operational
		case upkeep.StateDegraded:
			c = DegradedPerformance
		case upkeep.StateDown:
			c = MajorOutage
			down++
		case upkeep.StateMaintenance:
			c = UnderMaintenance
		default:
			continue
		}
		known++
		if rank(c) > rank(worst) {
			worst = c
		}
	}
	if worst == MajorOutage && down < known {
		worst = PartialOutage
	}
	return worst, known > 0
}

// overallOf is the banner: the worst service state, and the indicator of that and of the open
// incidents' impacts.
func overallOf(services []*Service, active []Incident) Overall {
	worst := Operational
	for _, s := range services {
		if rank(s.Status) > rank(worst) {
			worst = s.Status
		}
	}
	indicators := []string{"none", "minor", "major", "critical"}
	level := map[ComponentStatus]int{DegradedPerformance: 1, PartialOutage: 2, MajorOutage: 3}[worst]
	for _, inc := range active {
		level = max(level, slices.Index(indicators, string(inc.Impact)))
	}
	o := Overall{Status: worst, Indicator: indicators[level]}
	switch {
	case worst == MajorOutage:
		o.Description = "Major System Outage"
	case worst == PartialOutage:
		o.Description = "Partial System Outage"
	case worst == DegradedPerformance:
		o.Description = "Degraded Performance"
	case worst == UnderMaintenance:
		o.Description = "Service Under Maintenance"
	case level > 0:
		o.Description = "Minor Service Outage" // an open incident with operational services
	default:
		o.Description = "All Systems Operational"
	}
	return o
}

// Snapshot builds what the page shows now.
func (p *Page) Snapshot(ctx context.Context) (*Snapshot, error) {
	pol := p.pol.Load()
	if pol == nil || pol.StatusPage == nil {
		return nil, errNoPage
	}
	hist, err := p.histories(ctx, pol)
	if err != nil {
		return nil, err
	}
	now := p.now()
	sp := pol.StatusPage
	s := &Snapshot{
		At: now, Title: sp.Title, Description: sp.Description, URL: pol.Server.PublicURL, Links: sp.Links,
		Theme: sp.Theme, HistoryDays: sp.HistoryDays, Latency: sp.ShowResponseTimes,
		Subscribe: sp.Subscriptions != nil && sp.Subscriptions.Email != nil,
	}
	if sp.Logo != "" {
		s.Logo = sp.Logo
		if !sp.LogoIsURL() {
			s.Logo = "/status/logo"
		}
	}
	states := map[string][]upkeep.State{}
	since := map[string]time.Time{}
	for _, m := range p.mon.Monitors() {
		if m.Service == "" {
			continue
		}
		states[m.Service] = append(states[m.Service], m.State)
		if m.Since.After(since[m.Service]) {
			since[m.Service] = m.Since
		}
	}
	shown := map[string]*Service{}
	add := func(group string, names []string) {
		g := Group{Name: group, Index: len(s.Groups)}
		for _, name := range names {
			svc := pol.Service(name)
			if svc == nil {
				continue
			}
			st, known := statusOf(states[name])
			out := &Service{Name: name, Title: svc.Title, Description: svc.Description, Group: group,
				Position: len(s.Services) + 1, Status: st, Known: known, Since: since[name]}
			if h := hist[name]; h != nil {
				out.Days = slices.Clone(h.days)
				out.Windows, out.LatencyDays = h.windows, h.latency
			}
			s.Services = append(s.Services, out)
			g.Services = append(g.Services, out)
			shown[name] = out
			if out.Since.After(s.UpdatedAt) {
				s.UpdatedAt = out.Since
			}
		}
		if len(g.Services) > 0 {
			s.Groups = append(s.Groups, g)
		}
	}
	if len(sp.Services) == 0 && len(sp.Groups) == 0 {
		add("", pol.ShownServices())
	} else {
		add("", sp.Services)
		for _, g := range sp.Groups {
			add(g.Name, g.Services)
		}
	}

	if err := p.addIncidents(ctx, s, shown, now); err != nil {
		return nil, err
	}
	ws, err := p.maint.List(ctx, "", 0)
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	for _, w := range ws {
		if st := w.StateAt(now); st != upkeep.WindowActive && st != upkeep.WindowUpcoming {
			continue
		}
		// The services shown that the window covers, whole or through one of their monitors.
		var services []string
		for _, name := range w.Services {
			if shown[name] != nil && !slices.Contains(services, name) {
				services = append(services, name)
			}
		}
		for _, m := range w.Monitors {
			if pm := pol.Monitor(m); pm != nil && shown[pm.Service] != nil && !slices.Contains(services, pm.Service) {
				services = append(services, pm.Service)
			}
		}
		if len(services) > 0 {
			s.Maintenance = append(s.Maintenance, Window{ID: w.ID, Title: w.Title, Description: w.Description,
				Services: services, Start: w.Start, End: w.End})
			// Upcoming, it becomes active at its start; active, it is over at its end (and a
			// recurring window's next occurrence appears).
			for _, t := range []time.Time{w.Start, w.End} {
				if t.After(now) && (s.expires.IsZero() || t.Before(s.expires)) {
					s.expires = t
				}
			}
		}
	}
	slices.SortFunc(s.Maintenance, func(a, b Window) int { return a.Start.Compare(b.Start) })
	s.Overall = overallOf(s.Services, s.Active)
	s.Compact = len(s.Services) > compactAbove
	for i := range s.Groups {
		s.Groups[i].Summary = summarize(&s.Groups[i])
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = now
	}
	return s, nil
}

// addIncidents adds the incidents that concern the page's services: the open ones, and the
// resolved ones that started within the history; each day of a bar lists the incidents that
// overlapped it. An automatic incident of a monitor without a service is internal and not
// shown; a manual incident without services is an announcement and is.
func (p *Page) addIncidents(ctx context.Context, s *Snapshot, shown map[string]*Service, now time.Time) error {
	if p.incidents == nil {
		return nil
	}
	list, err := p.incidents.List(ctx, "", incidentLimit)
	if err != nil {
		return fmt.Errorf("incidents: %w", err)
	}
	first := now.UTC().Truncate(day).AddDate(0, 0, -(s.HistoryDays - 1))
	detailed := 0
	for _, inc := range list {
		var services, titles []string
		for _, name := range inc.Services {
			if svc := shown[name]; svc != nil {
				services, titles = append(services, name), append(titles, svc.Title)
			}
		}
		if len(services) == 0 && (inc.Automatic || len(inc.Services) > 0) {
			continue
		}
		if !inc.Open() && inc.StartedAt.Before(first) {
			continue
		}
		full, isDetailed := inc, detailed < detailedIncidents || inc.Open()
		if isDetailed {
			detailed++
			if full, err = p.incidents.Get(ctx, inc.ID); err != nil {
				return fmt.Errorf("incident %d: %w", inc.ID, err)
			}
		}
		pub := publicIncident(full, services, titles)
		pub.detailed = isDetailed
		if inc.Open() {
			s.Active = append(s.Active, pub)
		} else {
			s.History = append(s.History, pub)
		}
		if pub.UpdatedAt.After(s.UpdatedAt) {
			s.UpdatedAt = pub.UpdatedAt
		}
		end := inc.ResolvedAt
		if end.IsZero() {
			end = now
		}
		ref := IncidentRef{ID: inc.ID, Title: inc.Title}
		for _, name := range services {
			svc := shown[name]
			for i := range svc.Days {
				d := &svc.Days[i]
				if inc.StartedAt.Before(d.Date.Add(day)) && end.After(d.Date) || inc.StartedAt.Equal(d.Date) {
					d.Incidents = append(d.Incidents, ref)
				}
			}
		}
	}
	newest := func(a, b Incident) int { return cmp.Compare(b.StartedAt.UnixNano(), a.StartedAt.UnixNano()) }
	slices.SortStableFunc(s.Active, newest)
	slices.SortStableFunc(s.History, newest)
	return nil
}

// publicIncident keeps what the public may see of an incident: its title, status, impact,
// times, the services shown, the updates people wrote and the report's text. Updates written
// by Upkeep (monitor events, escalation steps, acknowledgements) name monitors, channels and
// error messages and are left out; an incident without a written update gets the two generic
// ones Statuspage users expect (investigating, resolved).
func publicIncident(inc upkeep.Incident, services, titles []string) Incident {
	out := Incident{ID: inc.ID, Title: inc.Title, Status: inc.Status, Impact: inc.Impact, Services: services,
		StartedAt: inc.StartedAt, ResolvedAt: inc.ResolvedAt, UpdatedAt: inc.StartedAt, detailed: true, titles: titles}
	for _, u := range inc.Updates {
		if u.Status == upkeep.StatusMonitoring && out.MonitoringAt.IsZero() {
			out.MonitoringAt = u.At
		}
		if u.Kind != upkeep.UpdateMessage {
			continue
		}
		out.Updates = append(out.Updates, Update{ID: fmt.Sprint(u.ID), At: u.At, Status: u.Status, Message: u.Message})
	}
	if len(out.Updates) == 0 {
		out.Updates = append(out.Updates, Update{ID: fmt.Sprintf("%d-0", inc.ID), At: inc.StartedAt, Status: upkeep.StatusInvestigating,
			Message: "We are investigating a problem with " + listOr(titles, "our services") + "."})
	}
	if !inc.ResolvedAt.IsZero() && out.Updates[len(out.Updates)-1].Status != upkeep.StatusResolved {
		out.Updates = append(out.Updates, Update{ID: fmt.Sprintf("%d-r", inc.ID), At: inc.ResolvedAt, Status: upkeep.StatusResolved,
			Message: "This incident has been resolved."})
	}
	slices.Reverse(out.Updates)
	out.UpdatedAt = out.Updates[0].At
	if inc.ResolvedAt.After(out.UpdatedAt) {
		out.UpdatedAt = inc.ResolvedAt
	}
	if r := inc.Report; r != nil {
		out.Report = &Report{Cause: r.Cause, Measures: r.Measures, Prevention: r.Prevention}
		if r.UpdatedAt.After(out.UpdatedAt) {
			out.UpdatedAt = r.UpdatedAt
		}
	}
	return out
}

func listOr(names []string, none string) string {
	switch len(names) {
	case 0:
		return none
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// summarize folds a group's services into one.
func summarize(g *Group) *Service {
	sum := &Service{Name: fmt.Sprintf("group-%d", g.Index), Title: g.Name, Status: Operational}
	if sum.Title == "" {
		sum.Title = "Services"
	}
	for _, svc := range g.Services {
		if rank(svc.Status) > rank(sum.Status) {
			sum.Status = svc.Status
		}
		sum.Known = sum.Known || svc.Known
		if svc.Since.After(sum.Since) {
			sum.Since = svc.Since
		}
		if sum.Days == nil && len(svc.Days) > 0 {
			sum.Days = make([]Day, len(svc.Days))
			for i, d := range svc.Days {
				sum.Days[i].Date = d.Date
			}
		}
		for i, d := range svc.Days {
			if i >= len(sum.Days) {
				break
			}
			sd := &sum.Days[i]
			if d.Known && (!sd.Known || d.Fraction < sd.Fraction) {
				sd.Known, sd.Fraction = true, d.Fraction
			}
			sd.Down, sd.Degraded = max(sd.Down, d.Down), max(sd.Degraded, d.Degraded)
			for _, ref := range d.Incidents {
				if !slices.Contains(sd.Incidents, ref) {
					sd.Incidents = append(sd.Incidents, ref)
				}
			}
		}
		if sum.Windows == nil && len(svc.Windows) > 0 {
			sum.Windows = slices.Clone(svc.Windows)
			continue
		}
		for i, w := range svc.Windows {
			if i < len(sum.Windows) && w.Known && (!sum.Windows[i].Known || w.Fraction < sum.Windows[i].Fraction) {
				sum.Windows[i].Known, sum.Windows[i].Fraction = true, w.Fraction
			}
		}
	}
	return sum
}
