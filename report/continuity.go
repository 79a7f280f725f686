package report

// The continuity report: per service and period, availability against its objective (the SLA
// report), the incidents, the backups (expected runs from the schedule and what became of
// each), the restore drills (passed or failed, measured RPO and RTO against their limits and
// their trend), and one verdict line per objective.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// ContinuitySource is the stored history a continuity report is computed from (*sqlite.DB).
type ContinuitySource interface {
	Source
	IncidentsBetween(ctx context.Context, from, to time.Time) ([]upkeep.Incident, error)
	BackupRunsBetween(ctx context.Context, job string, from, to time.Time) ([]upkeep.BackupRun, error)
	FirstBackupRunAt(ctx context.Context, job string) (time.Time, error)
	DrillRunsBetween(ctx context.Context, drill string, from, to time.Time) ([]upkeep.DrillRun, error)
}

// Continuity is the continuity report of one service over one period.
type Continuity struct {
	Service    string     `json:"service"`
	Title      string     `json:"title"`
	Period     string     `json:"period"`
	TimeZone   string     `json:"time_zone"`
	From       time.Time  `json:"from"`
	To         time.Time  `json:"to"`
	Objectives Objectives `json:"objectives"`
	// Verdicts has one line per objective: availability (the service's), and RTO and RPO for
	// every drill that has a limit (or for the service, when no drill measures its objective).
	Verdicts     []Verdict         `json:"verdicts"`
	Availability *SLA              `json:"availability"`
	Incidents    []IncidentSummary `json:"incidents"`
	Backups      []BackupSummary   `json:"backups"`
	Drills       []DrillSummary    `json:"drills"`
}

// Objectives are the service's objectives from the policy; nil: none.
type Objectives struct {
	Availability *float64  `json:"availability_percent"`
	RPO          *Duration `json:"rpo_seconds"`
	RTO          *Duration `json:"rto_seconds"`
}

// The verdicts on an objective.
const (
	VerdictMet         = "met"
	VerdictMissed      = "missed"
	VerdictNotMeasured = "not_measured"
)

// Verdict says whether an objective was met over the period, and by how much.
type Verdict struct {
	Objective string `json:"objective"` // availability, rto or rpo
	// Of is the service (availability, or an RPO or RTO objective no drill measures) or the drill
	// whose runs measured it.
	Of     string  `json:"of"`
	Status string  `json:"status"` // met, missed or not_measured
	Target float64 `json:"target"` // percent (availability) or seconds (rto, rpo)
	// Measured is the availability in percent, or the worst RTO or RPO of the period in seconds;
	// Margin is the downtime budget left (availability) or the target minus the worst (rto,
	// rpo), in seconds: negative when missed, by that much. Both null when not measured.
	Measured *float64 `json:"measured"`
	Margin   *float64 `json:"margin_seconds"`
	Text     string   `json:"text"`
}

// IncidentSummary is an incident of the service that was open during the period.
type IncidentSummary struct {
	ID        int64         `json:"id"`
	Title     string        `json:"title"`
	Impact    upkeep.Impact `json:"impact"`
	Automatic bool          `json:"automatic"`
	Start     time.Time     `json:"start"`
	End       *time.Time    `json:"end"` // null while open
	// Duration is from Start to End, or to the time of the report while open.
	Duration Duration `json:"duration_seconds"`
	// Link is the incident's page on the status page when the page shows the service, else its
	// API resource (for token holders).
	Link   string                 `json:"link"`
	Report *IncidentReportSummary `json:"report"` // null until written
}

// IncidentReportSummary is the post-mortem of an incident, without its timeline.
type IncidentReportSummary struct {
	Cause      string `json:"cause"`
	Measures   string `json:"measures"`
	Prevention string `json:"prevention"`
}

