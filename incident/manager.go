package incident

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
)

// Subscriber is the monitoring engine as the manager sees it.
type Subscriber interface {
	Subscribe(buffer int) (<-chan upkeep.Transition, func())
}

// Config holds the manager's dependencies.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Clock  engine.Clock // nil: the real clock
	// Registerer receives the metrics of incidents and deliveries; nil registers none.
	Registerer prometheus.Registerer
	// AckTTL is how long an acknowledgement link works; 0 means 24 hours.
	AckTTL time.Duration
}

// Manager opens, escalates and resolves incidents.
type Manager struct {
	store  Store
	log    *slog.Logger
	clock  engine.Clock
	ackTTL time.Duration
	pol    atomic.Pointer[policy.Policy]
	wake   chan struct{} // something changed: recompute the schedule
	// notify wakes the delivery workers after notifications were enqueued.
	notify func()

	keyOnce sync.Once
	key     []byte
	keyErr  error

	metrics *metrics
	version atomic.Uint64 // see Version
}

// batchSize bounds the transitions applied in one transaction.
const batchSize = 256

// NewManager returns a manager; Apply a policy before Run.
func NewManager(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	if cfg.AckTTL <= 0 {
		cfg.AckTTL = 24 * time.Hour
	}
	m := &Manager{
		log: cfg.Logger, clock: cfg.Clock, ackTTL: cfg.AckTTL,
		wake: make(chan struct{}, 1), notify: func() {},
		metrics: newMetrics(cfg.Registerer),
	}
	m.store = versionedStore{Store: cfg.Store, version: &m.version}
	return m
}

// Apply puts a policy into effect (monitors' services, escalations, dependencies).
func (m *Manager) Apply(p *policy.Policy) {
	m.pol.Store(p)
	m.poke()
}

func (m *Manager) policy() *policy.Policy {
	if p := m.pol.Load(); p != nil {
		return p
	}
	return &policy.Policy{}
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run applies transitions as the engine reports them and runs escalation steps when they fall
// due, until ctx ends. It catches up with the store first, and again whenever its subscription
// is dropped.
func (m *Manager) Run(ctx context.Context, sub Subscriber) error {
	timer := m.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		// Subscribe first, then catch up from the store (in loop): nothing falls in between.
		ch, cancel := sub.Subscribe(4096)
		err := m.loop(ctx, ch, timer)
		cancel()
		if err == nil || ctx.Err() != nil {
			continue // the subscription was dropped: subscribe again at once
		}
		m.log.Error("incidents: processing failed; retrying in 5s", "err", err)
		timer.Stop()
		timer.Reset(5 * time.Second)
		select {
		case <-ctx.Done():
		case <-timer.C():
		}
	}
	return ctx.Err()
}

func (m *Manager) loop(ctx context.Context, ch <-chan upkeep.Transition, timer engine.Timer) error {
	for {
		if err := m.CatchUp(ctx); err != nil {
			return err
		}
		next, err := m.Escalate(ctx)
		if err != nil {
			return err
		}
		d := time.Hour
		if !next.IsZero() {
			d = max(next.Sub(m.clock.Now()), 0)
		}
		timer.Stop()
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ch:
			if !ok {
				return nil
			}
			// Take whatever else has arrived: the store has it all.
			for drained := false; !drained; {
				select {
				case _, ok := <-ch:
					if !ok {
						return m.CatchUp(ctx)
					}
				default:
					drained = true
				}
			}
		case <-m.wake:
		case <-timer.C():
		}
	}
}

// CatchUp applies every stored transition after the watermark.
func (m *Manager) CatchUp(ctx context.Context) error {
	for {
		var wm int64
		err := m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
			var err error
			wm, err = tx.Watermark()
			return err
		})
		if err != nil {
			return err
		}
		ts, err := m.store.TransitionsAfter(ctx, wm, batchSize)
		if err != nil || len(ts) == 0 {
			return err
		}
		p := m.policy()
		now := m.clock.Now()
		enqueued := 0
		err = m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
			enqueued = 0
			cur, err := tx.Watermark()
			if err != nil {
				return err
			}
			// The open incidents are read once per batch and kept up to date by apply:
			// reading them for every transition made a mass outage quadratic (1,000
			// transitions at once took over a minute to apply).
			open, err := tx.OpenIncidents()
			if err != nil {
				return err
			}
			for _, st := range ts {
				if st.ID <= cur {
					continue
				}
				n, err := m.apply(tx, p, &open, st, now)
				if err != nil {
					return fmt.Errorf("transition %d of %s: %w", st.ID, st.Monitor, err)
				}
				enqueued += n
			}
			return tx.SetWatermark(ts[len(ts)-1].ID)
		})
		if err != nil {
			return err
		}
		if enqueued > 0 {
			m.notify()
		}
		if len(ts) < batchSize {
			return nil
		}
	}
}

