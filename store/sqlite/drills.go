package sqlite

// Restore drill runs (migrations 0008 and 0009), for package drill.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// DrillInterrupted is the reason of a drill run that was still running when its process stopped.
const DrillInterrupted = "interrupted: Upkeep stopped during the drill"

const drillColumns = `id, drill, backup, destination, status, reason, snapshot, snapshot_at, started_at, finished_at,
	fetch_ms, restore_ms, verify_ms, rto_ms, rpo_ms, max_rto_ms, max_rpo_ms, files, bytes, steps, trigger, scheduled_at`

func ms(d time.Duration) int64 { return d.Milliseconds() }

func nullMS(d time.Duration, set bool) sql.NullInt64 {
	return sql.NullInt64{Int64: d.Milliseconds(), Valid: set}
}

func fromMS(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func scanDrillRun(s scanner) (upkeep.DrillRun, error) {
	var r upkeep.DrillRun
	var status, steps, trigger string
	var snapAt, finished, rto, rpo, scheduled sql.NullInt64
	var started, fetch, restore, verify, maxRTO, maxRPO int64
	err := s.Scan(&r.ID, &r.Drill, &r.Backup, &r.Destination, &status, &r.Reason, &r.SnapshotID, &snapAt, &started, &finished,
		&fetch, &restore, &verify, &rto, &rpo, &maxRTO, &maxRPO, &r.Files, &r.Bytes, &steps, &trigger, &scheduled)
	if err != nil {
		return r, err
	}
	r.Status, r.Trigger, r.Scheduled = upkeep.DrillStatus(status), upkeep.BackupTrigger(trigger), fromNullMillis(scheduled)
	r.SnapshotTime, r.Started, r.Finished = fromNullMillis(snapAt), fromMillis(started), fromNullMillis(finished)
	r.Fetch, r.Restore, r.Verify = fromMS(fetch), fromMS(restore), fromMS(verify)
	r.RTO, r.RPO, r.MaxRTO, r.MaxRPO = fromMS(rto.Int64), fromMS(rpo.Int64), fromMS(maxRTO), fromMS(maxRPO)
	if err := json.Unmarshal([]byte(steps), &r.Steps); err != nil {
		return r, fmt.Errorf("drill run %d: steps: %w", r.ID, err)
	}
	return r, nil
}

// StartDrillRun stores a run that has started (status running) and sets its ID (and its
// Trigger to cli when not set).
func (db *DB) StartDrillRun(ctx context.Context, r *upkeep.DrillRun) error {
	r.Trigger = drillTrigger(r.Trigger)
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO drill_runs (drill, backup, destination, status, started_at, max_rto_ms, max_rpo_ms, trigger, scheduled_at)
			VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`, r.Drill, r.Backup, r.Destination, millis(r.Started), ms(r.MaxRTO), ms(r.MaxRPO),
			string(r.Trigger), nullMillis(r.Scheduled))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("start drill run of %s: %w", r.Drill, err)
	}
	r.ID = id
	return nil
}

// FinishDrillRun stores the outcome of a run started with StartDrillRun.
func (db *DB) FinishDrillRun(ctx context.Context, r *upkeep.DrillRun) error {
	list := r.Steps
	if list == nil {
		list = []upkeep.DrillStep{}
	}
	steps, err := json.Marshal(list)
	if err != nil {
		return err
	}
	measured := r.Status == upkeep.DrillPassed || r.RTO > 0
	err = db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE drill_runs SET status = ?, reason = ?, snapshot = ?, snapshot_at = ?, finished_at = ?,
			fetch_ms = ?, restore_ms = ?, verify_ms = ?, rto_ms = ?, rpo_ms = ?, files = ?, bytes = ?, steps = ? WHERE id = ?`,
			string(r.Status), r.Reason, r.SnapshotID, nullMillis(r.SnapshotTime), nullMillis(r.Finished),
			ms(r.Fetch), ms(r.Restore), ms(r.Verify), nullMS(r.RTO, measured), nullMS(r.RPO, measured), r.Files, r.Bytes, string(steps), r.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return upkeep.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish drill run %d of %s: %w", r.ID, r.Drill, err)
	}
	return nil
}

// DrillRuns returns the newest runs of a drill, newest first, at most limit (all when limit <= 0).
func (db *DB) DrillRuns(ctx context.Context, drill string, limit int) ([]upkeep.DrillRun, error) {
	if limit <= 0 {
		limit = -1
	}
	out, err := db.queryDrillRuns(ctx, `WHERE drill = ? ORDER BY id DESC LIMIT ?`, drill, limit)
	if err != nil {
		return nil, fmt.Errorf("drill runs of %s: %w", drill, err)
	}
	return out, nil
}

