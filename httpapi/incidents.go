package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
)

// Incidents is the incident manager as the API sees it (*incident.Manager).
type Incidents interface {
	List(ctx context.Context, state string, limit int) ([]upkeep.Incident, error)
	Get(ctx context.Context, id int64) (upkeep.Incident, error)
	Open(ctx context.Context, r incident.OpenRequest) (upkeep.Incident, error)
	PostUpdate(ctx context.Context, id int64, r incident.UpdateRequest) (upkeep.Incident, error)
	Acknowledge(ctx context.Context, id int64, by string) (upkeep.Incident, error)
	SetReport(ctx context.Context, id int64, r incident.ReportRequest) (upkeep.Incident, error)
	CheckAckToken(ctx context.Context, token string) (int64, error)
	Notifications(ctx context.Context, state string, limit int) ([]upkeep.Notification, error)
}

type incidentMemberJSON struct {
	Monitor string    `json:"monitor"`
	Service string    `json:"service"`
	State   string    `json:"state"`
	Failing bool      `json:"failing"`
	Since   time.Time `json:"since"`
}

type incidentUpdateJSON struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Author  string    `json:"author"`
}

type incidentJSON struct {
	ID              int64                  `json:"id"`
	Title           string                 `json:"title"`
	Status          string                 `json:"status"`
	Impact          string                 `json:"impact"`
	Services        []string               `json:"services"`
	Automatic       bool                   `json:"automatic"`
	Escalation      string                 `json:"escalation"`
	StartedAt       time.Time              `json:"started_at"`
	OpenedAt        time.Time              `json:"opened_at"`
	AcknowledgedAt  *time.Time             `json:"acknowledged_at"`
	AcknowledgedBy  string                 `json:"acknowledged_by,omitempty"`
	ResolvedAt      *time.Time             `json:"resolved_at"`
	DurationSeconds *float64               `json:"duration_seconds"`
	StepsRun        int                    `json:"escalation_steps_run"`
	Monitors        []incidentMemberJSON   `json:"monitors"`
	Updates         []incidentUpdateJSON   `json:"updates,omitempty"`
	Timeline        []upkeep.TimelineEntry `json:"timeline,omitempty"`
	Report          *upkeep.IncidentReport `json:"report"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func incidentFrom(inc upkeep.Incident, full bool) incidentJSON {
	out := incidentJSON{
		ID: inc.ID, Title: inc.Title, Status: string(inc.Status), Impact: string(inc.Impact), Services: inc.Services,
		Automatic: inc.Automatic, Escalation: inc.Escalation, StartedAt: inc.StartedAt.UTC(), OpenedAt: inc.OpenedAt.UTC(),
		AcknowledgedAt: optTime(inc.AcknowledgedAt), AcknowledgedBy: inc.AcknowledgedBy, ResolvedAt: optTime(inc.ResolvedAt),
		StepsRun: inc.StepsRun, Monitors: []incidentMemberJSON{}, Report: inc.Report,
	}
	if out.Services == nil {
		out.Services = []string{}
	}
	if !inc.Open() {
		d := inc.Duration().Seconds()
		out.DurationSeconds = &d
	}
	for _, m := range inc.Monitors {
		out.Monitors = append(out.Monitors, incidentMemberJSON{m.Monitor, m.Service, string(m.State), m.Failing, m.Since.UTC()})
	}
	if full {
		out.Updates = []incidentUpdateJSON{}
		for _, u := range inc.Updates {
			out.Updates = append(out.Updates, incidentUpdateJSON{u.ID, u.At.UTC(), u.Kind, string(u.Status), u.Message, u.Author})
		}
		out.Timeline = inc.Timeline()
	}
	return out
}

// incidentError maps the incident package's errors to status codes.
func incidentError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, upkeep.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, incident.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, incident.ErrState):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// decodeBody reads a JSON body of at most 1 MiB into v, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func incidentID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no incident "+r.PathValue("id"))
		return 0, false
	}
	return id, true
}

// callerName is the name of the API token of the request ("api" if unknown).
func callerName(r *http.Request) string {
	if c, ok := r.Context().Value(ctxCaller).(*caller); ok && c.token != "" {
		return c.token
	}
	return "api"
}

func handleIncidents(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 100, 1, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		list, err := inc.List(r.Context(), r.URL.Query().Get("state"), limit)
		if err != nil {
			incidentError(w, err)
			return
		}
		out := make([]incidentJSON, 0, len(list))
		for _, i := range list {
			out = append(out, incidentFrom(i, false))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func handleIncident(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := incidentID(w, r)
		if !ok {
			return
		}
		i, err := inc.Get(r.Context(), id)
		if err != nil {
			incidentError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, incidentFrom(i, true))
	})
}

func handleOpenIncident(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Title    string   `json:"title"`
			Status   string   `json:"status"`
			Impact   string   `json:"impact"`
			Services []string `json:"services"`
			Message  string   `json:"message"`
		}
		if !decodeBody(w, r, &body) {
			return
		}
		i, err := inc.Open(r.Context(), incident.OpenRequest{Title: body.Title, Status: upkeep.IncidentStatus(body.Status),
			Impact: upkeep.Impact(body.Impact), Services: body.Services, Message: body.Message, Author: callerName(r)})
		if err != nil {
			incidentError(w, err)
			return
		}
		w.Header().Set("Location", fmt.Sprintf("/api/v1/incidents/%d", i.ID))
		writeJSON(w, http.StatusCreated, incidentFrom(i, true))
	})
}

func handleIncidentUpdate(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := incidentID(w, r)
		if !ok {
			return
		}
		var body struct {
			Status  string `json:"status"`
			Impact  string `json:"impact"`
			Message string `json:"message"`
		}
		if !decodeBody(w, r, &body) {
			return
		}
		i, err := inc.PostUpdate(r.Context(), id, incident.UpdateRequest{Status: upkeep.IncidentStatus(body.Status),
			Impact: upkeep.Impact(body.Impact), Message: body.Message, Author: callerName(r)})
		if err != nil {
			incidentError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, incidentFrom(i, true))
	})
}

func handleIncidentAck(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := incidentID(w, r)
		if !ok {
			return
		}
		i, err := inc.Acknowledge(r.Context(), id, callerName(r))
		if err != nil {
			incidentError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, incidentFrom(i, true))
	})
}

func handleIncidentReport(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := incidentID(w, r)
		if !ok {
			return
		}
		var body struct {
			Cause      string                  `json:"cause"`
			Measures   string                  `json:"measures"`
			Prevention string                  `json:"prevention"`
			Timeline   *[]upkeep.TimelineEntry `json:"timeline"`
		}
		if !decodeBody(w, r, &body) {
			return
		}
		req := incident.ReportRequest{Cause: body.Cause, Measures: body.Measures, Prevention: body.Prevention}
		if body.Timeline != nil {
			req.Timeline = *body.Timeline
			if req.Timeline == nil {
				req.Timeline = []upkeep.TimelineEntry{}
			}
		}
		i, err := inc.SetReport(r.Context(), id, req)
		if err != nil {
			incidentError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, incidentFrom(i, true))
	})
}

type notificationJSON struct {
	ID            int64      `json:"id"`
	Key           string     `json:"key"`
	Incident      int64      `json:"incident"` // 0 for a maintenance notice
	Window        string     `json:"maintenance_window,omitempty"`
	Channel       string     `json:"channel"`
	Event         string     `json:"event"`
	Step          int        `json:"step"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	SentAt        *time.Time `json:"sent_at"`
	FailedAt      *time.Time `json:"failed_at"`
}

