// Package heartbeat watches passive monitors: jobs (cron jobs, backup scripts) ping Upkeep, and a
// missing, late, failed or hung run is an outage of the monitor.
//
// Upkeep answers the ping protocol of Healthchecks.io, so tools that speak it (runitor,
// borgmatic, backup GUIs, curl one-liners) work by changing only the base URL:
//
//	/ping/<uuid>                    success            /ping/<ping-key>/<slug>
//	/ping/<uuid>/start              the job started    /ping/<ping-key>/<slug>/start
//	/ping/<uuid>/fail               the job failed     /ping/<ping-key>/<slug>/fail
//	/ping/<uuid>/log                a log line only    /ping/<ping-key>/<slug>/log
//	/ping/<uuid>/<0-255>            exit status        /ping/<ping-key>/<slug>/<0-255>
//
// with HEAD, GET or POST, an optional ?rid=<uuid> run id that pairs a start with its end, and
// the request body kept as the run's log (the first 100 kB; the response header Ping-Body-Limit
// says so, and runitor reads it). Answers are those of Healthchecks.io: 200 "OK", 404 "not
// found" for an unknown UUID, key or slug, 400 for a malformed exit status or run id. Unlike
// Healthchecks.io, ?create=1 does not create a monitor for an unknown slug (the answer is 404):
// monitors come from the policy. Nothing is rate-limited; URL length and body size are capped.
//
// Every ping is stored durably before it is answered, and its outcome goes to the monitoring
// engine (Ingester): a success as up, a failure or non-zero exit status as down, with the run's
// duration when a start was paired with it. Deadlines are the engine's to ask about: it calls
// an Evaluator every few seconds, which reports a missed deadline (period or cron schedule plus
// grace) or a run that started and did not finish within grace, once each. The state behind
// that (last completion, last start, unpaired starts) is kept in memory and rebuilt from the
// store when the service starts, so it survives restarts.
package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/heartbeat/cron"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// Ingester takes the results of pings: the monitoring engine. Ingest must not block.
type Ingester interface {
	Ingest(upkeep.Result)
}

// Evaluator tells the engine about deadlines a heartbeat monitor has missed.
type Evaluator interface {
	// Evaluate returns a down result when there is something new to report at now: a missed
	// deadline, or a start without a completion within grace. It reports each once.
	Evaluate(now time.Time) (upkeep.Result, bool)
}

// maxUnpaired bounds the starts of a monitor kept waiting for their completion.
const maxUnpaired = 64

// Service answers pings and evaluates the deadlines of the heartbeat monitors of a policy.
type Service struct {
	db  *sqlite.DB
	in  Ingester
	log *slog.Logger
	now func() time.Time

	mu      sync.RWMutex
	byName  map[string]*monitor
	byUUID  map[string]*monitor
	bySlug  map[string]*monitor
	pingKey string
}

// monitor is the state of one heartbeat monitor. The identity fields are set by Apply under
// Service.mu; the rest is guarded by mu.
type monitor struct {
	name, uuid, slug string

	mu         sync.Mutex
	since      time.Time // when the monitor became an active heartbeat: its first deadline counts from here
	last       time.Time // the newest ping or reported deadline: the next ping is later
	completion time.Time // the newest success, failure or exit status; zero when none
	start      time.Time // the newest start; zero when none
	unpaired   []run     // starts waiting for their completion, oldest first
	// reported is set when a deadline has been reported since the base (the newest completion,
	// or since) reportedBase: nothing more is reported until the base changes. Which deadline is
	// reported (the earliest one passed) depends only on the stored pings, so a restart, which
	// forgets reported, reports the same deadline at the same time again, and that is stored once.
	reported     bool
	reportedBase time.Time
}

// run is a start waiting for its completion.
type run struct {
	at  time.Time
	rid string
}

// New returns a service storing pings in db and handing their results to in. now is the clock
// of ping times (time.Now in production); a nil logger discards.
func New(db *sqlite.DB, in Ingester, logger *slog.Logger, now func() time.Time) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, in: in, log: logger, now: now,
		byName: map[string]*monitor{}, byUUID: map[string]*monitor{}, bySlug: map[string]*monitor{}}
}

