package sqlite

// Maintenance windows scheduled through the API (migration 0005), for package maintenance.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
)

const windowColumns = `id, title, description, services, monitors, notify, notify_before, start_at, end_at, created_at, cancelled_at`

func scanWindow(s scanner) (upkeep.Window, error) {
	var w upkeep.Window
	var id, before, start, end, created int64
	var services, monitors, notify string
	var cancelled sql.NullInt64
	if err := s.Scan(&id, &w.Title, &w.Description, &services, &monitors, &notify, &before, &start, &end, &created, &cancelled); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(notify), &w.Notify); err != nil {
		return w, fmt.Errorf("window %d: notify: %w", id, err)
	}
	w.NotifyBefore = time.Duration(before) * time.Millisecond
	if err := json.Unmarshal([]byte(services), &w.Services); err != nil {
		return w, fmt.Errorf("window %d: services: %w", id, err)
	}
	if err := json.Unmarshal([]byte(monitors), &w.Monitors); err != nil {
		return w, fmt.Errorf("window %d: monitors: %w", id, err)
	}
	w.ID, w.Source = strconv.FormatInt(id, 10), upkeep.WindowAdHoc
	w.Start, w.End, w.CreatedAt = fromMillis(start), fromMillis(end), fromMillis(created)
	if cancelled.Valid {
		w.CancelledAt = fromMillis(cancelled.Int64)
	}
	return w, nil
}

// InsertWindow stores an ad-hoc maintenance window and sets its ID and CreatedAt (now).
func (db *DB) InsertWindow(ctx context.Context, w *upkeep.Window, now time.Time) error {
	services, err := json.Marshal(nonNil(w.Services))
	if err != nil {
		return err
	}
	monitors, err := json.Marshal(nonNil(w.Monitors))
	if err != nil {
		return err
	}
	notify, err := json.Marshal(nonNil(w.Notify))
	if err != nil {
		return err
	}
	var id int64
	err = db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO maintenance (title, description, services, monitors, notify, notify_before, start_at, end_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.Title, w.Description, string(services), string(monitors), string(notify),
			w.NotifyBefore.Milliseconds(), millis(w.Start), millis(w.End), millis(now))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("insert maintenance window: %w", err)
	}
	w.ID, w.Source, w.CreatedAt = strconv.FormatInt(id, 10), upkeep.WindowAdHoc, fromMillis(millis(now))
	return nil
}

// Windows returns the ad-hoc windows that end after endAfter (zero: all), latest start first,
// at most limit (0: no limit).
func (db *DB) Windows(ctx context.Context, endAfter time.Time, limit int) ([]upkeep.Window, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.readDB.QueryContext(ctx, "SELECT "+windowColumns+` FROM maintenance
		WHERE end_at > ? ORDER BY start_at DESC, id DESC LIMIT ?`, millis(endAfter), limit)
	if endAfter.IsZero() {
		rows, err = db.readDB.QueryContext(ctx, "SELECT "+windowColumns+` FROM maintenance ORDER BY start_at DESC, id DESC LIMIT ?`, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list maintenance windows: %w", err)
	}
	defer rows.Close()
	var out []upkeep.Window
	for rows.Next() {
		w, err := scanWindow(rows)
		if err != nil {
			return nil, fmt.Errorf("list maintenance windows: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list maintenance windows: %w", err)
	}
	return out, nil
}

// Window returns one ad-hoc window, or an error wrapping upkeep.ErrNotFound.
func (db *DB) Window(ctx context.Context, id int64) (upkeep.Window, error) {
	w, err := scanWindow(db.readDB.QueryRowContext(ctx, "SELECT "+windowColumns+" FROM maintenance WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("maintenance window %d: %w", id, upkeep.ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("maintenance window %d: %w", id, err)
	}
	return w, nil
}

// ErrWindowOver is returned by EndWindow for a window that has ended or was cancelled already.
var ErrWindowOver = errors.New("the window is over already")

// EndWindow ends an active ad-hoc window at now, or cancels one that has not begun, and returns
// it as it is afterwards. A window that is over already is refused with ErrWindowOver.
func (db *DB) EndWindow(ctx context.Context, id int64, now time.Time) (upkeep.Window, error) {
	var w upkeep.Window
	at := millis(now)
	err := db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		w, err = scanWindow(tx.QueryRow("SELECT "+windowColumns+" FROM maintenance WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("maintenance window %d: %w", id, upkeep.ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch w.StateAt(fromMillis(at)) {
		case upkeep.WindowUpcoming:
			w.CancelledAt = fromMillis(at)
			_, err = tx.Exec("UPDATE maintenance SET cancelled_at = ? WHERE id = ?", at, id)
		case upkeep.WindowActive:
			end := max(at, millis(w.Start)+1) // end_at > start_at
			w.End = fromMillis(end)
			_, err = tx.Exec("UPDATE maintenance SET end_at = ? WHERE id = ?", end, id)
		default:
			return fmt.Errorf("maintenance window %d: %w", id, ErrWindowOver)
		}
		return err
	})
	if err != nil {
		return upkeep.Window{}, fmt.Errorf("end maintenance window: %w", err)
	}
	return w, nil
}

// maintenanceSpans returns the intervals [start, end) in [lo, hi) during which monitor was in
// maintenance, from its transitions, as Unix ms.
func (db *DB) maintenanceSpans(ctx context.Context, monitor, lo, hi int64) ([][2]int64, error) {
	var initial string
	err := db.readDB.QueryRowContext(ctx, `SELECT to_state FROM transitions WHERE monitor = ? AND at < ?
		ORDER BY at DESC, id DESC LIMIT 1`, monitor, lo).Scan(&initial)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := db.readDB.QueryContext(ctx, `SELECT at, to_state FROM transitions WHERE monitor = ? AND at >= ? AND at < ?
		ORDER BY at, id`, monitor, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var spans [][2]int64
	in, since := initial == string(upkeep.StateMaintenance), lo
	for rows.Next() {
		var at int64
		var to string
		if err := rows.Scan(&at, &to); err != nil {
			return nil, err
		}
		now := to == string(upkeep.StateMaintenance)
		switch {
		case now && !in:
			since = at
		case !now && in && at > since:
			spans = append(spans, [2]int64{since, at})
		}
		in = now
	}
	if in && hi > since {
		spans = append(spans, [2]int64{since, hi})
	}
	return spans, rows.Err()
}