// DrillRunsBetween returns the runs of a drill that started in [from, to), oldest first.
func (db *DB) DrillRunsBetween(ctx context.Context, drill string, from, to time.Time) ([]upkeep.DrillRun, error) {
	out, err := db.queryDrillRuns(ctx, `WHERE drill = ? AND started_at >= ? AND started_at < ? ORDER BY started_at, id`,
		drill, millis(from), millis(to))
	if err != nil {
		return nil, fmt.Errorf("drill runs of %s between %s and %s: %w", drill, from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return out, nil
}

// queryDrillRuns reads the runs selected by tail (WHERE, ORDER BY and LIMIT clauses).
func (db *DB) queryDrillRuns(ctx context.Context, tail string, args ...any) ([]upkeep.DrillRun, error) {
	rows, err := db.readDB.QueryContext(ctx, `SELECT `+drillColumns+` FROM drill_runs `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []upkeep.DrillRun
	for rows.Next() {
		r, err := scanDrillRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DrillRun returns run id, or an error matching upkeep.ErrNotFound.
func (db *DB) DrillRun(ctx context.Context, id int64) (upkeep.DrillRun, error) {
	r, err := scanDrillRun(db.readDB.QueryRowContext(ctx, `SELECT `+drillColumns+` FROM drill_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = upkeep.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("drill run %d: %w", id, err)
	}
	return r, nil
}

// drillTrigger is t, or cli when not set (the runs of upkeep drill run without a server).
func drillTrigger(t upkeep.BackupTrigger) upkeep.BackupTrigger {
	if t == "" {
		return upkeep.TriggerCLI
	}
	return t
}

// RecordMissedDrill stores a scheduled drill that did not run (status missed): Started is the
// slot, Finished when the miss was noticed, Reason why. It sets r.ID.
func (db *DB) RecordMissedDrill(ctx context.Context, r *upkeep.DrillRun) error {
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO drill_runs (drill, backup, destination, status, reason, started_at, finished_at, max_rto_ms, max_rpo_ms, trigger, scheduled_at)
			VALUES (?, ?, ?, 'missed', ?, ?, ?, ?, ?, 'schedule', ?)`, r.Drill, r.Backup, r.Destination, r.Reason, millis(r.Started), millis(r.Finished),
			ms(r.MaxRTO), ms(r.MaxRPO), millis(r.Scheduled))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("record missed drill %s: %w", r.Drill, err)
	}
	r.ID = id
	return nil
}

// LastDrillRuns returns, per drill, its newest run (missed slots included) and its newest run
// that was not a missed slot.
func (db *DB) LastDrillRuns(ctx context.Context) (last, lastRun map[string]upkeep.DrillRun, err error) {
	read := func(where string) (map[string]upkeep.DrillRun, error) {
		rows, err := db.readDB.QueryContext(ctx, `SELECT `+drillColumns+` FROM drill_runs WHERE id IN (SELECT max(id) FROM drill_runs `+where+` GROUP BY drill)`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]upkeep.DrillRun{}
		for rows.Next() {
			r, err := scanDrillRun(rows)
			if err != nil {
				return nil, err
			}
			out[r.Drill] = r
		}
		return out, rows.Err()
	}
	if last, err = read(""); err == nil {
		lastRun, err = read("WHERE status != 'missed'")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("last drill runs: %w", err)
	}
	return last, lastRun, nil
}

// LastDrillDestination is the destination of the drill's newest run, "" when it has none.
func (db *DB) LastDrillDestination(ctx context.Context, drill string) (string, error) {
	var dest string
	err := db.readDB.QueryRowContext(ctx, `SELECT destination FROM drill_runs WHERE drill = ? AND status != 'missed' ORDER BY id DESC LIMIT 1`, drill).Scan(&dest)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last destination of drill %s: %w", drill, err)
	}
	return dest, nil
}

// MarkInterruptedDrillRuns marks every run still running as interrupted, ended at now, and
// returns how many it changed. Call it only at startup, before any drill runs: a run still
// running then was cut short by a crash.
func (db *DB) MarkInterruptedDrillRuns(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE drill_runs SET status = 'interrupted', reason = ?, finished_at = ? WHERE status = 'running'`,
			DrillInterrupted, millis(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mark interrupted drill runs: %w", err)
	}
	return int(n), nil
}
