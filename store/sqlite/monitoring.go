package sqlite

// Monitoring history: results, transitions, rollups and engine sessions (migration 0002).
//
// Results are written in batches by the monitoring engine's recorder, one durable Write per
// batch, so a batch of a thousand results costs one fsync. Reads use the reader pool and never
// wait for the writer. Pruning and rolling up work in chunks of a few thousand rows per Write, so
// that the writer, which every other write in Upkeep shares, is never held for long.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Outcome codes in the results table: 0 and 1 take no bytes in an SQLite record.
const (
	outcomeUp       = 0
	outcomeDegraded = 1
	outcomeDown     = 2
)

func outcomeCode(s upkeep.State) (int, error) {
	switch s {
	case upkeep.StateUp:
		return outcomeUp, nil
	case upkeep.StateDegraded:
		return outcomeDegraded, nil
	case upkeep.StateDown:
		return outcomeDown, nil
	}
	return 0, fmt.Errorf("result outcome %q is not up, degraded or down", s)
}

func outcomeState(code int) upkeep.State {
	switch code {
	case outcomeUp:
		return upkeep.StateUp
	case outcomeDegraded:
		return upkeep.StateDegraded
	}
	return upkeep.StateDown
}

// pruneChunk bounds the rows one pruning Write deletes, and rollupChunk the monitors one
// rolling-up Write covers, so that no single write holds the writer long (a few milliseconds).
const (
	pruneChunk  = 5000
	rollupChunk = 500
)

// MonitorIDs returns the id of each named monitor, creating the monitors that are new. Ids are
// never reused or deleted: a monitor removed from the policy keeps its history under its id.
func (db *DB) MonitorIDs(ctx context.Context, names []string) (map[string]int64, error) {
	ids := make(map[string]int64, len(names))
	now := millis(db.now())
	err := db.Write(ctx, func(tx *sql.Tx) error {
		clear(ids)
		return resolveMonitors(tx, names, now, ids)
	})
	if err != nil {
		return nil, fmt.Errorf("register monitors: %w", err)
	}
	return ids, nil
}

// resolveMonitors fills ids with the id of every name, inserting missing monitors.
func resolveMonitors(tx *sql.Tx, names []string, nowMs int64, ids map[string]int64) error {
	sel, err := tx.Prepare("SELECT id FROM monitors WHERE name = ?")
	if err != nil {
		return err
	}
	defer sel.Close()
	for _, name := range names {
		if _, ok := ids[name]; ok {
			continue
		}
		if name == "" {
			return errors.New("empty monitor name")
		}
		var id int64
		err := sel.QueryRow(name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var res sql.Result
			if res, err = tx.Exec("INSERT INTO monitors (name, created_at) VALUES (?, ?)", name, nowMs); err == nil {
				id, err = res.LastInsertId()
			}
		}
		if err != nil {
			return fmt.Errorf("monitor %q: %w", name, err)
		}
		ids[name] = id
	}
	return nil
}

// resolveLocations fills ids with the id of every location name, inserting new ones.
func resolveLocations(tx *sql.Tx, names []string, ids map[string]int64) error {
	for _, name := range names {
		if _, ok := ids[name]; ok {
			continue
		}
		if name == "" {
			return errors.New("empty location name")
		}
		var id int64
		err := tx.QueryRow("SELECT id FROM locations WHERE name = ?", name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var res sql.Result
			if res, err = tx.Exec("INSERT INTO locations (name) VALUES (?)", name); err == nil {
				id, err = res.LastInsertId()
			}
		}
		if err != nil {
			return fmt.Errorf("location %q: %w", name, err)
		}
		ids[name] = id
	}
	return nil
}

