package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/policy"
)

// Backups is the backup service, as the API sees it.
type Backups interface {
	Jobs() []backup.JobStatus
	Has(job string) bool
	// Start starts a run in the background; backup.ErrRunning when one is going on.
	Start(ctx context.Context, job string, trigger upkeep.BackupTrigger) (int64, error)
	// StartVerify records a verification of the job's repositories (only destination's when set)
	// per destination and does them in the background; it returns their ids.
	StartVerify(ctx context.Context, job, destination string, readData float64, trigger upkeep.BackupTrigger) ([]int64, error)
	// Snapshots lists the job's snapshots per destination (only one when destination is set).
	Snapshots(ctx context.Context, job, destination string) ([]backup.DestinationSnapshots, error)
}

// BackupHistory reads the stored runs; *sqlite.DB implements it.
type BackupHistory interface {
	BackupRuns(ctx context.Context, job string, before int64, limit int) ([]upkeep.BackupRun, error)
	BackupRun(ctx context.Context, id int64) (upkeep.BackupRun, error)
	// BackupVerifications returns the job's newest verifications, newest first.
	BackupVerifications(ctx context.Context, job string, limit int) ([]upkeep.BackupVerification, error)
}

type backupJSON struct {
	Name     string            `json:"name"`
	Service  string            `json:"service"`
	Source   string            `json:"source"`
	Schedule string            `json:"schedule"`
	TZ       string            `json:"tz"`
	To       []string          `json:"to"`
	Next     *time.Time        `json:"next_run"`
	Running  *int64            `json:"running_run"` // the id of the run in progress
	State    string            `json:"state"`       // the backup monitor's state
	LastRun  *upkeep.BackupRun `json:"last_run"`
}

func handleBackups(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states := map[string]string{}
		if cfg.Monitoring != nil {
			for _, m := range cfg.Monitoring.Monitors() {
				states[m.Name] = string(m.State)
			}
		}
		jobs := cfg.Backups.Jobs()
		out := make([]backupJSON, 0, len(jobs))
		for _, j := range jobs {
			b := backupJSON{Name: j.Name, Service: j.Service, Source: j.Source, Schedule: j.Schedule, TZ: j.TZ, To: j.To,
				State: states[j.Name], LastRun: j.LastRun}
			if b.State == "" {
				b.State = string(upkeep.StateUnknown)
			}
			if !j.Next.IsZero() {
				next := j.Next.UTC()
				b.Next = &next
			}
			if j.Running != 0 {
				id := j.Running
				b.Running = &id
			}
			out = append(out, b)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// findBackup checks that the job in the path is one of the policy's, or writes a 404.
func findBackup(w http.ResponseWriter, r *http.Request, b Backups) (string, bool) {
	job := r.PathValue("job")
	if !b.Has(job) {
		writeError(w, http.StatusNotFound, "no backup named "+quoteName(job))
		return "", false
	}
	return job, true
}

func handleBackupRuns(b Backups, hist BackupHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, ok := findBackup(w, r, b)
		if !ok {
			return
		}
		limit, err := intParam(r, "limit", 50, 1, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		var before int64
		if s := r.URL.Query().Get("before"); s != "" {
			if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
				writeError(w, http.StatusBadRequest, "query parameter before must be a run id")
				return
			}
		}
		runs, err := hist.BackupRuns(r.Context(), job, before, limit)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "reading backup runs failed")
			return
		}
		if runs == nil {
			runs = []upkeep.BackupRun{}
		}
		writeJSON(w, http.StatusOK, runs)
	})
}

func handleBackupRun(b Backups, hist BackupHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, ok := findBackup(w, r, b)
		if !ok {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			writeError(w, http.StatusNotFound, "no run "+quoteName(r.PathValue("id"))+" of backup "+quoteName(job))
			return
		}
		run, err := hist.BackupRun(r.Context(), id)
		switch {
		case errors.Is(err, upkeep.ErrNotFound) || err == nil && run.Job != job:
			writeError(w, http.StatusNotFound, fmt.Sprintf("no run %d of backup %s", id, quoteName(job)))
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "reading the backup run failed")
		default:
			writeJSON(w, http.StatusOK, run)
		}
	})
}

