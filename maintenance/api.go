package maintenance

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// States a list can be filtered by: upcoming, active, or past (completed or cancelled).
const statePast = "past"

// List returns the windows as the API shows them: active first, then upcoming (soonest first),
// then past (latest end first). A recurring policy window appears once, as its current or next
// occurrence. state filters: "upcoming", "active", "past" or "" for all. limit bounds the API's
// past windows (0: 100).
func (s *Scheduler) List(ctx context.Context, state string, limit int) ([]upkeep.Window, error) {
	switch state {
	case "", upkeep.WindowUpcoming, upkeep.WindowActive, statePast:
	default:
		return nil, fmt.Errorf("%w: state %q is not upcoming, active or past", ErrInvalid, state)
	}
	if limit <= 0 {
		limit = 100
	}
	now := s.cfg.Clock.Now()
	p := s.policy()
	var all []upkeep.Window
	for i := range p.Maintenance {
		m := &p.Maintenance[i]
		if !m.Recurring() {
			start, end := m.Times()
			all = append(all, fromPolicy(m, start, end))
			continue
		}
		if occ := Occurrences(m, now, now); len(occ) > 0 {
			all = append(all, occ[0])
		}
	}
	adhoc, err := s.cfg.Store.Windows(ctx, time.Time{}, limit)
	if err != nil {
		return nil, err
	}
	all = append(all, adhoc...)
	out := all[:0]
	for _, w := range all {
		if state == "" || stateOf(w, now) == state {
			out = append(out, w)
		}
	}
	rank := map[string]int{upkeep.WindowActive: 0, upkeep.WindowUpcoming: 1, statePast: 2}
	slices.SortStableFunc(out, func(a, b upkeep.Window) int {
		sa, sb := stateOf(a, now), stateOf(b, now)
		if c := cmp.Compare(rank[sa], rank[sb]); c != 0 {
			return c
		}
		if sa == statePast {
			return b.End.Compare(a.End)
		}
		return a.Start.Compare(b.Start)
	})
	return out, nil
}

// stateOf is the window's state at now in the API's terms: completed and cancelled are past.
func stateOf(w upkeep.Window, now time.Time) string {
	switch st := w.StateAt(now); st {
	case upkeep.WindowCompleted, upkeep.WindowCancelled:
		return statePast
	default:
		return st
	}
}

// Get returns one window: a policy window by name (its current or next occurrence), an API
// window by number.
func (s *Scheduler) Get(ctx context.Context, id string) (upkeep.Window, error) {
	if m := s.policy().MaintenanceWindow(id); m != nil {
		now := s.cfg.Clock.Now()
		if !m.Recurring() {
			start, end := m.Times()
			return fromPolicy(m, start, end), nil
		}
		if occ := Occurrences(m, now, now); len(occ) > 0 {
			return occ[0], nil
		}
		return upkeep.Window{}, fmt.Errorf("maintenance window %s has no occurrence: %w", id, upkeep.ErrNotFound)
	}
	n, ok := adHocID(id)
	if !ok {
		return upkeep.Window{}, fmt.Errorf("maintenance window %s: %w", id, upkeep.ErrNotFound)
	}
	return s.cfg.Store.Window(ctx, n)
}

// NewWindow is a window to schedule through the API.
type NewWindow struct {
	Title       string
	Description string
	Services    []string
	Monitors    []string
	Start       time.Time // zero: now
	End         time.Time
	Notify      []string
	// NotifyBefore is how long before Start the scheduled notice goes out; nil: 24h.
	NotifyBefore *time.Duration
}

// Limits of API windows.
const (
	maxTitle       = 200
	maxDescription = 10000
)

// Create schedules an ad-hoc window and applies it at once (a window starting now puts its
// monitors in maintenance before Create returns).
func (s *Scheduler) Create(ctx context.Context, in NewWindow) (upkeep.Window, error) {
	p := s.policy()
	now := s.cfg.Clock.Now()
	w := upkeep.Window{
		Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description),
		Services: in.Services, Monitors: in.Monitors, Start: in.Start.UTC(), End: in.End.UTC(), Notify: in.Notify,
		NotifyBefore: policy.DefaultNotifyBefore,
	}
	if in.NotifyBefore != nil {
		w.NotifyBefore = *in.NotifyBefore
	}
	if in.Start.IsZero() {
		w.Start = now.UTC()
	}
	var problems []string
	switch {
	case w.Title == "":
		problems = append(problems, "title is required")
	case len(w.Title) > maxTitle:
		problems = append(problems, fmt.Sprintf("title is longer than %d bytes", maxTitle))
	}
	if len(w.Description) > maxDescription {
		problems = append(problems, fmt.Sprintf("description is longer than %d bytes", maxDescription))
	}
	if len(w.Services) == 0 && len(w.Monitors) == 0 {
		problems = append(problems, "the window covers nothing: give services or monitors")
	}
	for _, svc := range w.Services {
		if p.Service(svc) == nil {
			problems = append(problems, fmt.Sprintf("unknown service %q", svc))
		}
	}
	for _, m := range w.Monitors {
		if p.Monitor(m) == nil {
			problems = append(problems, fmt.Sprintf("unknown monitor %q", m))
		}
	}
	for _, c := range w.Notify {
		if _, ok := p.Channels[c]; !ok {
			problems = append(problems, fmt.Sprintf("unknown channel %q", c))
		}
	}
	switch {
	case in.End.IsZero():
		problems = append(problems, "end is required")
	case !w.End.After(w.Start):
		problems = append(problems, fmt.Sprintf("end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339)))
	case !w.End.After(now):
		problems = append(problems, fmt.Sprintf("end %s is in the past", w.End.Format(time.RFC3339)))
	}
	if w.NotifyBefore < 0 {
		problems = append(problems, "notify_before is negative")
	}
	if len(problems) > 0 {
		return upkeep.Window{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	if err := s.cfg.Store.InsertWindow(ctx, &w, now); err != nil {
		return upkeep.Window{}, err
	}
	s.ver.Add(1)
	s.log.Info("maintenance window scheduled", "window", w.ID, "title", w.Title, "start", w.Start, "end", w.End)
	if _, err := s.Step(ctx); err != nil {
		s.log.Warn("maintenance window stored, applying it failed; retrying", "window", w.ID, "err", err)
	}
	s.poke()
	return w, nil
}

// End ends an active API window now, or cancels an upcoming one, and applies that at once.
// Policy windows are ended by changing the policy.
func (s *Scheduler) End(ctx context.Context, id string) (upkeep.Window, error) {
	if s.policy().MaintenanceWindow(id) != nil {
		return upkeep.Window{}, fmt.Errorf("%w: window %s is declared in the policy: remove or change it there", ErrState, id)
	}
	n, ok := adHocID(id)
	if !ok {
		return upkeep.Window{}, fmt.Errorf("maintenance window %s: %w", id, upkeep.ErrNotFound)
	}
	w, err := s.cfg.Store.EndWindow(ctx, n, s.cfg.Clock.Now())
	if err != nil {
		if s.cfg.IsOver(err) {
			return upkeep.Window{}, fmt.Errorf("%w: %w", ErrState, err)
		}
		return upkeep.Window{}, err
	}
	s.ver.Add(1)
	s.log.Info("maintenance window ended", "window", w.ID, "title", w.Title, "state", w.StateAt(s.cfg.Clock.Now()))
	if _, err := s.Step(ctx); err != nil {
		s.log.Warn("maintenance window ended, applying it failed; retrying", "window", w.ID, "err", err)
	}
	s.poke()
	return w, nil
}
