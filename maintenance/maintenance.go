// Package maintenance runs planned maintenance windows: the policy's (one-off or recurring) and
// those scheduled through the API. It decides which monitors are in maintenance at any moment
// and tells the engine (engine.SetMaintenance), and it sends the windows' notices through the
// durable outbox of package incident.
//
// # Windows and occurrences
//
// A one-off window is [start, end). A recurring window has an occurrence at every run of its cron
// schedule in its time zone, lasting its duration; daylight saving time is that of package
// heartbeat/cron (a start in the skipped hour does not happen that day, one in the repeated hour
// happens once). A window covers its monitors and every monitor of its services.
//
// # When things happen
//
// The Scheduler computes, from the policy in force, the API's windows and the clock, which
// monitors are covered now, and the next moment anything changes (a start, an end, a notice
// falling due). It sleeps until then on the injectable clock, or until the policy changes or a
// window is created or ended. Nothing is remembered between steps, so a restart or a reload
// recomputes everything: a window active at restart is still active.
//
// # Notices
//
// Notices (the one place where maintenance events are decided) says which events are due for an
// occurrence at a moment: maintenance_scheduled from notify_before its start until it starts (at
// once for a window created later than that), maintenance_started while it runs, and
// maintenance_ended during the hour after it ends. Each goes to every channel of the window's
// notify list as a row of the outbox with the idempotency key
// maintenance/{source}/{id}/{start, Unix seconds}/{event}/{channel}: however often a step runs,
// before or after a restart, each notice is enqueued once. Notices older than an hour (Upkeep was
// stopped through the whole window) are not sent late.
package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
)

// Store is what the package needs from the store (store/sqlite implements it).
type Store interface {
	InsertWindow(ctx context.Context, w *upkeep.Window, now time.Time) error
	// Windows returns the API's windows that end after endAfter (zero: all), latest first.
	Windows(ctx context.Context, endAfter time.Time, limit int) ([]upkeep.Window, error)
	Window(ctx context.Context, id int64) (upkeep.Window, error)
	// EndWindow ends an active window now or cancels an upcoming one; a window that is over
	// is refused with an error that IsOver recognises.
	EndWindow(ctx context.Context, id int64, now time.Time) (upkeep.Window, error)
	// IncidentTx gives the outbox (Enqueue) in one write transaction.
	IncidentTx(ctx context.Context, fn func(upkeep.IncidentTx) error) error
}

// Engine is the monitoring engine as the scheduler sees it.
type Engine interface {
	SetMaintenance(cover map[string]string, at time.Time)
}

// Errors the API maps to status codes.
var (
	ErrInvalid = errors.New("invalid")                    // 400
	ErrState   = errors.New("not possible in this state") // 409
)

// Config holds the scheduler's dependencies.
type Config struct {
	Store  Store
	Engine Engine
	Logger *slog.Logger
	Clock  engine.Clock // nil: the real clock
	// Notify is called after notices were enqueued (wire it to (*incident.Delivery).Wake).
	Notify func()
	// IsOver recognises the store's error for ending a window that is over.
	IsOver func(error) bool
	// Subscribers returns a channel that gets every window's notices besides its notify list
	// (the status page's subscribers, package subscription), "" for none; nil: none.
	Subscribers func() string
}

// Scheduler runs the maintenance windows; see the package comment.
type Scheduler struct {
	cfg  Config
	log  *slog.Logger
	pol  atomic.Pointer[policy.Policy]
	wake chan struct{}
	mu   sync.Mutex // one step at a time
	// ver changes after every change of the windows (see Version).
	ver atomic.Uint64
}

// Version changes after every change of the windows: a policy applied, a window created,
// ended or cancelled. It changes after the change is stored, so that whoever reads the new
// version lists the new windows. Time passing (a window starting or ending) does not change it.
func (s *Scheduler) Version() uint64 { return s.ver.Load() }

// endedGrace is how long after an occurrence ends its ended notice may still be sent.
const endedGrace = time.Hour

// maxOccurrences bounds the occurrences of one recurring window looked at in one step.
const maxOccurrences = 1000

// New returns a scheduler; Apply a policy, then Run it.
func New(cfg Config) *Scheduler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if cfg.IsOver == nil {
		cfg.IsOver = func(error) bool { return false }
	}
	return &Scheduler{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

func (s *Scheduler) policy() *policy.Policy {
	if p := s.pol.Load(); p != nil {
		return p
	}
	return &policy.Policy{}
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Apply puts a policy into effect and applies its windows at once, so that the engine knows
// which monitors are in maintenance before it runs (and right after a reload).
func (s *Scheduler) Apply(ctx context.Context, p *policy.Policy) error {
	s.pol.Store(p)
	s.ver.Add(1)
	_, err := s.Step(ctx)
	s.poke()
	return err
}

// Run applies the windows whenever something changes, until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := s.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, err := s.Step(ctx)
		d := time.Hour // look again now and then anyway
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("maintenance windows: step failed; retrying in 5s", "err", err)
			d = 5 * time.Second
		} else if !next.IsZero() {
			d = min(d, max(next.Sub(s.cfg.Clock.Now()), 0))
		}
		timer.Stop()
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer.C():
		}
	}
}

