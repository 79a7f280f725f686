package upkeep

import (
	"fmt"
	"slices"
	"time"
)

// IncidentStatus is an incident's state in the Statuspage vocabulary.
type IncidentStatus string

// The statuses of an incident.
const (
	StatusInvestigating IncidentStatus = "investigating"
	StatusIdentified    IncidentStatus = "identified"
	StatusMonitoring    IncidentStatus = "monitoring"
	StatusResolved      IncidentStatus = "resolved"
)

// Valid reports whether s is one of the four statuses.
func (s IncidentStatus) Valid() bool {
	switch s {
	case StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved:
		return true
	}
	return false
}

// Impact is how bad an incident is, in the Statuspage vocabulary.
type Impact string

// The impacts of an incident.
const (
	ImpactNone     Impact = "none"
	ImpactMinor    Impact = "minor"
	ImpactMajor    Impact = "major"
	ImpactCritical Impact = "critical"
)

// Valid reports whether i is one of the four impacts.
func (i Impact) Valid() bool {
	switch i {
	case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
		return true
	}
	return false
}

// Incident is an outage or a manually declared incident.
type Incident struct {
	ID       int64
	Title    string
	Status   IncidentStatus
	Impact   Impact
	Services []string
	// Automatic incidents are opened and resolved by monitors; manual ones by people.
	Automatic bool
	// Escalation is the name of the escalation it follows; empty: nobody is paged.
	Escalation string
	// StartedAt is when the outage began (the first failed check), or when a manual incident
	// was declared. OpenedAt is when Upkeep opened it: escalation delays count from there.
	StartedAt      time.Time
	OpenedAt       time.Time
	AcknowledgedAt time.Time // zero while not acknowledged
	AcknowledgedBy string
	ResolvedAt     time.Time // zero while open
	// StepsRun is how many escalation steps have run; Reminders the number of the last reminder
	// sent (0: none).
	StepsRun  int
	Reminders int
	Monitors  []IncidentMonitor
	Updates   []IncidentUpdate // filled in only when one incident is read with its timeline
	Report    *IncidentReport  // nil until written
	UpdatedAt time.Time
}

// Open reports whether the incident is not resolved.
func (i *Incident) Open() bool { return i.ResolvedAt.IsZero() }

// Acknowledged reports whether someone acknowledged the incident.
func (i *Incident) Acknowledged() bool { return !i.AcknowledgedAt.IsZero() }

// Duration is how long the incident lasted; 0 while it is open.
func (i *Incident) Duration() time.Duration {
	if i.ResolvedAt.IsZero() {
		return 0
	}
	return i.ResolvedAt.Sub(i.StartedAt)
}

// Failing reports whether any monitor of the incident is still failing.
func (i *Incident) Failing() bool {
	return slices.ContainsFunc(i.Monitors, func(m IncidentMonitor) bool { return m.Failing })
}

// IncidentMonitor is a monitor that is part of an incident.
type IncidentMonitor struct {
	Monitor string
	Service string
	State   State     // its latest state
	Failing bool      // whether that state counts as an outage for it
	Since   time.Time // when it entered State
}

// Kinds of update.
const (
	UpdateMessage = "update" // written by a person (or the API)
	UpdateEvent   = "event"  // written by Upkeep: a monitor failed or recovered, a step ran, an acknowledgement
)

// IncidentUpdate is one entry of an incident's timeline.
type IncidentUpdate struct {
	ID      int64
	At      time.Time
	Kind    string         // UpdateMessage or UpdateEvent
	Status  IncidentStatus // the incident's status after this update
	Message string
	Author  string // the API token's name, "upkeep", or "ack link"
}

