package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/drill"
)

// DrillHistory reads the stored drill runs; *sqlite.DB implements it.
type DrillHistory interface {
	DrillRuns(ctx context.Context, drill string, limit int) ([]upkeep.DrillRun, error)
	DrillRun(ctx context.Context, id int64) (upkeep.DrillRun, error)
}

// Drills is the drill service, as the API sees it.
type Drills interface {
	Drills() []drill.Status
	// Start starts a run in the background; drill.ErrRunning when one is going on,
	// drill.ErrUnknownDrill, drill.ErrUnknownDestination.
	Start(ctx context.Context, name, destination string) (int64, error)
}

type drillJSON struct {
	Name     string     `json:"name"`
	Backup   string     `json:"backup"`
	Into     string     `json:"into"`
	Schedule string     `json:"schedule"`
	TZ       string     `json:"tz"`
	Next     *time.Time `json:"next_run,omitempty"`
	Running  *int64     `json:"running_run,omitempty"` // the id of the run in progress
	State    string     `json:"state"`                 // the drill monitor's state
	LastRun  *DrillRun  `json:"last_run"`
}

// handleDrills lists the policy's drills with their monitor's state, the run in progress, the
// next scheduled run and the last run.
func handleDrills(cfg Config) http.Handler {
	rt, h := cfg.Runtime, cfg.DrillHistory
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states := map[string]string{}
		if cfg.Monitoring != nil {
			for _, m := range cfg.Monitoring.Monitors() {
				states[m.Name] = string(m.State)
			}
		}
		status := map[string]drill.Status{}
		if cfg.Drills != nil {
			for _, st := range cfg.Drills.Drills() {
				status[st.Name] = st
			}
		}
		out := []drillJSON{}
		if p := rt.Policy(); p != nil {
			for _, d := range p.Drills {
				dj := drillJSON{Name: d.Name, Backup: d.Backup, Into: d.Into.Kind(), Schedule: d.Schedule, TZ: d.TZ, State: states[d.Name]}
				if dj.State == "" {
					dj.State = string(upkeep.StateUnknown)
				}
				if st, ok := status[d.Name]; ok {
					if !st.Next.IsZero() {
						next := st.Next.UTC()
						dj.Next = &next
					}
					if st.Running != 0 {
						id := st.Running
						dj.Running = &id
					}
				}
				runs, err := h.DrillRuns(r.Context(), d.Name, 1)
				if err != nil {
					writeError(w, http.StatusInternalServerError, "reading the drill runs failed")
					return
				}
				if len(runs) > 0 {
					last := DrillRunOf(&runs[0])
					dj.LastRun = &last
				}
				out = append(out, dj)
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// findDrill checks that the drill in the path is one of the policy's, or writes a 404.
func findDrill(w http.ResponseWriter, r *http.Request, rt Runtime) (string, bool) {
	name := r.PathValue("name")
	if p := rt.Policy(); p != nil {
		for _, d := range p.Drills {
			if d.Name == name {
				return name, true
			}
		}
	}
	writeError(w, http.StatusNotFound, "no drill named "+quoteName(name))
	return "", false
}

// handleDrillRuns lists a drill's runs, newest first (at most 100).
func handleDrillRuns(rt Runtime, h DrillHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := findDrill(w, r, rt)
		if !ok {
			return
		}
		runs, err := h.DrillRuns(r.Context(), name, 100)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "reading the drill runs failed")
			return
		}
		out := make([]DrillRun, len(runs))
		for i := range runs {
			out[i] = DrillRunOf(&runs[i])
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleDrillRun shows one run of a drill.
func handleDrillRun(rt Runtime, h DrillHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := findDrill(w, r, rt)
		if !ok {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			writeError(w, http.StatusNotFound, "no run "+quoteName(r.PathValue("id"))+" of drill "+quoteName(name))
			return
		}
		run, err := h.DrillRun(r.Context(), id)
		switch {
		case errors.Is(err, upkeep.ErrNotFound) || err == nil && run.Drill != name:
			writeError(w, http.StatusNotFound, fmt.Sprintf("no run %d of drill %s", id, quoteName(name)))
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "reading the drill run failed")
		default:
			writeJSON(w, http.StatusOK, DrillRunOf(&run))
		}
	})
}