// Apply makes the heartbeat monitors of p the ones the service answers for: at start and on
// every reload. Each keeps its UUID (the policy's, or one generated once and stored) and its
// state; a monitor new to this process has its state read from the store. Pings of monitors no
// longer in the policy are answered 404.
func (s *Service) Apply(ctx context.Context, p *policy.Policy) error {
	var specs []sqlite.HeartbeatSpec
	var slugs []string
	for _, m := range p.Monitors {
		if m.Heartbeat == nil {
			continue
		}
		specs = append(specs, sqlite.HeartbeatSpec{Monitor: m.Name, UUID: m.Heartbeat.UUID})
		slug := m.Heartbeat.Slug
		if slug == "" {
			slug = m.Name
		}
		slugs = append(slugs, slug)
	}
	stored, err := s.db.ApplyHeartbeats(ctx, specs, s.now())
	if err != nil {
		return fmt.Errorf("heartbeats: %w", err)
	}

	s.mu.RLock()
	old := s.byName
	s.mu.RUnlock()
	byName := make(map[string]*monitor, len(stored))
	byUUID := make(map[string]*monitor, len(stored))
	bySlug := make(map[string]*monitor, len(stored))
	var errs []error
	for i, hb := range stored {
		m := old[hb.Monitor]
		if m == nil {
			m = &monitor{name: hb.Monitor}
			if err := s.load(ctx, m); err != nil {
				errs = append(errs, err)
				continue // not answered until a reload can read it
			}
		}
		m.mu.Lock()
		m.since = hb.Since
		m.mu.Unlock()
		m.uuid, m.slug = hb.UUID, slugs[i]
		byName[m.name], byUUID[m.uuid] = m, m
		if _, dup := bySlug[m.slug]; dup {
			errs = append(errs, fmt.Errorf("heartbeats: monitors share the slug %q", m.slug))
		}
		bySlug[m.slug] = m
	}
	s.mu.Lock()
	s.byName, s.byUUID, s.bySlug = byName, byUUID, bySlug
	s.pingKey = p.Server.PingKey.Reveal()
	s.mu.Unlock()
	return errors.Join(errs...)
}

// load reads the state of m from the store.
func (s *Service) load(ctx context.Context, m *monitor) error {
	h, err := s.db.HeartbeatHistory(ctx, m.name, maxUnpaired)
	if err != nil {
		return fmt.Errorf("heartbeats: %w", err)
	}
	m.last = h.Last
	if h.Completion != nil {
		m.completion = h.Completion.Time
	}
	if h.Start != nil {
		m.start = h.Start.Time
	}
	for i := len(h.Unpaired) - 1; i >= 0; i-- {
		m.unpaired = append(m.unpaired, run{at: h.Unpaired[i].Time, rid: h.Unpaired[i].RID})
	}
	return nil
}

// URLs returns the paths at which monitor is pinged: by UUID, and by ping key and slug (empty
// when the policy sets no server.ping_key). The second holds the ping key, a secret. Both are
// empty for a monitor that is not a heartbeat of the applied policy.
func (s *Service) URLs(monitor string) (uuidURL, slugURL string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.byName[monitor]
	if m == nil {
		return "", ""
	}
	uuidURL = "/ping/" + m.uuid
	if s.pingKey != "" {
		slugURL = "/ping/" + escapeSegment(s.pingKey) + "/" + escapeSegment(m.slug)
	}
	return uuidURL, slugURL
}

// schedule is when a monitor's pings are due.
type schedule struct {
	period time.Duration  // or
	cron   *cron.Schedule // one of the two
	grace  time.Duration
	loc    *time.Location // for messages
	desc   string         // "cron 0 6 * * *, grace 1h"
}

func newSchedule(hb *policy.HeartbeatCheck) (schedule, error) {
	sc := schedule{period: hb.Period.Duration, grace: hb.Grace.Duration, loc: time.UTC, desc: hb.Schedule()}
	if hb.Cron != "" {
		loc, err := policy.LoadLocation(hb.TZ)
		if err != nil {
			return sc, err
		}
		if sc.cron, err = cron.Parse(hb.Cron, loc); err != nil {
			return sc, fmt.Errorf("cron %q: %w", hb.Cron, err)
		}
		sc.loc, sc.period = loc, 0
	} else if sc.period <= 0 {
		return sc, errors.New("a heartbeat needs a period or a cron schedule")
	}
	if sc.grace <= 0 {
		return sc, errors.New("the grace time must be positive")
	}
	return sc, nil
}