// BackupSummary is what became of a backup job's scheduled runs in the period.
type BackupSummary struct {
	Backup   string `json:"backup"`
	Schedule string `json:"schedule"`
	TZ       string `json:"tz"`
	// Since is when the expected runs are counted from: the period's start, or the job's first
	// stored run when that is later (before it, the job was not in the policy Upkeep ran).
	// Null when the job never ran: then nothing is expected.
	Since *time.Time `json:"since"`
	// Expected is the number of slots of the schedule in the period (up to now, and not those
	// still within their grace time without a run); each slot is one of Succeeded, Partial,
	// Failed, Missed (no run for it) or Running.
	Expected  int `json:"expected"`
	Succeeded int `json:"succeeded"`
	Partial   int `json:"partial"`
	Failed    int `json:"failed"`
	Missed    int `json:"missed"`
	Running   int `json:"running"`
	// CaughtUp counts the slots whose run started late, at startup after a stop of Upkeep.
	CaughtUp int `json:"caught_up"`
	// Unscheduled counts the runs in the period for no slot: started by hand, or by an earlier
	// schedule.
	Unscheduled  int                  `json:"unscheduled"`
	Destinations []DestinationSummary `json:"destinations"`
	// Problems lists every expected slot that did not succeed.
	Problems []BackupProblem `json:"problems"`
}

// DestinationSummary is what the runs of the period wrote to one destination.
type DestinationSummary struct {
	Destination string `json:"destination"`
	// Runs counts the finished runs of the period (scheduled or not, missed slots excluded);
	// Succeeded those that wrote a snapshot to this destination, Failed the others.
	Runs        int        `json:"runs"`
	Succeeded   int        `json:"succeeded"`
	Failed      int        `json:"failed"`
	LastSuccess *time.Time `json:"last_success"`
}

// BackupProblem is an expected run that did not succeed.
type BackupProblem struct {
	Slot   time.Time           `json:"slot"`
	Status upkeep.BackupStatus `json:"status"`
	Error  string              `json:"error"`
}

// DrillSummary is what a restore drill's runs in the period proved.
type DrillSummary struct {
	Drill    string    `json:"drill"`
	Backup   string    `json:"backup"`
	Schedule string    `json:"schedule"`
	MaxRTO   *Duration `json:"max_rto_seconds"`
	MaxRPO   *Duration `json:"max_rpo_seconds"`

	Runs        int `json:"runs"`
	Passed      int `json:"passed"`
	Failed      int `json:"failed"`
	Interrupted int `json:"interrupted"`
	Running     int `json:"running"`
	// Missed counts the scheduled slots the server recorded as missed (not in Runs).
	Missed int `json:"missed"`
	// RTO and RPO are the trends of the measured values (null when no run measured them);
	// the breaches count the runs over the drill's max_rto and max_rpo.
	RTO         *Trend            `json:"rto"`
	RPO         *Trend            `json:"rpo"`
	RTOBreaches int               `json:"rto_breaches"`
	RPOBreaches int               `json:"rpo_breaches"`
	List        []DrillRunSummary `json:"run_list"`
}

// Trend summarises the values measured by a drill's runs over the period.
type Trend struct {
	Measured int      `json:"measured"` // runs that measured it
	First    Duration `json:"first_seconds"`
	Last     Duration `json:"last_seconds"`
	Best     Duration `json:"best_seconds"`
	Worst    Duration `json:"worst_seconds"`
	// Median is the middle value, or the mean of the two middle values for an even count.
	Median Duration `json:"median_seconds"`
}

// DrillRunSummary is one run of a drill.
type DrillRunSummary struct {
	ID          int64              `json:"id"`
	Started     time.Time          `json:"started"`
	Destination string             `json:"destination"`
	Status      upkeep.DrillStatus `json:"status"`
	RTO         *Duration          `json:"rto_seconds"` // null when not measured
	RPO         *Duration          `json:"rpo_seconds"`
	Reason      string             `json:"reason,omitempty"`
}