// handleStartDrill starts a run of a drill (optionally from ?destination=) and answers 202 with
// its id and URL; 409 while the drill runs.
func handleStartDrill(d Drills) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		id, err := d.Start(r.Context(), name, r.URL.Query().Get("destination"))
		switch {
		case errors.Is(err, drill.ErrUnknownDrill):
			writeError(w, http.StatusNotFound, "no drill named "+quoteName(name))
			return
		case errors.Is(err, drill.ErrRunning):
			writeError(w, http.StatusConflict, "a run of drill "+quoteName(name)+" is already in progress")
			return
		case errors.Is(err, drill.ErrUnknownDestination):
			writeError(w, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "starting the drill failed: "+err.Error())
			return
		}
		url := fmt.Sprintf("/api/v1/drills/%s/runs/%d", name, id)
		w.Header().Set("Location", url)
		writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "drill": name, "status": upkeep.DrillRunning, "url": url})
	})
}

// DrillRun is a drill run as the API (and upkeep drill history --json) shows it; durations in
// seconds.
type DrillRun struct {
	ID           int64              `json:"id"`
	Drill        string             `json:"drill"`
	Backup       string             `json:"backup"`
	Destination  string             `json:"destination"`
	Status       string             `json:"status"`
	Reason       string             `json:"reason,omitempty"`
	Trigger      string             `json:"trigger"`
	Scheduled    *time.Time         `json:"scheduled,omitempty"`
	SnapshotID   string             `json:"snapshot,omitempty"`
	SnapshotTime *time.Time         `json:"snapshot_time,omitempty"`
	Started      time.Time          `json:"started"`
	Finished     *time.Time         `json:"finished,omitempty"`
	Fetch        float64            `json:"fetch_seconds"`
	Restore      float64            `json:"restore_seconds"`
	Verify       float64            `json:"verify_seconds"`
	RTO          float64            `json:"rto_seconds"`
	RPO          float64            `json:"rpo_seconds"`
	MaxRTO       float64            `json:"max_rto_seconds,omitempty"`
	MaxRPO       float64            `json:"max_rpo_seconds,omitempty"`
	Files        int64              `json:"files"`
	Bytes        int64              `json:"bytes"`
	Steps        []upkeep.DrillStep `json:"steps"`
}

// DrillRunOf is r as the API shows it.
func DrillRunOf(r *upkeep.DrillRun) DrillRun {
	row := DrillRun{ID: r.ID, Drill: r.Drill, Backup: r.Backup, Destination: r.Destination, Status: string(r.Status),
		Reason: r.Reason, Trigger: string(r.Trigger), SnapshotID: r.SnapshotID, Started: r.Started,
		Fetch: r.Fetch.Seconds(), Restore: r.Restore.Seconds(), Verify: r.Verify.Seconds(), RTO: r.RTO.Seconds(), RPO: r.RPO.Seconds(),
		MaxRTO: r.MaxRTO.Seconds(), MaxRPO: r.MaxRPO.Seconds(), Files: r.Files, Bytes: r.Bytes, Steps: r.Steps}
	if !r.SnapshotTime.IsZero() {
		t := r.SnapshotTime
		row.SnapshotTime = &t
	}
	if !r.Finished.IsZero() {
		t := r.Finished
		row.Finished = &t
	}
	if !r.Scheduled.IsZero() {
		t := r.Scheduled
		row.Scheduled = &t
	}
	if row.Steps == nil {
		row.Steps = []upkeep.DrillStep{}
	}
	return row
}
