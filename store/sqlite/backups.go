package sqlite

// Backup runs and their results per destination (migration 0006), for package backup. A run is
// written when it starts and updated as each destination finishes and when it ends, so a crash
// leaves a running row behind, which InterruptBackupRuns turns into a failed one at the next start.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// InterruptedError is the error of a run that was still running when its process stopped.
const InterruptedError = "interrupted: Upkeep stopped during the run"

// StartBackupRun stores a new run with status running and returns its id. r.Destinations is
// ignored: destinations are stored as they start.
func (db *DB) StartBackupRun(ctx context.Context, r upkeep.BackupRun) (int64, error) {
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO backup_runs (job, trigger, status, scheduled, started_at, error) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Job, string(r.Trigger), string(upkeep.BackupRunning), nullMillis(r.Scheduled), millis(r.Start), r.Error)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store backup run of %q: %w", r.Job, err)
	}
	return id, nil
}

// RecordMissedBackup stores a scheduled run that did not happen at its slot, and returns its id.
func (db *DB) RecordMissedBackup(ctx context.Context, job string, scheduled, noticed time.Time, why string) (int64, error) {
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO backup_runs (job, trigger, status, scheduled, started_at, ended_at, error) VALUES (?, 'schedule', 'missed', ?, ?, ?, ?)`,
			job, millis(scheduled), millis(scheduled), millis(noticed), why)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store missed backup of %q: %w", job, err)
	}
	return id, nil
}

// RecordBackupDestination stores (or replaces) the result of run at one destination.
func (db *DB) RecordBackupDestination(ctx context.Context, run int64, d upkeep.BackupDestinationResult) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO backup_run_destinations (run, destination, status, snapshot, started_at, ended_at, bytes_read, bytes_added, files, forgotten, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run, destination) DO UPDATE SET status = excluded.status, snapshot = excluded.snapshot,
				started_at = excluded.started_at, ended_at = excluded.ended_at, bytes_read = excluded.bytes_read,
				bytes_added = excluded.bytes_added, files = excluded.files, forgotten = excluded.forgotten, error = excluded.error`,
			run, d.Destination, string(d.Status), d.Snapshot, millis(d.Start), nullMillis(d.End), d.BytesRead, d.BytesAdded, d.Files, d.Forgotten, d.Error)
		return err
	})
	if err != nil {
		return fmt.Errorf("store backup result of run %d at %q: %w", run, d.Destination, err)
	}
	return nil
}