// ComputeAll computes the SLA report of every service over per.
func ComputeAll(ctx context.Context, src Source, svcs []Service, per Period, now time.Time) ([]*SLA, error) {
	out := make([]*SLA, 0, len(svcs))
	for _, s := range svcs {
		r, err := Compute(ctx, src, s, per, now)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ComputeContinuity computes the continuity report of every service (as Services returns them
// from p) over per. Time after now has no data; slots after now are not expected.
func ComputeContinuity(ctx context.Context, src ContinuitySource, p *policy.Policy, svcs []Service, per Period, now time.Time) ([]*Continuity, error) {
	end := minTime(per.To, now)
	var incidents []upkeep.Incident
	if per.From.Before(end) {
		var err error
		if incidents, err = src.IncidentsBetween(ctx, per.From, end); err != nil {
			return nil, fmt.Errorf("continuity report: %w", err)
		}
	}
	out := make([]*Continuity, 0, len(svcs))
	for _, svc := range svcs {
		c, err := computeContinuity(ctx, src, p, svc, per, now, incidents)
		if err != nil {
			return nil, fmt.Errorf("continuity report of %q: %w", svc.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func computeContinuity(ctx context.Context, src ContinuitySource, p *policy.Policy, svc Service, per Period, now time.Time, incidents []upkeep.Incident) (*Continuity, error) {
	sla, err := Compute(ctx, src, svc, per, now)
	if err != nil {
		return nil, err
	}
	c := &Continuity{
		Service: svc.Name, Title: sla.Title, Period: per.Name, TimeZone: sla.TimeZone, From: per.From, To: per.To,
		Availability: sla, Objectives: Objectives{Availability: sla.Objective},
		Incidents: []IncidentSummary{}, Backups: []BackupSummary{}, Drills: []DrillSummary{}, Verdicts: []Verdict{},
	}
	ps := p.Service(svc.Name)
	if ps != nil && ps.Objectives.RPO.Duration > 0 {
		d := Duration(ps.Objectives.RPO.Duration)
		c.Objectives.RPO = &d
	}
	if ps != nil && ps.Objectives.RTO.Duration > 0 {
		d := Duration(ps.Objectives.RTO.Duration)
		c.Objectives.RTO = &d
	}

	shown := p.StatusPage != nil && slices.Contains(p.ShownServices(), svc.Name)
	for _, inc := range incidents {
		if slices.Contains(inc.Services, svc.Name) {
			c.Incidents = append(c.Incidents, incidentSummary(inc, p.Server.PublicURL, shown, now, per.From.Location()))
		}
	}
	for i := range p.Backups {
		if b := &p.Backups[i]; b.Service == svc.Name {
			s, err := backupSummary(ctx, src, b, per, now)
			if err != nil {
				return nil, err
			}
			c.Backups = append(c.Backups, s)
		}
	}
	for _, d := range p.Drills {
		if b := p.Backup(d.Backup); b != nil && b.Service == svc.Name {
			runs, err := src.DrillRunsBetween(ctx, d.Name, per.From, minTime(per.To, now))
			if err != nil {
				return nil, err
			}
			c.Drills = append(c.Drills, drillSummary(d, runs, per.From.Location()))
		}
	}
	c.Verdicts = verdicts(c)
	return c, nil
}

func incidentSummary(inc upkeep.Incident, publicURL string, shown bool, now time.Time, loc *time.Location) IncidentSummary {
	s := IncidentSummary{ID: inc.ID, Title: inc.Title, Impact: inc.Impact, Automatic: inc.Automatic, Start: inc.StartedAt.In(loc)}
	end := now
	if !inc.ResolvedAt.IsZero() {
		e := inc.ResolvedAt.In(loc)
		s.End, end = &e, e
	}
	s.Duration = Duration(max(end.Sub(inc.StartedAt), 0))
	id := strconv.FormatInt(inc.ID, 10)
	if shown {
		s.Link = publicURL + "/incidents/" + id
	} else {
		s.Link = publicURL + "/api/v1/incidents/" + id
	}
	if r := inc.Report; r != nil {
		s.Report = &IncidentReportSummary{Cause: r.Cause, Measures: r.Measures, Prevention: r.Prevention}
	}
	return s
}

// backupSummary matches the slots of b's schedule in the period with the stored runs: a slot
// has the run (not a missed record) whose scheduled time it is, else it was missed.
func backupSummary(ctx context.Context, src ContinuitySource, b *policy.Backup, per Period, now time.Time) (BackupSummary, error) {
	s := BackupSummary{Backup: b.Name, Schedule: b.Schedule, TZ: b.TZ, Problems: []BackupProblem{}}
	for _, d := range b.To {
		s.Destinations = append(s.Destinations, DestinationSummary{Destination: d})
	}
	sched, err := b.Cron()
	if err != nil {
		return s, fmt.Errorf("backup %q: schedule: %w", b.Name, err)
	}
	first, err := src.FirstBackupRunAt(ctx, b.Name)
	if err != nil {
		return s, err
	}
	end := minTime(per.To, now)
	runs, err := src.BackupRunsBetween(ctx, b.Name, per.From, end)
	if err != nil {
		return s, err
	}
	bySlot := map[int64]upkeep.BackupRun{}
	for _, r := range runs {
		if r.Scheduled.IsZero() {
			continue
		}
		// A missed record gives way to the run that caught its slot up.
		if prev, ok := bySlot[r.Scheduled.UnixMilli()]; !ok || prev.Status == upkeep.BackupMissed {
			bySlot[r.Scheduled.UnixMilli()] = r
		}
	}
	used := map[int64]bool{}
	if !first.IsZero() {
		since := maxTime(per.From, first).In(per.From.Location())
		s.Since = &since
		for slot := sched.Next(since.Add(-time.Nanosecond)); !slot.IsZero() && slot.Before(end); slot = sched.Next(slot) {
			r, ok := bySlot[slot.UnixMilli()]
			if !ok && slot.Add(b.Grace.Duration).After(now) {
				continue // not late yet
			}
			s.Expected++
			status := upkeep.BackupMissed
			if ok {
				used[r.ID], status = true, r.Status
				if r.Trigger == upkeep.TriggerCatchUp {
					s.CaughtUp++
				}
			}
			switch status {
			case upkeep.BackupSucceeded:
				s.Succeeded++
			case upkeep.BackupPartial:
				s.Partial++
			case upkeep.BackupFailed:
				s.Failed++
			case upkeep.BackupRunning:
				s.Running++
			default:
				s.Missed++
			}
			if status != upkeep.BackupSucceeded && status != upkeep.BackupRunning {
				p := BackupProblem{Slot: slot.In(per.From.Location()), Status: status, Error: r.Error}
				if !ok {
					p.Error = "no run for this slot"
				}
				s.Problems = append(s.Problems, p)
			}
		}
	}
	for _, r := range runs {
		if r.Status == upkeep.BackupMissed || r.Status == upkeep.BackupRunning {
			continue
		}
		if !used[r.ID] {
			s.Unscheduled++
		}
		for i := range s.Destinations {
			d := &s.Destinations[i]
			d.Runs++
			k := slices.IndexFunc(r.Destinations, func(x upkeep.BackupDestinationResult) bool { return x.Destination == d.Destination })
			if k < 0 || r.Destinations[k].Status != upkeep.BackupSucceeded {
				d.Failed++
				continue
			}
			d.Succeeded++
			if end := r.Destinations[k].End.In(per.From.Location()); d.LastSuccess == nil || end.After(*d.LastSuccess) {
				d.LastSuccess = &end
			}
		}
	}
	return s, nil
}

// drillMeasured reports whether a run measured its RTO and RPO (as the store keeps them).
func drillMeasured(r upkeep.DrillRun) bool { return r.Status == upkeep.DrillPassed || r.RTO > 0 }

func drillSummary(d policy.Drill, runs []upkeep.DrillRun, loc *time.Location) DrillSummary {
	s := DrillSummary{Drill: d.Name, Backup: d.Backup, Schedule: d.Schedule, List: []DrillRunSummary{}}
	maxRTO, maxRPO := d.MaxRTO.Duration, d.MaxRPO.Duration
	if maxRTO > 0 {
		v := Duration(maxRTO)
		s.MaxRTO = &v
	}
	if maxRPO > 0 {
		v := Duration(maxRPO)
		s.MaxRPO = &v
	}
	var rtos, rpos []time.Duration
	for _, r := range runs {
		if r.Status == upkeep.DrillMissed {
			s.Missed++
		} else {
			s.Runs++
		}
		switch r.Status {
		case upkeep.DrillMissed:
		case upkeep.DrillPassed:
			s.Passed++
		case upkeep.DrillFailed:
			s.Failed++
		case upkeep.DrillInterrupted:
			s.Interrupted++
		default:
			s.Running++
		}
		line := DrillRunSummary{ID: r.ID, Started: r.Started.In(loc), Destination: r.Destination, Status: r.Status, Reason: r.Reason}
		if drillMeasured(r) {
			rto, rpo := Duration(r.RTO), Duration(r.RPO)
			line.RTO, line.RPO = &rto, &rpo
			rtos, rpos = append(rtos, r.RTO), append(rpos, r.RPO)
			if maxRTO > 0 && r.RTO > maxRTO {
				s.RTOBreaches++
			}
			if maxRPO > 0 && r.RPO > maxRPO {
				s.RPOBreaches++
			}
		}
		s.List = append(s.List, line)
	}
	s.RTO, s.RPO = trend(rtos), trend(rpos)
	return s
}

// trend summarises values in the order they were measured; nil when there are none.
func trend(values []time.Duration) *Trend {
	if len(values) == 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(values))
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return &Trend{
		Measured: n, First: Duration(values[0]), Last: Duration(values[n-1]),
		Best: Duration(sorted[0]), Worst: Duration(sorted[n-1]), Median: Duration(median),
	}
}

// verdicts gives one line per objective of c.
func verdicts(c *Continuity) []Verdict {
	out := []Verdict{}
	if a := c.Availability; a.Objective != nil {
		v := Verdict{Objective: "availability", Of: c.Service, Target: *a.Objective}
		target := fmtTarget(*a.Objective)
		switch {
		case a.Availability == nil:
			v.Status = VerdictNotMeasured
			v.Text = fmt.Sprintf("Availability objective %s: not measured (no monitoring data in the period).", target)
		default:
			measured, margin := *a.Availability, time.Duration(*a.BudgetRemaining).Seconds()
			v.Measured, v.Margin = &measured, &margin
			if *a.Met {
				v.Status = VerdictMet
				v.Text = fmt.Sprintf("Availability %s against %s: met, %s of the %s downtime budget left.",
					fmtPercent(measured), target, *a.BudgetRemaining, *a.AllowedDowntime)
			} else {
				v.Status = VerdictMissed
				v.Text = fmt.Sprintf("Availability %s against %s: missed, %s of downtime overran the %s allowed by %s.",
					fmtPercent(measured), target, a.Down, *a.AllowedDowntime, -*a.BudgetRemaining)
			}
		}
		out = append(out, v)
	}
	for _, o := range []struct {
		name, label string
		objective   *Duration
		limit       func(DrillSummary) (*Duration, *Trend, int)
	}{
		{"rto", "RTO", c.Objectives.RTO, func(d DrillSummary) (*Duration, *Trend, int) { return d.MaxRTO, d.RTO, d.RTOBreaches }},
		{"rpo", "RPO", c.Objectives.RPO, func(d DrillSummary) (*Duration, *Trend, int) { return d.MaxRPO, d.RPO, d.RPOBreaches }},
	} {
		covered := false
		for _, d := range c.Drills {
			limit, tr, breaches := o.limit(d)
			if limit == nil {
				continue
			}
			covered = true
			v := Verdict{Objective: o.name, Of: d.Drill, Target: time.Duration(*limit).Seconds()}
			if tr == nil {
				v.Status = VerdictNotMeasured
				v.Text = fmt.Sprintf("%s of drill %s (max %s): not measured, no run of the drill measured it in the period.", o.label, d.Drill, *limit)
				out = append(out, v)
				continue
			}
			measured, margin := time.Duration(tr.Worst).Seconds(), time.Duration(*limit-tr.Worst).Seconds()
			v.Measured, v.Margin = &measured, &margin
			if tr.Worst <= *limit {
				v.Status = VerdictMet
				v.Text = fmt.Sprintf("%s of drill %s: worst %s of %s against %s: met, %s to spare.",
					o.label, d.Drill, tr.Worst, runs(tr.Measured), *limit, *limit-tr.Worst)
			} else {
				v.Status = VerdictMissed
				v.Text = fmt.Sprintf("%s of drill %s: worst %s against %s: missed by %s (%d of %s over).",
					o.label, d.Drill, tr.Worst, *limit, tr.Worst-*limit, breaches, runs(tr.Measured))
			}
			out = append(out, v)
		}
		if !covered && o.objective != nil {
			out = append(out, Verdict{Objective: o.name, Of: c.Service, Status: VerdictNotMeasured, Target: time.Duration(*o.objective).Seconds(),
				Text: fmt.Sprintf("%s objective %s: not measured, no restore drill of this service's backups has a limit for it.", o.label, *o.objective)})
		}
	}
	return out
}

func runs(n int) string {
	if n == 1 {
		return "1 run"
	}
	return strconv.Itoa(n) + " runs"
}

// fmtPercent writes a measured percentage with three decimals, as the reports show them.
func fmtPercent(p float64) string { return strconv.FormatFloat(p, 'f', 3, 64) + "%" }

// fmtTarget writes an objective as the policy does ("99.9%").
func fmtTarget(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) + "%" }
