package engine

import (
	"maps"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// SetMaintenance puts the monitors named in cover (monitor name -> the title of the window
// covering it) in maintenance at at, and takes every other monitor out of it. Package
// maintenance calls it whenever a window starts or ends, after a reload, and once before Run.
//
// A monitor entering a window changes to maintenance (cause "maintenance: <title>"). Its checks
// keep running and the confirmation rules keep tracking its real state, silently. When the
// window ends it changes to that real state ("maintenance ended: <title>"): a monitor that is
// still down is down at once, which opens an incident. Paused monitors stay paused.
func (e *Engine) SetMaintenance(cover map[string]string, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cover = maps.Clone(cover)
	e.coverSet = true
	for _, m := range e.monitors {
		if m.pol.Name == "" {
			continue // removed
		}
		e.reconcile(m, at)
	}
}

// reconcile moves m into or out of maintenance as e.cover says. Called with e.mu held.
func (e *Engine) reconcile(m *monitor, at time.Time) {
	title, covered := e.cover[m.name]
	if m.pol.Paused || m.state == upkeep.StatePaused {
		return
	}
	switch {
	case covered && m.state != upkeep.StateMaintenance:
		m.window = title
		e.transition(m, upkeep.StateMaintenance, at, "maintenance: "+title)
	case covered:
		m.window = title
	case m.state == upkeep.StateMaintenance:
		ended := m.window
		m.window = ""
		e.transition(m, m.real, at, "maintenance ended: "+ended)
	default:
		m.window = ""
	}
}

// settle records that m's real state is confirmed as to at at: the shown state follows unless
// m is in maintenance. Called with e.mu held.
func (e *Engine) settle(m *monitor, to upkeep.State, at time.Time, cause string) {
	if m.window != "" && m.state == upkeep.StateMaintenance {
		m.real = to
		return
	}
	e.transition(m, to, at, cause)
}