// failing reports whether state s is an outage for monitor pm (nil: not in the policy).
func failing(pm *policy.Monitor, s upkeep.State) bool {
	if s == upkeep.StateDown {
		return true
	}
	return s == upkeep.StateDegraded && pm != nil && pm.IncidentOn == string(upkeep.StateDegraded)
}

// apply applies one transition inside tx and returns the number of notifications enqueued.
// open holds the open incidents of tx, as OpenIncidents returns them; apply keeps it so
// (incidents it opens are added, those it resolves removed).
func (m *Manager) apply(tx upkeep.IncidentTx, p *policy.Policy, open *[]upkeep.Incident, st upkeep.StoredTransition, now time.Time) (int, error) {
	pm := p.Monitor(st.Monitor)
	service := ""
	if pm != nil {
		service = pm.Service
	}
	if failing(pm, st.To) {
		inc, n, err := m.fail(tx, p, *open, st, service, now)
		if inc != nil {
			*open = append(*open, *inc)
		}
		return n, err
	}
	if st.To == upkeep.StateMaintenance {
		return 0, m.maintenance(tx, *open, st)
	}
	n, err := m.recover(tx, *open, st, now)
	*open = slices.DeleteFunc(*open, func(inc upkeep.Incident) bool { return !inc.Open() })
	return n, err
}

// maintenance applies a monitor's entering a maintenance window. Maintenance is not an outage:
// it opens nothing. An incident the monitor is failing in stays open and keeps escalating (its
// outage began before the window, and people were paged for it); the window is recorded in its
// timeline. When the window ends, the monitor's real state is applied like any other change: a
// recovery resolves the incident, a monitor still down stays in it without a new page.
func (m *Manager) maintenance(tx upkeep.IncidentTx, open []upkeep.Incident, st upkeep.StoredTransition) error {
	for i := range open {
		inc := &open[i]
		if mem := member(inc, st.Monitor); inc.Automatic && mem != nil && mem.Failing {
			text := fmt.Sprintf("%s entered maintenance", st.Monitor)
			if st.Cause != "" {
				text += " (" + st.Cause + ")"
			}
			if err := tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: st.At, Kind: upkeep.UpdateEvent, Status: inc.Status, Message: text, Author: "upkeep"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// fail applies a failing transition; it returns the incident it opened, if it opened one.
func (m *Manager) fail(tx upkeep.IncidentTx, p *policy.Policy, open []upkeep.Incident, st upkeep.StoredTransition, service string, now time.Time) (*upkeep.Incident, int, error) {
	event := func(inc *upkeep.Incident, text string) error {
		return tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: st.At, Kind: upkeep.UpdateEvent, Status: inc.Status, Message: text, Author: "upkeep"})
	}
	what := fmt.Sprintf("%s is %s", st.Monitor, st.To)
	if st.Cause != "" {
		what += ": " + st.Cause
	}
	// Already part of an open incident: record the change.
	for i := range open {
		inc := &open[i]
		if !inc.Automatic {
			continue
		}
		if mem := member(inc, st.Monitor); mem != nil {
			mem.State, mem.Failing, mem.Since = st.To, true, st.At
			if err := tx.SaveIncident(inc); err != nil {
				return nil, 0, err
			}
			return nil, 0, event(inc, what)
		}
	}
	member := upkeep.IncidentMonitor{Monitor: st.Monitor, Service: service, State: st.To, Failing: true, Since: st.At}
	if service != "" {
		// The open incident of the service, else that of a service it depends on.
		roots := dependencies(p, service)
		for _, group := range [][]string{{service}, roots} {
			for i := range open {
				inc := &open[i]
				if !inc.Automatic || !slices.ContainsFunc(group, func(s string) bool { return slices.Contains(inc.Services, s) }) {
					continue
				}
				inc.Monitors = append(inc.Monitors, member)
				text := what
				if !slices.Contains(inc.Services, service) {
					inc.Services = append(inc.Services, service)
					text += fmt.Sprintf(" (service %s depends on %s: folded into this incident)", service, list(inc.Services[:len(inc.Services)-1]))
				}
				if err := tx.SaveIncident(inc); err != nil {
					return nil, 0, err
				}
				return nil, 0, event(inc, text)
			}
		}
	}
	// A new incident.
	inc := upkeep.Incident{
		Status: upkeep.StatusInvestigating, Impact: upkeep.ImpactMajor, Automatic: true,
		StartedAt: st.At, OpenedAt: now, Monitors: []upkeep.IncidentMonitor{member},
	}
	if st.To == upkeep.StateDegraded {
		inc.Impact = upkeep.ImpactMinor
	}
	// The title is what a status page shows ("Public API is down"); notifications use it as it
	// is, without adding the state again.
	if service != "" {
		inc.Services = []string{service}
		title := service
		if s := p.Service(service); s != nil && s.Title != "" {
			title = s.Title
		}
		inc.Title = fmt.Sprintf("%s is %s", title, st.To)
	} else {
		inc.Title = fmt.Sprintf("%s is %s", st.Monitor, st.To)
	}
	if e := p.EscalationFor(service, st.Monitor); e != nil {
		inc.Escalation = e.Name
	}
	if err := tx.InsertIncident(&inc); err != nil {
		return nil, 0, err
	}
	if err := event(&inc, what); err != nil {
		return nil, 0, err
	}
	m.log.Warn("incident opened", "incident", inc.ID, "title", inc.Title, "monitor", st.Monitor, "cause", st.Cause)
	n, err := m.escalate(tx, p, &inc, now, st.Monitor, string(st.To), st.Cause)
	return &inc, n, err
}

func list(s []string) string { return strings.Join(s, ", ") }

// dependencies returns every service that service depends on, directly or further down.
func dependencies(p *policy.Policy, service string) []string {
	var out []string
	seen := map[string]bool{service: true}
	queue := []string{service}
	for len(queue) > 0 {
		s := p.Service(queue[0])
		queue = queue[1:]
		if s == nil {
			continue
		}
		for _, d := range s.DependsOn {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	return out
}

func (m *Manager) recover(tx upkeep.IncidentTx, open []upkeep.Incident, st upkeep.StoredTransition, now time.Time) (int, error) {
	enqueued := 0
	for i := range open {
		inc := &open[i]
		mem := member(inc, st.Monitor)
		if !inc.Automatic || mem == nil || !mem.Failing {
			continue
		}
		mem.State, mem.Failing, mem.Since = st.To, false, st.At
		text := fmt.Sprintf("%s is %s", st.Monitor, st.To)
		if st.To == upkeep.StateUp {
			text = fmt.Sprintf("%s recovered", st.Monitor)
		}
		if inc.Failing() {
			if err := tx.SaveIncident(inc); err != nil {
				return 0, err
			}
			if err := tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: st.At, Kind: upkeep.UpdateEvent, Status: inc.Status, Message: text, Author: "upkeep"}); err != nil {
				return 0, err
			}
			continue
		}
		inc.Status, inc.ResolvedAt = upkeep.StatusResolved, st.At
		if inc.ResolvedAt.Before(inc.StartedAt) {
			inc.ResolvedAt = inc.StartedAt
		}
		if err := tx.SaveIncident(inc); err != nil {
			return 0, err
		}
		text += fmt.Sprintf("; every monitor has recovered: resolved automatically after %s", inc.Duration().Round(time.Second))
		if err := tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: st.At, Kind: upkeep.UpdateEvent, Status: inc.Status, Message: text, Author: "upkeep"}); err != nil {
			return 0, err
		}
		m.log.Info("incident resolved", "incident", inc.ID, "title", inc.Title, "duration", inc.Duration())
		n, err := m.tellNotified(tx, inc, upkeep.EventRecovered, "", now, upkeep.NotificationPayload{Monitor: st.Monitor, State: string(st.To), Cause: st.Cause, Message: text})
		if err != nil {
			return 0, err
		}
		enqueued += n
	}
	return enqueued, nil
}