func handleNotifications(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 100, 1, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		list, err := inc.Notifications(r.Context(), r.URL.Query().Get("state"), limit)
		if err != nil {
			incidentError(w, err)
			return
		}
		out := make([]notificationJSON, 0, len(list))
		for _, n := range list {
			j := notificationJSON{ID: n.ID, Key: n.Key, Incident: n.Incident, Window: n.Payload.Window, Channel: n.Channel, Event: n.Event, Step: n.Step,
				State: n.State, Attempts: n.Attempts, LastError: n.LastError, CreatedAt: n.CreatedAt.UTC(),
				SentAt: optTime(n.SentAt), FailedAt: optTime(n.FailedAt)}
			if n.State == upkeep.DeliveryPending {
				j.NextAttemptAt = optTime(n.NextAttemptAt)
			}
			out = append(out, j)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{{.Heading}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}button{font-size:1.2em;padding:.5em 1.5em}</style>
</head><body>
<h1>{{.Heading}}</h1>
{{if .Incident}}<p>Incident #{{.Incident.ID}}: <strong>{{.Incident.Title}}</strong> ({{.Incident.Status}}, {{.Incident.Impact}} impact), started {{.Incident.StartedAt.UTC.Format "2006-01-02 15:04 MST"}}.</p>{{end}}
<p>{{.Text}}</p>
{{if .Form}}<form method="post"><button type="submit">Acknowledge</button></form>{{end}}
</body></html>
`))

// handleAck serves the one-click acknowledgement link. GET only shows a confirmation page: mail
// scanners and link previews fetch every link of a message, and must not acknowledge.
func handleAck(inc Incidents) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := struct {
			Heading, Text string
			Incident      *upkeep.Incident
			Form          bool
		}{}
		code := http.StatusOK
		defer func() {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			w.WriteHeader(code)
			_ = ackPage.Execute(w, page)
		}()
		id, err := inc.CheckAckToken(r.Context(), r.PathValue("token"))
		if err != nil {
			page.Heading, page.Text = "Link not valid", err.Error()
			code = http.StatusNotFound
			if !errors.Is(err, incident.ErrInvalid) {
				code = http.StatusInternalServerError
			}
			return
		}
		i, err := inc.Get(r.Context(), id)
		if err != nil {
			page.Heading, page.Text, code = "Incident not found", err.Error(), http.StatusNotFound
			return
		}
		page.Incident = &i
		switch {
		case i.Acknowledged():
			page.Heading = "Already acknowledged"
			page.Text = fmt.Sprintf("Acknowledged by %s at %s.", i.AcknowledgedBy, i.AcknowledgedAt.UTC().Format(time.RFC3339))
		case !i.Open():
			page.Heading, page.Text = "Already resolved", "This incident is resolved; there is nothing to acknowledge."
		case r.Method == http.MethodGet:
			page.Heading, page.Text, page.Form = "Acknowledge this incident?", "Acknowledging stops the escalation: nobody else is paged for it.", true
		default:
			i, err = inc.Acknowledge(r.Context(), id, "ack link")
			if err != nil {
				page.Heading, page.Text, code = "Not acknowledged", err.Error(), http.StatusConflict
				return
			}
			page.Incident = &i
			page.Heading, page.Text = "Acknowledged", "Thank you. The escalation has stopped; everyone notified so far has been told."
		}
	})
}
