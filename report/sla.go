package report

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Source is the stored history a report is computed from (*sqlite.DB).
type Source interface {
	StateAt(ctx context.Context, monitor string, t time.Time) (upkeep.State, error)
	Transitions(ctx context.Context, monitor string, from, to time.Time) ([]upkeep.Transition, error)
	SessionIntervals(ctx context.Context, from, to time.Time) ([]upkeep.Interval, error)
}

// Service is what a report is about.
type Service struct {
	Name, Title string
	Objective   float64  // availability objective in percent; 0: none
	Monitors    []string // the monitors whose states make up the service's
}

// Duration is a time.Duration that is written as seconds in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a number of seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// String is the duration rounded to the second, e.g. "1h2m3s".
func (d Duration) String() string { return time.Duration(d).Round(time.Second).String() }

// Times is how the service spent a span of time. The six add up to the span.
type Times struct {
	Up          Duration `json:"up_seconds"`
	Degraded    Duration `json:"degraded_seconds"`
	Down        Duration `json:"down_seconds"`
	Maintenance Duration `json:"maintenance_seconds"`
	Paused      Duration `json:"paused_seconds"`
	NoData      Duration `json:"no_data_seconds"`
}

// Measured is the time that counts for availability: up, degraded and down.
func (t Times) Measured() time.Duration { return time.Duration(t.Up + t.Degraded + t.Down) }

// Availability is (up + degraded) / measured in percent, and false when nothing was measured.
func (t Times) Availability() (float64, bool) {
	m := t.Measured()
	if m <= 0 {
		return 0, false
	}
	return 100 * float64(t.Up+t.Degraded) / float64(m), true
}

func (t *Times) add(s upkeep.State, d time.Duration) {
	switch s {
	case upkeep.StateUp:
		t.Up += Duration(d)
	case upkeep.StateDegraded:
		t.Degraded += Duration(d)
	case upkeep.StateDown:
		t.Down += Duration(d)
	case upkeep.StateMaintenance:
		t.Maintenance += Duration(d)
	case upkeep.StatePaused:
		t.Paused += Duration(d)
	default:
		t.NoData += Duration(d)
	}
}

// Row is one day (or month) of the breakdown.
type Row struct {
	Label string    `json:"label"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Times
	Availability *float64 `json:"availability_percent"`
}

// Nine is one line of the nines table.
type Nine struct {
	Target  float64  `json:"target_percent"`
	Allowed Duration `json:"allowed_downtime_seconds"`
	Met     bool     `json:"met"`
}

// Outage is a stretch of time the service was down.
type Outage struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// SLA is the service level report of one service over one period.
type SLA struct {
	Service  string    `json:"service"`
	Title    string    `json:"title"`
	Monitors []string  `json:"monitors"`
	Period   string    `json:"period"`
	TimeZone string    `json:"time_zone"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Times
	Availability *float64 `json:"availability_percent"` // nil when nothing was measured
	Objective    *float64 `json:"objective_percent"`    // nil without an objective
	Met          *bool    `json:"objective_met"`
	// AllowedDowntime is what the objective allows of the measured time; BudgetRemaining is
	// AllowedDowntime - Down, negative when the budget is overrun.
	AllowedDowntime *Duration `json:"allowed_downtime_seconds"`
	BudgetRemaining *Duration `json:"budget_remaining_seconds"`
	Incidents       int       `json:"outages"`
	MTTR            Duration  `json:"mttr_seconds"`
	LongestOutage   Duration  `json:"longest_outage_seconds"`
	Outages         []Outage  `json:"outage_list"`
	Breakdown       []Row     `json:"breakdown"`
	Nines           []Nine    `json:"nines"`
}

// NineTargets are the objectives of the nines table.
var NineTargets = []float64{99, 99.5, 99.9, 99.95, 99.99, 99.999}

type segment struct {
	start, end time.Time
	state      upkeep.State
}

