package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/maintenance"
	"github.com/upkeep-dev/upkeep/policy"
)

// Maintenance is the maintenance scheduler as the API sees it (*maintenance.Scheduler).
type Maintenance interface {
	List(ctx context.Context, state string, limit int) ([]upkeep.Window, error)
	Get(ctx context.Context, id string) (upkeep.Window, error)
	Create(ctx context.Context, w maintenance.NewWindow) (upkeep.Window, error)
	End(ctx context.Context, id string) (upkeep.Window, error)
}

type windowJSON struct {
	upkeep.Window
	State               string  `json:"state"`
	NotifyBeforeSeconds float64 `json:"notify_before_seconds"`
}

func windowFrom(w upkeep.Window, now time.Time) windowJSON {
	if w.Services == nil {
		w.Services = []string{}
	}
	if w.Monitors == nil {
		w.Monitors = []string{}
	}
	if w.Notify == nil {
		w.Notify = []string{}
	}
	w.Start, w.End = w.Start.UTC(), w.End.UTC()
	return windowJSON{Window: w, State: w.StateAt(now), NotifyBeforeSeconds: w.NotifyBefore.Seconds()}
}

// maintenanceError maps the maintenance package's errors to status codes.
func maintenanceError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, upkeep.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, maintenance.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, maintenance.ErrState):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func handleMaintenanceList(m Maintenance, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 100, 1, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		list, err := m.List(r.Context(), r.URL.Query().Get("state"), limit)
		if err != nil {
			maintenanceError(w, err)
			return
		}
		t := now()
		out := make([]windowJSON, 0, len(list))
		for _, win := range list {
			out = append(out, windowFrom(win, t))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func handleMaintenanceGet(m Maintenance, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		win, err := m.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			maintenanceError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, windowFrom(win, now()))
	})
}

func handleMaintenanceCreate(m Maintenance, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Title        string   `json:"title"`
			Description  string   `json:"description"`
			Services     []string `json:"services"`
			Monitors     []string `json:"monitors"`
			Start        string   `json:"start"`    // RFC 3339 or "2026-12-01 02:00" in tz; empty: now
			End          string   `json:"end"`      // same forms; or duration
			Duration     string   `json:"duration"` // "2h": end = start + duration
			TZ           string   `json:"tz"`
			Notify       []string `json:"notify"`
			NotifyBefore string   `json:"notify_before"` // "24h" (default), "0s" for none
		}
		if !decodeBody(w, r, &body) {
			return
		}
		in := maintenance.NewWindow{Title: body.Title, Description: body.Description, Services: body.Services,
			Monitors: body.Monitors, Notify: body.Notify}
		var problems []string
		loc, err := policy.LoadLocation(body.TZ)
		if err != nil {
			problems = append(problems, "tz: "+err.Error())
			loc = time.UTC
		}
		if body.Start != "" {
			if in.Start, err = policy.ParseWindowTime(body.Start, loc); err != nil {
				problems = append(problems, "start: "+err.Error()+` (RFC 3339, or "2026-12-01 02:00" in tz)`)
			}
		}
		switch {
		case body.End != "" && body.Duration != "":
			problems = append(problems, "give end or duration, not both")
		case body.End != "":
			if in.End, err = policy.ParseWindowTime(body.End, loc); err != nil {
				problems = append(problems, "end: "+err.Error()+` (RFC 3339, or "2026-12-01 04:00" in tz)`)
			}
		case body.Duration != "":
			d, err := policy.ParseDuration(body.Duration)
			if err != nil || d.Duration <= 0 {
				problems = append(problems, "duration: "+durationProblem(body.Duration, err)+` (e.g. "2h")`)
			} else {
				start := in.Start
				if start.IsZero() {
					start = now()
				}
				in.End = start.Add(d.Duration)
			}
		}
		if body.NotifyBefore != "" {
			d, err := policy.ParseDuration(body.NotifyBefore)
			if err != nil {
				problems = append(problems, "notify_before: "+durationProblem(body.NotifyBefore, err))
			} else {
				in.NotifyBefore = &d.Duration
			}
		}
		if len(problems) > 0 {
			writeError(w, http.StatusBadRequest, strings.Join(problems, "; "))
			return
		}
		win, err := m.Create(r.Context(), in)
		if err != nil {
			maintenanceError(w, err)
			return
		}
		w.Header().Set("Location", "/api/v1/maintenance/"+url.PathEscape(win.ID))
		writeJSON(w, http.StatusCreated, windowFrom(win, now()))
	})
}

// durationProblem says what is wrong with a duration that did not parse (err) or is not positive.
func durationProblem(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%q is not a positive duration", s)
}

func handleMaintenanceEnd(m Maintenance, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		win, err := m.End(r.Context(), r.PathValue("id"))
		if err != nil {
			maintenanceError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, windowFrom(win, now()))
	})
}
