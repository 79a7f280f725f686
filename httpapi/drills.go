package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// DrillHistory reads the stored drill runs; *sqlite.DB implements it.
type DrillHistory interface {
	DrillRuns(ctx context.Context, drill string, limit int) ([]upkeep.DrillRun, error)
}

type drillJSON struct {
	Name     string    `json:"name"`
	Backup   string    `json:"backup"`
	Into     string    `json:"into"`
	Schedule string    `json:"schedule"`
	TZ       string    `json:"tz"`
	LastRun  *DrillRun `json:"last_run"`
}

// handleDrills lists the policy's drills with their last run.
func handleDrills(rt Runtime, h DrillHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := []drillJSON{}
		if p := rt.Policy(); p != nil {
			for _, d := range p.Drills {
				dj := drillJSON{Name: d.Name, Backup: d.Backup, Into: d.Into.Kind(), Schedule: d.Schedule, TZ: d.TZ}
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

// handleDrillRuns lists a drill's runs, newest first (at most 100).
func handleDrillRuns(rt Runtime, h DrillHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		found := false
		if p := rt.Policy(); p != nil {
			for _, d := range p.Drills {
				found = found || d.Name == name
			}
		}
		if !found {
			writeError(w, http.StatusNotFound, "no drill named "+quoteName(name))
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

// DrillRun is a drill run as the API (and upkeep drill history --json) shows it; durations in
// seconds.
type DrillRun struct {
	ID           int64              `json:"id"`
	Drill        string             `json:"drill"`
	Backup       string             `json:"backup"`
	Destination  string             `json:"destination"`
	Status       string             `json:"status"`
	Reason       string             `json:"reason,omitempty"`
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
		Reason: r.Reason, SnapshotID: r.SnapshotID, Started: r.Started,
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
	if row.Steps == nil {
		row.Steps = []upkeep.DrillStep{}
	}
	return row
}