// Compute builds the report of svc over p. Time after now is no data.
func Compute(ctx context.Context, src Source, svc Service, p Period, now time.Time) (*SLA, error) {
	alive, err := src.SessionIntervals(ctx, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("report of %q: %w", svc.Name, err)
	}
	alive = upkeep.MergeIntervals(alive, p.From, minTime(p.To, now))
	var timelines [][]segment
	for _, m := range svc.Monitors {
		initial, err := src.StateAt(ctx, m, p.From)
		if err != nil {
			return nil, fmt.Errorf("report of %q: monitor %q: %w", svc.Name, m, err)
		}
		ts, err := src.Transitions(ctx, m, p.From, p.To)
		if err != nil {
			return nil, fmt.Errorf("report of %q: monitor %q: %w", svc.Name, m, err)
		}
		timelines = append(timelines, monitorTimeline(p.From, p.To, initial, ts, alive))
	}
	tl := combine(p.From, p.To, timelines)

	r := &SLA{
		Service: svc.Name, Title: svc.Title, Monitors: svc.Monitors, Period: p.Name,
		TimeZone: p.From.Location().String(), From: p.From, To: p.To,
	}
	if r.Title == "" {
		r.Title = svc.Name
	}
	r.Times = timesIn(tl, p.From, p.To)
	if a, ok := r.Times.Availability(); ok {
		r.Availability = &a
	}
	measured := r.Measured()
	for _, n := range NineTargets {
		allowed := allowedDowntime(n, measured)
		r.Nines = append(r.Nines, Nine{Target: n, Allowed: Duration(allowed), Met: time.Duration(r.Down) <= allowed})
	}
	if svc.Objective > 0 {
		obj := svc.Objective
		r.Objective = &obj
		allowed := Duration(allowedDowntime(obj, measured))
		remaining := allowed - r.Down
		met := remaining >= 0
		r.AllowedDowntime, r.BudgetRemaining, r.Met = &allowed, &remaining, &met
	}
	var total time.Duration
	for i := 0; i < len(tl); i++ {
		if tl[i].state != upkeep.StateDown {
			continue
		}
		o := Outage{Start: tl[i].start, End: tl[i].end}
		for i+1 < len(tl) && tl[i+1].state == upkeep.StateDown {
			i++
			o.End = tl[i].end
		}
		r.Outages = append(r.Outages, o)
		d := o.End.Sub(o.Start)
		total += d
		r.LongestOutage = max(r.LongestOutage, Duration(d))
	}
	r.Incidents = len(r.Outages)
	if r.Incidents > 0 {
		r.MTTR = Duration(total / time.Duration(r.Incidents))
	}
	for _, b := range p.buckets() {
		row := Row{From: b[0], To: b[1], Times: timesIn(tl, b[0], b[1]), Label: b[0].Format(time.DateOnly)}
		if p.Monthly {
			row.Label = b[0].Format("2006-01")
		}
		if a, ok := row.Times.Availability(); ok {
			row.Availability = &a
		}
		r.Breakdown = append(r.Breakdown, row)
	}
	return r, nil
}

// allowedDowntime is the downtime objective (in percent) allows over measured time.
func allowedDowntime(objective float64, measured time.Duration) time.Duration {
	return time.Duration(math.Round(float64(measured) * (100 - objective) / 100))
}

// monitorTimeline splits [from, to) into segments by the monitor's state; time outside every
// alive interval is no data (state "").
func monitorTimeline(from, to time.Time, initial upkeep.State, ts []upkeep.Transition, alive []upkeep.Interval) []segment {
	var states []segment
	state, at := initial, from
	for _, t := range ts {
		if t.At.Before(from) || !t.At.Before(to) {
			continue
		}
		if at.Before(t.At) {
			states = append(states, segment{at, t.At, state})
		}
		state, at = t.To, t.At
	}
	if at.Before(to) {
		states = append(states, segment{at, to, state})
	}
	var out []segment
	cur := from
	emit := func(a, b time.Time, s upkeep.State) {
		if a.Before(b) {
			out = append(out, segment{a, b, s})
		}
	}
	for _, iv := range alive {
		emit(cur, iv.Start, "")
		for _, s := range states {
			emit(maxTime(s.start, iv.Start), minTime(s.end, iv.End), s.state)
		}
		cur = iv.End
	}
	emit(cur, to, "")
	return out
}

// rank orders states for combining monitors: the service takes the state of highest rank
// among its monitors.
func rank(s upkeep.State) int {
	switch s {
	case upkeep.StateDown:
		return 6
	case upkeep.StateUnknown, "":
		return 5
	case upkeep.StateMaintenance:
		return 4
	case upkeep.StateDegraded:
		return 3
	case upkeep.StateUp:
		return 2
	case upkeep.StatePaused:
		return 1
	}
	return 5
}

// combine merges the monitors' timelines (each covering [from, to) without gaps) into the
// service's: at every instant the state of highest rank. Adjacent segments of one state are
// joined. A service without monitors has no data.
func combine(from, to time.Time, tls [][]segment) []segment {
	if len(tls) == 0 {
		return []segment{{from, to, ""}}
	}
	var cuts []time.Time
	for _, tl := range tls {
		for _, s := range tl {
			cuts = append(cuts, s.start)
		}
	}
	cuts = append(cuts, to)
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)
	idx := make([]int, len(tls))
	var out []segment
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		var state upkeep.State = upkeep.StatePaused
		for k, tl := range tls {
			for idx[k] < len(tl) && !tl[idx[k]].end.After(a) {
				idx[k]++
			}
			s := upkeep.State("")
			if idx[k] < len(tl) {
				s = tl[idx[k]].state
			}
			if k == 0 || rank(s) > rank(state) {
				state = s
			}
		}
		if n := len(out); n > 0 && out[n-1].state == state && out[n-1].end.Equal(a) {
			out[n-1].end = b
			continue
		}
		out = append(out, segment{a, b, state})
	}
	return out
}

func timesIn(tl []segment, from, to time.Time) Times {
	var t Times
	for _, s := range tl {
		a, b := maxTime(s.start, from), minTime(s.end, to)
		if a.Before(b) {
			t.add(s.state, b.Sub(a))
		}
	}
	return t
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