// FinishBackupRun stores the end of run id: its status, end time and error.
func (db *DB) FinishBackupRun(ctx context.Context, id int64, status upkeep.BackupStatus, end time.Time, runErr string) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE backup_runs SET status = ?, ended_at = ?, error = ? WHERE id = ?`, string(status), millis(end), runErr, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no backup run %d: %w", id, upkeep.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish backup run %d: %w", id, err)
	}
	return nil
}

// InterruptBackupRuns marks every run still running, and its destinations still running, as
// failed with InterruptedError, ended at now, and returns the runs changed. Call it only while
// holding the data directory's lock: then a running row can only be left by a process that died.
func (db *DB) InterruptBackupRuns(ctx context.Context, now time.Time) ([]upkeep.BackupRun, error) {
	var out []upkeep.BackupRun
	err := db.Write(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.Query(`SELECT id, job, trigger, scheduled, started_at FROM backup_runs WHERE status = 'running'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r upkeep.BackupRun
			var sched sql.NullInt64
			var start int64
			if err := rows.Scan(&r.ID, &r.Job, &r.Trigger, &sched, &start); err != nil {
				rows.Close()
				return err
			}
			r.Scheduled, r.Start, r.End = fromNullMillis(sched), fromMillis(start), fromMillis(millis(now))
			r.Status, r.Error = upkeep.BackupFailed, InterruptedError
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range out {
			if _, err := tx.Exec(`UPDATE backup_runs SET status = 'failed', ended_at = ?, error = ? WHERE id = ?`, millis(now), InterruptedError, r.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE backup_run_destinations SET status = 'failed', ended_at = ?, error = ? WHERE run = ? AND status = 'running'`,
				millis(now), InterruptedError, r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mark interrupted backup runs: %w", err)
	}
	return out, nil
}

// BackupRuns returns the runs of job with an id below before (0: the newest), newest first, at
// most limit, each with its destinations.
func (db *DB) BackupRuns(ctx context.Context, job string, before int64, limit int) ([]upkeep.BackupRun, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	runs, err := db.queryBackupRuns(ctx, `SELECT id, job, trigger, status, scheduled, started_at, ended_at, error FROM backup_runs
		WHERE job = ? AND id < ? ORDER BY id DESC LIMIT ?`, job, before, limit)
	if err != nil {
		return nil, fmt.Errorf("read backup runs of %q: %w", job, err)
	}
	return runs, nil
}

// BackupRunsBetween returns the runs of job whose slot (the scheduled time; the start for
// runs started by hand) is in [from, to), missed slots included, oldest first, each with its
// destinations.
func (db *DB) BackupRunsBetween(ctx context.Context, job string, from, to time.Time) ([]upkeep.BackupRun, error) {
	runs, err := db.queryBackupRuns(ctx, `SELECT id, job, trigger, status, scheduled, started_at, ended_at, error FROM backup_runs
		WHERE job = ? AND coalesce(scheduled, started_at) >= ? AND coalesce(scheduled, started_at) < ?
		ORDER BY coalesce(scheduled, started_at), id`, job, millis(from), millis(to))
	if err != nil {
		return nil, fmt.Errorf("read backup runs of %q between %s and %s: %w", job, from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return runs, nil
}

// FirstBackupRunAt returns the slot (or start) of job's oldest stored run, missed slots
// included: since when Upkeep has been running the job. It is the zero time when the job has no
// run.
func (db *DB) FirstBackupRunAt(ctx context.Context, job string) (time.Time, error) {
	var first sql.NullInt64
	err := db.readDB.QueryRowContext(ctx, `SELECT min(coalesce(scheduled, started_at)) FROM backup_runs WHERE job = ?`, job).Scan(&first)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the first backup run of %q: %w", job, err)
	}
	return fromNullMillis(first), nil
}

// BackupRun returns run id with its destinations, or an error wrapping upkeep.ErrNotFound.
func (db *DB) BackupRun(ctx context.Context, id int64) (upkeep.BackupRun, error) {
	runs, err := db.queryBackupRuns(ctx, `SELECT id, job, trigger, status, scheduled, started_at, ended_at, error FROM backup_runs WHERE id = ?`, id)
	if err != nil {
		return upkeep.BackupRun{}, fmt.Errorf("read backup run %d: %w", id, err)
	}
	if len(runs) == 0 {
		return upkeep.BackupRun{}, fmt.Errorf("backup run %d: %w", id, upkeep.ErrNotFound)
	}
	return runs[0], nil
}

// LastBackupRuns returns the newest run of every job that has one (missed slots included),
// and the newest run that was not a missed slot, by job.
func (db *DB) LastBackupRuns(ctx context.Context) (last, lastRun map[string]upkeep.BackupRun, err error) {
	const cols = `id, job, trigger, status, scheduled, started_at, ended_at, error`
	all, err := db.queryBackupRuns(ctx, `SELECT `+cols+` FROM backup_runs WHERE id IN (SELECT max(id) FROM backup_runs GROUP BY job)`)
	if err != nil {
		return nil, nil, fmt.Errorf("read last backup runs: %w", err)
	}
	ran, err := db.queryBackupRuns(ctx, `SELECT `+cols+` FROM backup_runs WHERE id IN (SELECT max(id) FROM backup_runs WHERE status != 'missed' GROUP BY job)`)
	if err != nil {
		return nil, nil, fmt.Errorf("read last backup runs: %w", err)
	}
	last, lastRun = make(map[string]upkeep.BackupRun, len(all)), make(map[string]upkeep.BackupRun, len(ran))
	for _, r := range all {
		last[r.Job] = r
	}
	for _, r := range ran {
		lastRun[r.Job] = r
	}
	return last, lastRun, nil
}

func (db *DB) queryBackupRuns(ctx context.Context, query string, args ...any) ([]upkeep.BackupRun, error) {
	rows, err := db.readDB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var runs []upkeep.BackupRun
	index := map[int64]int{}
	for rows.Next() {
		var r upkeep.BackupRun
		var sched, end sql.NullInt64
		var start int64
		if err := rows.Scan(&r.ID, &r.Job, &r.Trigger, &r.Status, &sched, &start, &end, &r.Error); err != nil {
			rows.Close()
			return nil, err
		}
		r.Scheduled, r.Start, r.End = fromNullMillis(sched), fromMillis(start), fromNullMillis(end)
		index[r.ID] = len(runs)
		runs = append(runs, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return runs, nil
	}
	// The destinations of these runs, in the order they started.
	ids := make([]any, 0, len(runs))
	marks := make([]byte, 0, 2*len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
		if len(marks) > 0 {
			marks = append(marks, ',')
		}
		marks = append(marks, '?')
	}
	drows, err := db.readDB.QueryContext(ctx, `SELECT run, destination, status, snapshot, started_at, ended_at, bytes_read, bytes_added, files, forgotten, error
		FROM backup_run_destinations WHERE run IN (`+string(marks)+`) ORDER BY run, started_at, rowid`, ids...)
	if err != nil {
		return nil, err
	}
	defer drows.Close()
	for drows.Next() {
		var run, start int64
		var end sql.NullInt64
		var d upkeep.BackupDestinationResult
		if err := drows.Scan(&run, &d.Destination, &d.Status, &d.Snapshot, &start, &end, &d.BytesRead, &d.BytesAdded, &d.Files, &d.Forgotten, &d.Error); err != nil {
			return nil, err
		}
		d.Start, d.End = fromMillis(start), fromNullMillis(end)
		i := index[run]
		runs[i].Destinations = append(runs[i].Destinations, d)
	}
	return runs, drows.Err()
}