// Step applies the windows at the clock's now: it sets the monitors in maintenance, enqueues
// the notices due, and returns when the next change falls due (zero: none is known).
func (s *Scheduler) Step(ctx context.Context) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.policy()
	now := s.cfg.Clock.Now()
	ws, err := s.windows(ctx, p, now)
	if err != nil {
		return time.Time{}, err
	}
	if s.cfg.Engine != nil {
		s.cfg.Engine.SetMaintenance(Cover(p, ws, now), now)
	}
	type notice struct {
		w     upkeep.Window
		event string
	}
	var due []notice
	var next time.Time
	for _, w := range ws {
		if !w.CancelledAt.IsZero() {
			continue
		}
		for _, ev := range Notices(w, now) {
			due = append(due, notice{w, ev})
		}
		for _, t := range []time.Time{w.Start.Add(-w.NotifyBefore), w.Start, w.End} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	if len(due) == 0 {
		return next, nil
	}
	var subscribers string
	if s.cfg.Subscribers != nil {
		subscribers = s.cfg.Subscribers()
	}
	enqueued := 0
	err = s.cfg.Store.IncidentTx(ctx, func(tx upkeep.IncidentTx) error {
		enqueued = 0
		for _, n := range due {
			channels := n.w.Notify
			if c := subscribers; c != "" {
				channels = append(slices.Clip(channels), c)
			}
			for _, c := range channels {
				ok, err := tx.Enqueue(Notification(n.w, n.event, c, now))
				if err != nil {
					return err
				}
				if ok {
					enqueued++
				}
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("maintenance notices: %w", err)
	}
	if enqueued > 0 {
		s.log.Info("maintenance notices enqueued", "notices", enqueued)
		s.cfg.Notify()
	}
	return next, nil
}

// windows returns the occurrences that matter at now: those that ended within endedGrace, the
// active ones, and the upcoming ones whose scheduled notice is due or that come next.
func (s *Scheduler) windows(ctx context.Context, p *policy.Policy, now time.Time) ([]upkeep.Window, error) {
	from := now.Add(-endedGrace)
	var out []upkeep.Window
	for i := range p.Maintenance {
		m := &p.Maintenance[i]
		out = append(out, Occurrences(m, from, now.Add(m.NotifyBefore.Duration))...)
	}
	adhoc, err := s.cfg.Store.Windows(ctx, from, 0)
	if err != nil {
		return nil, err
	}
	return append(out, adhoc...), nil
}

// Occurrences returns the occurrences of policy window m that end after from and start no later
// than to, and for a recurring window also the first one starting after to (so that the next
// start is known). A one-off window has one occurrence.
func Occurrences(m *policy.Maintenance, from, to time.Time) []upkeep.Window {
	if !m.Recurring() {
		start, end := m.Times()
		if end.After(from) {
			return []upkeep.Window{fromPolicy(m, start, end)}
		}
		return nil
	}
	sched, err := m.Schedule()
	if err != nil {
		return nil // checked when the policy was loaded
	}
	d := m.Duration.Duration
	var out []upkeep.Window
	for t := from.Add(-d); len(out) < maxOccurrences; {
		start := sched.Next(t)
		if start.IsZero() {
			break
		}
		out = append(out, fromPolicy(m, start, start.Add(d)))
		if start.After(to) {
			break
		}
		t = start
	}
	return out
}

func fromPolicy(m *policy.Maintenance, start, end time.Time) upkeep.Window {
	return upkeep.Window{
		ID: m.Name, Source: upkeep.WindowPolicy, Title: m.Title, Description: m.Description,
		Services: slices.Clone(m.Services), Monitors: slices.Clone(m.Monitors),
		Start: start.UTC(), End: end.UTC(), Notify: slices.Clone(m.Notify), NotifyBefore: m.NotifyBefore.Duration,
		Recurring: m.Describe(),
	}
}

// Cover returns the monitors of p that the windows ws put in maintenance at now, each with the
// title of the (first) window covering it.
func Cover(p *policy.Policy, ws []upkeep.Window, now time.Time) map[string]string {
	cover := map[string]string{}
	set := func(monitor, title string) {
		if _, ok := cover[monitor]; !ok {
			cover[monitor] = title
		}
	}
	for _, w := range ws {
		if !w.Active(now) {
			continue
		}
		for _, m := range w.Monitors {
			set(m, w.Title)
		}
		for _, svc := range w.Services {
			for _, m := range p.Monitors {
				if m.Service == svc {
					set(m.Name, w.Title)
				}
			}
		}
	}
	return cover
}

// Notices returns the maintenance events due for occurrence w at now (see the package comment):
// the status page's subscribers are told the same events.
func Notices(w upkeep.Window, now time.Time) []string {
	switch {
	case !w.CancelledAt.IsZero():
		return nil
	case now.Before(w.Start):
		if w.NotifyBefore > 0 && !now.Before(w.Start.Add(-w.NotifyBefore)) {
			return []string{upkeep.EventMaintenanceScheduled}
		}
	case now.Before(w.End):
		return []string{upkeep.EventMaintenanceStarted}
	case now.Before(w.End.Add(endedGrace)):
		return []string{upkeep.EventMaintenanceEnded}
	}
	return nil
}

// NoticeKey is the idempotency key of a notice of occurrence w for a channel.
func NoticeKey(w upkeep.Window, event, channel string) string {
	return fmt.Sprintf("maintenance/%s/%s/%d/%s/%s", w.Source, w.ID, w.Start.Unix(), event, channel)
}

// Notification is the outbox row of a notice of occurrence w for a channel, decided at now.
func Notification(w upkeep.Window, event, channel string, now time.Time) upkeep.Notification {
	return upkeep.Notification{
		Key: NoticeKey(w, event, channel), Channel: channel, Event: event,
		Payload: upkeep.NotificationPayload{
			Title: w.Title, Services: slices.Clone(w.Services), Monitors: slices.Clone(w.Monitors),
			StartedAt: w.Start, ResolvedAt: w.End, Message: w.Description, Window: w.ID, At: now,
		},
		CreatedAt: now, NextAttemptAt: now,
	}
}

// adHocID reads the ID of an API window; false for a policy window's name.
func adHocID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0
}