// tellNotified enqueues event for every channel that was paged for inc. suffix makes the key
// unique for events that may happen more than once (updates).
func (m *Manager) tellNotified(tx upkeep.IncidentTx, inc *upkeep.Incident, event, suffix string, now time.Time, pl upkeep.NotificationPayload) (int, error) {
	channels, err := tx.NotifiedChannels(inc.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range channels {
		key := fmt.Sprintf("incident/%d/%s%s/%s", inc.ID, event, suffix, c)
		ok, err := tx.Enqueue(m.notification(inc, key, c, event, 0, now, pl))
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func (m *Manager) notification(inc *upkeep.Incident, key, channel, event string, step int, now time.Time, pl upkeep.NotificationPayload) upkeep.Notification {
	pl.Title, pl.Status, pl.Impact = inc.Title, inc.Status, inc.Impact
	pl.Services, pl.Monitors = slices.Clone(inc.Services), monitorNames(inc)
	pl.StartedAt, pl.ResolvedAt, pl.At = inc.StartedAt, inc.ResolvedAt, now
	return upkeep.Notification{Key: key, Incident: inc.ID, Channel: channel, Event: event, Step: step, Payload: pl, CreatedAt: now, NextAttemptAt: now}
}

// escalate runs the steps and the reminder of inc that are due at now, inside tx, and returns
// the number of notifications enqueued.
func (m *Manager) escalate(tx upkeep.IncidentTx, p *policy.Policy, inc *upkeep.Incident, now time.Time, monitor, state, cause string) (int, error) {
	if !inc.Open() || inc.Acknowledged() || inc.Escalation == "" {
		return 0, nil
	}
	e := p.Escalation(inc.Escalation)
	if e == nil || len(e.Steps) == 0 {
		return 0, nil
	}
	event := upkeep.EventDown
	if inc.Impact == upkeep.ImpactMinor || inc.Impact == upkeep.ImpactNone {
		event = upkeep.EventDegraded
	}
	if monitor == "" && len(inc.Monitors) > 0 {
		mem := inc.Monitors[0]
		monitor, state = mem.Monitor, string(mem.State)
	}
	pl := upkeep.NotificationPayload{Monitor: monitor, State: state, Cause: cause}
	enqueued := 0
	changed := false
	for inc.StepsRun < len(e.Steps) && !inc.OpenedAt.Add(e.Steps[inc.StepsRun].After.Duration).After(now) {
		k := inc.StepsRun
		for _, c := range e.Steps[k].Notify {
			key := fmt.Sprintf("incident/%d/step/%d/%s/%s", inc.ID, k, c, event)
			ok, err := tx.Enqueue(m.notification(inc, key, c, event, k, now, pl))
			if err != nil {
				return 0, err
			}
			if ok {
				enqueued++
			}
		}
		if err := tx.AddUpdate(inc.ID, upkeep.IncidentUpdate{At: now, Kind: upkeep.UpdateEvent, Status: inc.Status, Author: "upkeep",
			Message: fmt.Sprintf("escalation %s step %d: notified %s", e.Name, k+1, list(e.Steps[k].Notify))}); err != nil {
			return 0, err
		}
		inc.StepsRun++
		changed = true
	}
	if inc.StepsRun >= len(e.Steps) && e.RepeatEvery.Duration > 0 {
		base := inc.OpenedAt.Add(e.Steps[len(e.Steps)-1].After.Duration)
		if due := int(now.Sub(base) / e.RepeatEvery.Duration); due > inc.Reminders {
			// One reminder, numbered after the latest one due: missed ones are not sent in a burst.
			channels, err := tx.NotifiedChannels(inc.ID)
			if err != nil {
				return 0, err
			}
			for _, c := range channels {
				key := fmt.Sprintf("incident/%d/reminder/%d/%s/%s", inc.ID, due, c, upkeep.EventReminder)
				ok, err := tx.Enqueue(m.notification(inc, key, c, upkeep.EventReminder, due, now, pl))
				if err != nil {
					return 0, err
				}
				if ok {
					enqueued++
				}
			}
			inc.Reminders = due
			changed = true
		}
	}
	if changed {
		if err := tx.SaveIncident(inc); err != nil {
			return 0, err
		}
	}
	return enqueued, nil
}

// nextDue returns when inc's next step or reminder falls due, or the zero time.
func nextDue(p *policy.Policy, inc *upkeep.Incident) time.Time {
	if !inc.Open() || inc.Acknowledged() || inc.Escalation == "" {
		return time.Time{}
	}
	e := p.Escalation(inc.Escalation)
	if e == nil || len(e.Steps) == 0 {
		return time.Time{}
	}
	if inc.StepsRun < len(e.Steps) {
		return inc.OpenedAt.Add(e.Steps[inc.StepsRun].After.Duration)
	}
	if e.RepeatEvery.Duration <= 0 {
		return time.Time{}
	}
	base := inc.OpenedAt.Add(e.Steps[len(e.Steps)-1].After.Duration)
	return base.Add(time.Duration(inc.Reminders+1) * e.RepeatEvery.Duration)
}

// Escalate runs every step and reminder due now and returns when the next one falls due (zero
// if none is scheduled).
func (m *Manager) Escalate(ctx context.Context) (time.Time, error) {
	p := m.policy()
	now := m.clock.Now()
	var next time.Time
	enqueued, open := 0, 0
	err := m.store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		next, enqueued = time.Time{}, 0
		incs, err := tx.OpenIncidents()
		if err != nil {
			return err
		}
		open = len(incs)
		for i := range incs {
			inc := &incs[i]
			if due := nextDue(p, inc); due.IsZero() || due.After(now) {
				if !due.IsZero() && (next.IsZero() || due.Before(next)) {
					next = due
				}
				continue
			}
			n, err := m.escalate(tx, p, inc, now, "", "", "")
			if err != nil {
				return fmt.Errorf("escalate incident %d: %w", inc.ID, err)
			}
			enqueued += n
			if due := nextDue(p, inc); !due.IsZero() && (next.IsZero() || due.Before(next)) {
				next = due
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	m.metrics.open.Set(float64(open))
	if enqueued > 0 {
		m.notify()
	}
	return next, nil
}