func handleBackupVerifications(b Backups, hist BackupHistory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, ok := findBackup(w, r, b)
		if !ok {
			return
		}
		limit, err := intParam(r, "limit", 50, 1, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		list, err := hist.BackupVerifications(r.Context(), job, limit)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "reading backup verifications failed")
			return
		}
		if list == nil {
			list = []upkeep.BackupVerification{}
		}
		writeJSON(w, http.StatusOK, list)
	})
}

func handleStartVerify(b Backups) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, ok := findBackup(w, r, b)
		if !ok {
			return
		}
		var body struct {
			Destination string `json:"destination"`
			ReadData    string `json:"read_data"`
		}
		if r.ContentLength != 0 && !decodeBody(w, r, &body) {
			return
		}
		var readData float64
		if body.ReadData != "" {
			pct, err := policy.ParsePercent(body.ReadData)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("read_data %q: give a percentage such as \"10%%\"", body.ReadData))
				return
			}
			readData = pct.Fraction()
		}
		ids, err := b.StartVerify(r.Context(), job, body.Destination, readData, upkeep.TriggerManual)
		switch {
		case errors.Is(err, backup.ErrUnknownDestination):
			writeError(w, http.StatusNotFound, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "starting the verification failed: "+err.Error())
			return
		}
		url := "/api/v1/backups/" + job + "/verifications"
		w.Header().Set("Location", url)
		writeJSON(w, http.StatusAccepted, map[string]any{"ids": ids, "job": job, "status": upkeep.VerifyRunning, "url": url})
	})
}

func handleStartBackup(b Backups) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, ok := findBackup(w, r, b)
		if !ok {
			return
		}
		id, err := b.Start(r.Context(), job, upkeep.TriggerManual)
		switch {
		case errors.Is(err, backup.ErrRunning):
			writeError(w, http.StatusConflict, "a run of backup "+quoteName(job)+" is already in progress")
			return
		case errors.Is(err, backup.ErrUnknownJob):
			writeError(w, http.StatusNotFound, "no backup named "+quoteName(job))
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "starting the backup failed: "+err.Error())
			return
		}
		url := fmt.Sprintf("/api/v1/backups/%s/runs/%d", job, id)
		w.Header().Set("Location", url)
		writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "job": job, "status": upkeep.BackupRunning, "url": url})
	})
}

type snapshotJSON struct {
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"`
	EndTime    time.Time         `json:"end_time"`
	Files      int64             `json:"files"`
	Dirs       int64             `json:"dirs"`
	Bytes      int64             `json:"bytes"`
	BytesAdded int64             `json:"bytes_added"`
	Tags       map[string]string `json:"tags"`
	Incomplete string            `json:"incomplete,omitempty"`
}

type destinationSnapshotsJSON struct {
	Destination string         `json:"destination"`
	Snapshots   []snapshotJSON `json:"snapshots"`
	Error       string         `json:"error,omitempty"`
}

func handleBackupSnapshots(b Backups) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, ok := findBackup(w, r, b)
		if !ok {
			return
		}
		list, err := b.Snapshots(r.Context(), job, r.URL.Query().Get("destination"))
		switch {
		case errors.Is(err, backup.ErrUnknownDestination):
			writeError(w, http.StatusNotFound, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "listing snapshots failed")
			return
		}
		out := make([]destinationSnapshotsJSON, 0, len(list))
		for _, d := range list {
			dj := destinationSnapshotsJSON{Destination: d.Destination, Snapshots: []snapshotJSON{}}
			if d.Err != nil {
				dj.Error = d.Err.Error()
			}
			// Newest first, as people read them.
			for i := len(d.Snapshots) - 1; i >= 0; i-- {
				s := d.Snapshots[i]
				dj.Snapshots = append(dj.Snapshots, snapshotJSON{ID: s.ID, Time: s.Time.UTC(), EndTime: s.EndTime.UTC(), Files: s.Files, Dirs: s.Dirs,
					Bytes: s.Bytes, BytesAdded: s.BytesAdded, Tags: s.Tags, Incomplete: s.Incomplete})
			}
			out = append(out, dj)
		}
		writeJSON(w, http.StatusOK, out)
	})
}
