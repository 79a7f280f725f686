package upkeep

import "time"

// Sources of maintenance windows.
const (
	WindowPolicy = "policy" // declared in the policy file (maintenance:); its ID is its name
	WindowAdHoc  = "api"    // scheduled through the API or the CLI; its ID is a number
)

// States of a maintenance window at a given moment.
const (
	WindowUpcoming  = "upcoming"
	WindowActive    = "active"
	WindowCompleted = "completed"
	WindowCancelled = "cancelled" // an ad-hoc window ended before it started
)

// Window is one occurrence of a planned maintenance: a one-off window, or the current or next
// occurrence of a recurring one. During [Start, End) the monitors it covers (Monitors, and every
// monitor of Services) are in maintenance.
type Window struct {
	ID          string    `json:"id"`
	Source      string    `json:"source"` // WindowPolicy or WindowAdHoc
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Services    []string  `json:"services"`
	Monitors    []string  `json:"monitors"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	// Notify names the channels that get the window's notices; NotifyBefore is how long before
	// Start the scheduled notice goes out (0: none).
	Notify       []string      `json:"notify"`
	NotifyBefore time.Duration `json:"-"`
	// Recurring is the schedule of a recurring policy window ("cron 0 2 * * 0 Europe/Berlin for
	// 2h"); empty for one-off windows.
	Recurring string `json:"recurring,omitempty"`
	// CancelledAt is when an ad-hoc window was cancelled before it started; zero otherwise.
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
}

// StateAt returns the window's state at t.
func (w Window) StateAt(t time.Time) string {
	switch {
	case !w.CancelledAt.IsZero():
		return WindowCancelled
	case t.Before(w.Start):
		return WindowUpcoming
	case t.Before(w.End):
		return WindowActive
	}
	return WindowCompleted
}

// Active reports whether the window is in force at t.
func (w Window) Active(t time.Time) bool { return w.StateAt(t) == WindowActive }