// due returns the deadline of the next ping after one at base; zero when there is none.
func (sc schedule) due(base time.Time) time.Time {
	if sc.cron == nil {
		return base.Add(sc.period + sc.grace)
	}
	next := sc.cron.Next(base)
	if next.IsZero() {
		return next
	}
	return next.Add(sc.grace)
}

// Evaluator returns the evaluator of heartbeat monitor m, for the engine. It reads the state
// the service keeps for m's name, so Apply must have seen m for it to report anything.
func (s *Service) Evaluator(m policy.Monitor) (Evaluator, error) {
	if m.Heartbeat == nil {
		return nil, fmt.Errorf("monitor %q is not a heartbeat", m.Name)
	}
	sc, err := newSchedule(m.Heartbeat)
	if err != nil {
		return nil, fmt.Errorf("monitor %q: %w", m.Name, err)
	}
	return &evaluator{s: s, name: m.Name, sched: sc}, nil
}

type evaluator struct {
	s     *Service
	name  string
	sched schedule

	mu        sync.Mutex
	cacheBase time.Time // the base the cached deadline was computed for
	cacheDue  time.Time
}

// dueAfter returns the deadline after base, remembering the last one (a cron schedule's next
// run takes a little work to find, and Evaluate runs every few seconds).
func (e *evaluator) dueAfter(base time.Time) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cacheDue.IsZero() || !e.cacheBase.Equal(base) {
		e.cacheBase, e.cacheDue = base, e.sched.due(base)
	}
	return e.cacheDue
}

func (e *evaluator) Evaluate(now time.Time) (upkeep.Result, bool) {
	e.s.mu.RLock()
	m := e.s.byName[e.name]
	e.s.mu.RUnlock()
	if m == nil {
		return upkeep.Result{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	base := m.completion
	if base.Before(m.since) {
		base = m.since
	}
	if m.reported && m.reportedBase.Equal(base) {
		return upkeep.Result{}, false
	}
	due := e.dueAfter(base)
	var hang time.Time
	if m.start.After(m.completion) && !m.start.Before(m.since) {
		hang = m.start.Add(e.sched.grace)
	}
	var at time.Time
	var msg string
	switch {
	case !hang.IsZero() && now.After(hang) && (due.IsZero() || !due.Before(hang)):
		at = hang
		msg = fmt.Sprintf("the job started at %s and did not finish by %s (grace %s): it hangs, or ended without reporting",
			e.format(m.start, time.Time{}), e.format(hang, m.start), policy.Duration{Duration: e.sched.grace})
	case !due.IsZero() && now.After(due):
		at = due
		if m.completion.IsZero() || m.completion.Before(m.since) {
			msg = fmt.Sprintf("no ping yet (watched since %s); expected by %s (%s)", e.format(m.since, time.Time{}), e.format(due, m.since), e.sched.desc)
		} else {
			msg = fmt.Sprintf("no ping since %s; expected by %s (%s)", e.format(m.completion, time.Time{}), e.format(due, m.completion), e.sched.desc)
		}
	default:
		return upkeep.Result{}, false
	}
	m.reported, m.reportedBase = true, base
	// The result is dated at the deadline, so that reporting it again after a restart stores
	// nothing new (a result's time is its idempotency key); later pings are dated after it.
	at = at.Truncate(time.Millisecond)
	if at.After(m.last) {
		m.last = at
	}
	return upkeep.Result{Monitor: e.name, Location: upkeep.LocalLocation, Time: at.UTC(), Outcome: upkeep.StateDown, Error: msg}, true
}

// format writes t in the schedule's time zone to the minute ("2026-11-23 06:02 UTC"), without
// the date when it is the same as ref's.
func (e *evaluator) format(t, ref time.Time) string {
	t = t.In(e.sched.loc)
	if !ref.IsZero() {
		r := t.In(e.sched.loc)
		ry, rm, rd := ref.In(e.sched.loc).Date()
		if y, mo, d := r.Date(); y == ry && mo == rm && d == rd {
			return t.Format("15:04 MST")
		}
	}
	return t.Format("2006-01-02 15:04 MST")
}