// IncidentReport is the post-mortem of a resolved incident.
type IncidentReport struct {
	Cause      string          `json:"cause"`
	Measures   string          `json:"measures"`
	Prevention string          `json:"prevention"`
	Timeline   []TimelineEntry `json:"timeline"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// TimelineEntry is one line of a report's timeline.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Timeline generates a timeline from the incident's updates (which record its transitions,
// steps, acknowledgement and messages).
func (i *Incident) Timeline() []TimelineEntry {
	out := make([]TimelineEntry, 0, len(i.Updates))
	for _, u := range i.Updates {
		text := u.Message
		if u.Kind == UpdateMessage {
			text = fmt.Sprintf("[%s] %s", u.Status, u.Message)
			if u.Author != "" {
				text += " (" + u.Author + ")"
			}
		}
		out = append(out, TimelineEntry{At: u.At, Text: text})
	}
	return out
}

// Events of notifications, as the notify package names them.
const (
	EventDown         = "down"
	EventDegraded     = "degraded"
	EventRecovered    = "recovered"
	EventReminder     = "reminder"
	EventAcknowledged = "acknowledged"
	EventUpdate       = "update"
	EventResolved     = "resolved"
	// Maintenance notices (package maintenance): a window is coming (notify_before its start,
	// or when it is created if that is later), has started, has ended.
	EventMaintenanceScheduled = "maintenance_scheduled"
	EventMaintenanceStarted   = "maintenance_started"
	EventMaintenanceEnded     = "maintenance_ended"
)

// Delivery states of a notification.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// Notification is one row of the outbox: one event for one channel.
type Notification struct {
	ID       int64
	Key      string // idempotency key, unique in the outbox
	Incident int64
	Channel  string
	Event    string
	Step     int // escalation step (0-based), or reminder number; 0 otherwise
	Payload  NotificationPayload
	// Delivery: State is DeliveryPending, DeliverySent or DeliveryFailed.
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time // zero until sent
	FailedAt      time.Time // zero unless failed
}

// NotificationPayload is what a notification says, captured when it is enqueued, so a
// notification sent late (after a retry or a restart) tells what was true when it was decided.
type NotificationPayload struct {
	Title      string         `json:"title"`
	Status     IncidentStatus `json:"status"`
	Impact     Impact         `json:"impact"`
	Services   []string       `json:"services"`
	Monitors   []string       `json:"monitors"`
	StartedAt  time.Time      `json:"started_at"`
	ResolvedAt time.Time      `json:"resolved_at,omitzero"`
	Monitor    string         `json:"monitor,omitempty"`
	State      string         `json:"state,omitempty"`
	Cause      string         `json:"cause,omitempty"`
	Message    string         `json:"message,omitempty"`
	At         time.Time      `json:"at"`
	// Window is the ID of the maintenance window of a maintenance notice (which has no
	// incident); StartedAt and ResolvedAt are then the window's start and end.
	Window string `json:"window,omitempty"`
}

// IncidentTx is the store inside one write transaction that changes incidents and the outbox
// (package incident runs its logic in it; store/sqlite implements it).
type IncidentTx interface {
	// Watermark is the id of the last transition applied to incidents.
	Watermark() (int64, error)
	SetWatermark(id int64) error
	// OpenIncidents returns the incidents not resolved, with their monitors, oldest first.
	OpenIncidents() ([]Incident, error)
	// Incident returns one incident with its monitors (not its updates).
	Incident(id int64) (Incident, error)
	// InsertIncident stores a new incident (and its monitors) and sets its ID.
	InsertIncident(inc *Incident) error
	// SaveIncident stores the incident's fields and monitors.
	SaveIncident(inc *Incident) error
	AddUpdate(incident int64, u IncidentUpdate) error
	// Enqueue adds a pending notification unless one with its key exists; it reports whether
	// it added one.
	Enqueue(n Notification) (bool, error)
	// NotifiedChannels returns the channels that were sent (or are to be sent) a page for the
	// incident: down, degraded or reminder notifications.
	NotifiedChannels(incident int64) ([]string, error)
	SetReport(incident int64, r IncidentReport) error
}