// RecordMonitoring stores results and transitions in one durable write: when it returns nil,
// both survive a crash. A result whose (monitor, location, time) is already stored is ignored,
// so a batch sent twice is stored once. Transitions are stored in the order given. Monitors and
// locations named for the first time are created. An empty Location means upkeep.LocalLocation.
func (db *DB) RecordMonitoring(ctx context.Context, results []upkeep.Result, transitions []upkeep.Transition) error {
	if len(results) == 0 && len(transitions) == 0 {
		return nil
	}
	names := make([]string, 0, len(results)+len(transitions))
	locs := []string{upkeep.LocalLocation}
	seenLoc := map[string]bool{upkeep.LocalLocation: true}
	for _, r := range results {
		names = append(names, r.Monitor)
		if r.Location != "" && !seenLoc[r.Location] {
			seenLoc[r.Location] = true
			locs = append(locs, r.Location)
		}
		if _, err := outcomeCode(r.Outcome); err != nil {
			return fmt.Errorf("record results: monitor %q: %w", r.Monitor, err)
		}
	}
	for _, t := range transitions {
		names = append(names, t.Monitor)
	}
	now := millis(db.now())
	err := db.Write(ctx, func(tx *sql.Tx) error {
		monitors := make(map[string]int64)
		if err := resolveMonitors(tx, names, now, monitors); err != nil {
			return err
		}
		locations := make(map[string]int64, len(locs))
		if err := resolveLocations(tx, locs, locations); err != nil {
			return err
		}
		if _, err := insertResults(tx, results, monitors, locations); err != nil {
			return err
		}
		for _, t := range transitions {
			_, err := tx.Exec("INSERT INTO transitions (monitor, at, from_state, to_state, cause) VALUES (?, ?, ?, ?, ?)",
				monitors[t.Monitor], millis(t.At), string(t.From), string(t.To), t.Cause)
			if err != nil {
				return fmt.Errorf("monitor %q transition: %w", t.Monitor, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d results and %d transitions: %w", len(results), len(transitions), err)
	}
	return nil
}

// insertResults inserts results whose monitors and locations are in the maps and returns how
// many were new: one whose (monitor, time, location) is stored already is left as it was.
func insertResults(tx *sql.Tx, results []upkeep.Result, monitors, locations map[string]int64) (int, error) {
	if len(results) == 0 {
		return 0, nil
	}
	ins, err := tx.Prepare("INSERT INTO results (monitor, time, location, latency_us, outcome, code, error) " +
		"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	added := 0
	for _, r := range results {
		loc := r.Location
		if loc == "" {
			loc = upkeep.LocalLocation
		}
		outcome, _ := outcomeCode(r.Outcome)
		var code sql.NullInt64
		if r.Code != 0 {
			code = sql.NullInt64{Int64: int64(r.Code), Valid: true}
		}
		var msg sql.NullString
		if r.Error != "" {
			msg = sql.NullString{String: r.Error, Valid: true}
		}
		res, err := ins.Exec(monitors[r.Monitor], millis(r.Time), locations[loc], r.Latency.Microseconds(), outcome, code, msg)
		if err != nil {
			return 0, fmt.Errorf("monitor %q result at %s: %w", r.Monitor, r.Time.UTC().Format(time.RFC3339Nano), err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 {
			added++
		}
	}
	return added, nil
}

// DefaultResultsLimit and MaxResultsLimit bound the page Results returns.
const (
	DefaultResultsLimit = 100
	MaxResultsLimit     = 10000
)

// Results returns the results of monitor with from <= Time < to, newest first, at most limit
// (DefaultResultsLimit for limit <= 0, at most MaxResultsLimit). A zero from or to leaves that
// side open. An unknown monitor has no results.
func (db *DB) Results(ctx context.Context, monitor string, from, to time.Time, limit int) ([]upkeep.Result, error) {
	return db.ResultsFrom(ctx, monitor, "", from, to, limit)
}

// ResultsFrom is Results from one location only ("local" for the server's own checks); an
// empty location means every location.
func (db *DB) ResultsFrom(ctx context.Context, monitor, location string, from, to time.Time, limit int) ([]upkeep.Result, error) {
	if limit <= 0 {
		limit = DefaultResultsLimit
	}
	limit = min(limit, MaxResultsLimit)
	lo, hi := rangeMillis(from, to)
	rows, err := db.readDB.QueryContext(ctx, `
		SELECT r.time, l.name, r.latency_us, r.outcome, r.code, r.error
		FROM results r JOIN locations l ON l.id = r.location
		WHERE r.monitor = (SELECT id FROM monitors WHERE name = ?) AND r.time >= ? AND r.time < ?
			AND (? = '' OR l.name = ?)
		ORDER BY r.time DESC, r.location LIMIT ?`, monitor, lo, hi, location, location, limit)
	if err != nil {
		return nil, fmt.Errorf("results of %q: %w", monitor, err)
	}
	defer rows.Close()
	var out []upkeep.Result
	for rows.Next() {
		var (
			ms, latency int64
			outcome     int
			code        sql.NullInt64
			msg         sql.NullString
			r           = upkeep.Result{Monitor: monitor}
		)
		if err := rows.Scan(&ms, &r.Location, &latency, &outcome, &code, &msg); err != nil {
			return nil, fmt.Errorf("results of %q: %w", monitor, err)
		}
		r.Time = fromMillis(ms)
		r.Latency = time.Duration(latency) * time.Microsecond
		r.Outcome = outcomeState(outcome)
		r.Code = int(code.Int64)
		r.Error = msg.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results of %q: %w", monitor, err)
	}
	return out, nil
}

// rangeMillis turns [from, to) into milliseconds, open sides becoming the extremes.
func rangeMillis(from, to time.Time) (lo, hi int64) {
	lo, hi = int64(-1<<62), int64(1<<62)
	if !from.IsZero() {
		lo = millis(from)
	}
	if !to.IsZero() {
		hi = millis(to)
	}
	return lo, hi
}

// Transitions returns the transitions of monitor with from <= At < to, in the order they were
// confirmed (oldest first). A zero from or to leaves that side open.
func (db *DB) Transitions(ctx context.Context, monitor string, from, to time.Time) ([]upkeep.Transition, error) {
	lo, hi := rangeMillis(from, to)
	rows, err := db.readDB.QueryContext(ctx, `
		SELECT at, from_state, to_state, cause FROM transitions
		WHERE monitor = (SELECT id FROM monitors WHERE name = ?) AND at >= ? AND at < ?
		ORDER BY at, id`, monitor, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("transitions of %q: %w", monitor, err)
	}
	defer rows.Close()
	var out []upkeep.Transition
	for rows.Next() {
		t := upkeep.Transition{Monitor: monitor}
		var ms int64
		if err := rows.Scan(&ms, &t.From, &t.To, &t.Cause); err != nil {
			return nil, fmt.Errorf("transitions of %q: %w", monitor, err)
		}
		t.At = fromMillis(ms)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("transitions of %q: %w", monitor, err)
	}
	return out, nil
}

// StateAt returns the state monitor was in just before t: the target of its last transition
// with At < t, or upkeep.StateUnknown if it had none.
func (db *DB) StateAt(ctx context.Context, monitor string, t time.Time) (upkeep.State, error) {
	var s string
	err := db.readDB.QueryRowContext(ctx, `
		SELECT to_state FROM transitions
		WHERE monitor = (SELECT id FROM monitors WHERE name = ?) AND at < ?
		ORDER BY at DESC, id DESC LIMIT 1`, monitor, millis(t)).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return upkeep.StateUnknown, nil
	}
	if err != nil {
		return "", fmt.Errorf("state of %q at %s: %w", monitor, t.UTC().Format(time.RFC3339), err)
	}
	return upkeep.State(s), nil
}

// LastTransitions returns the newest transition of every monitor that has one, by monitor name.
func (db *DB) LastTransitions(ctx context.Context) (map[string]upkeep.Transition, error) {
	rows, err := db.readDB.QueryContext(ctx, `
		SELECT m.name, t.at, t.from_state, t.to_state, t.cause
		FROM transitions t JOIN monitors m ON m.id = t.monitor
		WHERE t.id IN (SELECT max(id) FROM transitions GROUP BY monitor)`)
	if err != nil {
		return nil, fmt.Errorf("last transitions: %w", err)
	}
	defer rows.Close()
	out := map[string]upkeep.Transition{}
	for rows.Next() {
		var t upkeep.Transition
		var ms int64
		if err := rows.Scan(&t.Monitor, &ms, &t.From, &t.To, &t.Cause); err != nil {
			return nil, fmt.Errorf("last transitions: %w", err)
		}
		t.At = fromMillis(ms)
		out[t.Monitor] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last transitions: %w", err)
	}
	return out, nil
}

// StartSession records that the monitoring engine started at at and returns the session's id.
func (db *DB) StartSession(ctx context.Context, at time.Time) (int64, error) {
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("INSERT INTO sessions (started_at, last_alive_at) VALUES (?, ?)", millis(at), millis(at))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start session: %w", err)
	}
	return id, nil
}

// TouchSession records that session id was still alive at at.
func (db *DB) TouchSession(ctx context.Context, id int64, at time.Time) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("UPDATE sessions SET last_alive_at = max(last_alive_at, ?) WHERE id = ? AND ended_at IS NULL", millis(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch session %d: %w", id, err)
	}
	return nil
}

// EndSession records that session id ended cleanly at at.
func (db *DB) EndSession(ctx context.Context, id int64, at time.Time) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("UPDATE sessions SET last_alive_at = max(last_alive_at, ?), ended_at = ? WHERE id = ?", millis(at), millis(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("end session %d: %w", id, err)
	}
	return nil
}

// SessionIntervals returns the [start, end) intervals during which the engine ran and that
// overlap [from, to), oldest first, not clipped. A session without an end (Upkeep was killed,
// or it is the running one) ends at its last sign of life.
func (db *DB) SessionIntervals(ctx context.Context, from, to time.Time) ([]upkeep.Interval, error) {
	lo, hi := rangeMillis(from, to)
	rows, err := db.readDB.QueryContext(ctx, `
		SELECT started_at, coalesce(ended_at, last_alive_at) AS end_at FROM sessions
		WHERE started_at < ? AND coalesce(ended_at, last_alive_at) > ? ORDER BY started_at, id`, hi, lo)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	defer rows.Close()
	var out []upkeep.Interval
	for rows.Next() {
		var s, e int64
		if err := rows.Scan(&s, &e); err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		out = append(out, upkeep.Interval{Start: fromMillis(s), End: fromMillis(e)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return out, nil
}

// monitorIDs lists every monitor id, in order.
func (db *DB) monitorIDs(ctx context.Context) ([]int64, error) {
	rows, err := db.readDB.QueryContext(ctx, "SELECT id FROM monitors ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PruneResults deletes the results older than before and returns how many it deleted. It works
// through the monitors in Writes of at most about 5,000 deleted rows each, so other writes get
// their turn in between.
func (db *DB) PruneResults(ctx context.Context, before time.Time) (int, error) {
	return db.prune(ctx, "results", `DELETE FROM results WHERE monitor = ?1 AND time < ?2 AND time <= (
		SELECT max(time) FROM (SELECT time FROM results WHERE monitor = ?1 AND time < ?2 ORDER BY time LIMIT ?3))`, before)
}

// PruneRollups deletes the hourly and daily rollups that start before before, in chunks like
// PruneResults.
func (db *DB) PruneRollups(ctx context.Context, before time.Time) (int, error) {
	return db.prune(ctx, "rollups", `DELETE FROM rollups WHERE monitor = ?1 AND start < ?2 AND start <= (
		SELECT max(start) FROM (SELECT start FROM rollups WHERE monitor = ?1 AND start < ?2 ORDER BY start LIMIT ?3))`, before)
}

// prune runs del (parameters: monitor id, cutoff ms, row budget) for every monitor, packing
// monitors into Writes until each has deleted about pruneChunk rows.
func (db *DB) prune(ctx context.Context, what, del string, before time.Time) (int, error) {
	ids, err := db.monitorIDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", what, err)
	}
	cutoff := millis(before)
	total := 0
	for i := 0; i < len(ids); {
		var deleted, next int
		err := db.Write(ctx, func(tx *sql.Tx) error {
			deleted, next = 0, i
			stmt, err := tx.Prepare(del)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for next < len(ids) && deleted < pruneChunk {
				res, err := stmt.Exec(ids[next], cutoff, pruneChunk-deleted)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				deleted += int(n)
				if deleted < pruneChunk {
					next++ // this monitor is done; otherwise it has more and comes again
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", what, err)
		}
		total += deleted
		i = next
	}
	return total, nil
}
