package sqlite

// Verifications of backup repositories (migration 0010), for package backup. A verification is
// written when it starts and updated when it ends, so a crash leaves a running row behind, which
// InterruptBackupVerifications turns into a failed one at the next start.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// StartBackupVerification stores a new verification with status running and returns its id.
func (db *DB) StartBackupVerification(ctx context.Context, v upkeep.BackupVerification) (int64, error) {
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO backup_verifications (job, destination, trigger, status, started_at, read_data) VALUES (?, ?, ?, 'running', ?, ?)`,
			v.Job, v.Destination, string(v.Trigger), millis(v.Start), v.ReadData)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store verification of backup %q at %q: %w", v.Job, v.Destination, err)
	}
	return id, nil
}

// FinishBackupVerification stores the end of verification v.ID: status, start (when it really
// began), end, what was checked and the error.
func (db *DB) FinishBackupVerification(ctx context.Context, v upkeep.BackupVerification) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE backup_verifications SET status = ?, started_at = ?, ended_at = ?, snapshots = ?, objects = ?, read_files = ?, read_bytes = ?, error = ?
			WHERE id = ?`, string(v.Status), millis(v.Start), millis(v.End), v.Snapshots, v.Objects, v.ReadFiles, v.ReadBytes, v.Error, v.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no backup verification %d: %w", v.ID, upkeep.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish backup verification %d: %w", v.ID, err)
	}
	return nil
}

// InterruptBackupVerifications marks every verification still running as failed with
// InterruptedError, ended at now, and returns how many it changed. Call it only while holding the
// data directory's lock: then a running row can only be left by a process that died.
func (db *DB) InterruptBackupVerifications(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE backup_verifications SET status = 'failed', ended_at = ?, error = ? WHERE status = 'running'`, millis(now), InterruptedError)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mark interrupted backup verifications: %w", err)
	}
	return int(n), nil
}

// BackupVerifications returns the newest verifications of job, newest first, at most limit.
func (db *DB) BackupVerifications(ctx context.Context, job string, limit int) ([]upkeep.BackupVerification, error) {
	rows, err := db.readDB.QueryContext(ctx, `SELECT id, job, destination, trigger, status, started_at, ended_at, read_data, snapshots, objects, read_files, read_bytes, error
		FROM backup_verifications WHERE job = ? ORDER BY id DESC LIMIT ?`, job, limit)
	if err != nil {
		return nil, fmt.Errorf("read verifications of backup %q: %w", job, err)
	}
	defer rows.Close()
	var out []upkeep.BackupVerification
	for rows.Next() {
		var v upkeep.BackupVerification
		var start int64
		var end sql.NullInt64
		if err := rows.Scan(&v.ID, &v.Job, &v.Destination, &v.Trigger, &v.Status, &start, &end, &v.ReadData, &v.Snapshots, &v.Objects,
			&v.ReadFiles, &v.ReadBytes, &v.Error); err != nil {
			return nil, fmt.Errorf("read verifications of backup %q: %w", job, err)
		}
		v.Start, v.End = fromMillis(start), fromNullMillis(end)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read verifications of backup %q: %w", job, err)
	}
	return out, nil
}
