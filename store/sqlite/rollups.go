package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Day is the span of a daily rollup.
const Day = 24 * time.Hour

// watermark keys in meta: the end (Unix ms, exclusive) of the last period rolled up.
const (
	hourWatermark = "rollups_hour_through"
	dayWatermark  = "rollups_day_through"
)

func spanCode(span time.Duration) (string, error) {
	switch span {
	case time.Hour:
		return "h", nil
	case Day:
		return "d", nil
	}
	return "", fmt.Errorf("rollup span %s is not 1h or 24h", span)
}

// Rollups returns the rollups of monitor for span (time.Hour or Day) that start in [from, to),
// oldest first. A zero from or to leaves that side open.
func (db *DB) Rollups(ctx context.Context, monitor string, span time.Duration, from, to time.Time) ([]upkeep.Rollup, error) {
	code, err := spanCode(span)
	if err != nil {
		return nil, err
	}
	lo, hi := rangeMillis(from, to)
	rows, err := db.readDB.QueryContext(ctx, `
		SELECT start, checks, failures, degraded, maintenance, latency_p50, latency_p95, latency_max FROM rollups
		WHERE monitor = (SELECT id FROM monitors WHERE name = ?) AND span = ? AND start >= ? AND start < ?
		ORDER BY start`, monitor, code, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("rollups of %q: %w", monitor, err)
	}
	defer rows.Close()
	var out []upkeep.Rollup
	for rows.Next() {
		r := upkeep.Rollup{Monitor: monitor, Span: span}
		var start int64
		var p50, p95, pmax sql.NullInt64
		if err := rows.Scan(&start, &r.Checks, &r.Failures, &r.Degraded, &r.Maintenance, &p50, &p95, &pmax); err != nil {
			return nil, fmt.Errorf("rollups of %q: %w", monitor, err)
		}
		r.Start = fromMillis(start)
		r.LatencyP50 = time.Duration(p50.Int64) * time.Microsecond
		r.LatencyP95 = time.Duration(p95.Int64) * time.Microsecond
		r.LatencyMax = time.Duration(pmax.Int64) * time.Microsecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rollups of %q: %w", monitor, err)
	}
	return out, nil
}

// RollUp computes the hourly and daily rollups of every period that has closed by now and was
// not rolled up yet, from the raw results, and returns how many rollup rows it wrote. It is
// idempotent (a period computed again replaces its rows) and catches up: after a stop of any
// length it rolls up every closed period since the last one it did. Results that arrive for a
// period after it was rolled up (a remote agent's late batch) are not in its rollup.
//
// Work is split into Writes of about 500 monitors each; the watermarks move on only after all
// of them, so a crash in between means the periods are computed again, not lost.
func (db *DB) RollUp(ctx context.Context, now time.Time) (int, error) {
	hourEnd := millis(now.Truncate(time.Hour))
	dayEnd := millis(now.UTC().Truncate(Day)) // Unix time has no leap seconds: days are 24h from the epoch
	hourFrom, hourSet, err := db.watermark(ctx, hourWatermark)
	if err != nil {
		return 0, err
	}
	dayFrom, daySet, err := db.watermark(ctx, dayWatermark)
	if err != nil {
		return 0, err
	}
	if !hourSet || !daySet {
		// First time: start at the oldest result (the table is young, so the scan is cheap).
		var oldest sql.NullInt64
		if err := db.readDB.QueryRowContext(ctx, "SELECT min(time) FROM results").Scan(&oldest); err != nil {
			return 0, fmt.Errorf("roll up: %w", err)
		}
		start := hourEnd
		if oldest.Valid {
			start = oldest.Int64
		}
		if !hourSet {
			hourFrom = millis(fromMillis(start).Truncate(time.Hour))
		}
		if !daySet {
			dayFrom = millis(fromMillis(start).Truncate(Day))
		}
	}
	if hourFrom >= hourEnd && dayFrom >= dayEnd {
		return 0, nil
	}
	lo := min(hourFrom, dayFrom)
	ids, err := db.monitorIDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("roll up: %w", err)
	}
	written := 0
	for i := 0; i < len(ids) || i == 0; i += rollupChunk {
		chunk := ids[i:min(i+rollupChunk, len(ids))]
		var rows []rollupRow
		for _, id := range chunk {
			rs, err := db.rollupMonitor(ctx, id, lo, hourFrom, hourEnd, dayFrom, dayEnd)
			if err != nil {
				return written, fmt.Errorf("roll up monitor %d: %w", id, err)
			}
			rows = append(rows, rs...)
		}
		last := i+rollupChunk >= len(ids)
		err := db.Write(ctx, func(tx *sql.Tx) error {
			if len(rows) > 0 {
				stmt, err := tx.Prepare(`INSERT OR REPLACE INTO rollups
					(monitor, span, start, checks, failures, degraded, maintenance, latency_p50, latency_p95, latency_max)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
				if err != nil {
					return err
				}
				defer stmt.Close()
				for _, r := range rows {
					if _, err := stmt.Exec(r.monitor, r.span, r.start, r.checks, r.failures, r.degraded, r.maintenance, r.p50, r.p95, r.max); err != nil {
						return err
					}
				}
			}
			if !last {
				return nil
			}
			for key, v := range map[string]int64{hourWatermark: max(hourFrom, hourEnd), dayWatermark: max(dayFrom, dayEnd)} {
				if _, err := tx.Exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
					key, strconv.FormatInt(v, 10)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return written, fmt.Errorf("roll up: %w", err)
		}
		written += len(rows)
		if len(ids) == 0 {
			break
		}
	}
	return written, nil
}

// watermark reads a rollup watermark from meta.
func (db *DB) watermark(ctx context.Context, key string) (ms int64, ok bool, err error) {
	var v string
	err = db.readDB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err == nil {
		ms, err = strconv.ParseInt(v, 10, 64)
	}
	if err != nil {
		return 0, false, fmt.Errorf("roll up: read %s: %w", key, err)
	}
	return ms, true, nil
}

type rollupRow struct {
	monitor                    int64
	span                       string
	start                      int64
	checks, failures, degraded int
	maintenance                int
	p50, p95, max              sql.NullInt64
}

// bucket accumulates one period's results.
type bucket struct {
	checks, failures, degraded int
	maintenance                int
	latencies                  []int64
}

func (b *bucket) row(monitor int64, span string, start int64) rollupRow {
	r := rollupRow{monitor: monitor, span: span, start: start, checks: b.checks, failures: b.failures, degraded: b.degraded, maintenance: b.maintenance}
	if n := len(b.latencies); n > 0 {
		slices.Sort(b.latencies)
		rank := func(p int) sql.NullInt64 { // nearest rank: the ceil(p/100 * n)-th value
			return sql.NullInt64{Int64: b.latencies[(p*n+99)/100-1], Valid: true}
		}
		r.p50, r.p95 = rank(50), rank(95)
		r.max = sql.NullInt64{Int64: b.latencies[n-1], Valid: true}
	}
	return r
}

// rollupMonitor reads monitor's results in [lo, hourEnd) and returns the rollups of the hours in
// [hourFrom, hourEnd) and the days in [dayFrom, dayEnd) that have results. Results taken while
// the monitor was in maintenance count as checks and as maintenance, never as failures or
// degraded.
func (db *DB) rollupMonitor(ctx context.Context, monitor, lo, hourFrom, hourEnd, dayFrom, dayEnd int64) ([]rollupRow, error) {
	spans, err := db.maintenanceSpans(ctx, monitor, lo, hourEnd)
	if err != nil {
		return nil, err
	}
	inMaintenance := func(t int64) bool {
		for _, s := range spans {
			if t >= s[0] && t < s[1] {
				return true
			}
		}
		return false
	}
	rows, err := db.readDB.QueryContext(ctx, "SELECT time, latency_us, outcome FROM results WHERE monitor = ? AND time >= ? AND time < ? ORDER BY time",
		monitor, lo, hourEnd)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	const hourMs, dayMs = int64(time.Hour / time.Millisecond), int64(Day / time.Millisecond)
	hours := map[int64]*bucket{}
	days := map[int64]*bucket{}
	add := func(m map[int64]*bucket, start int64, latency int64, outcome int, maint bool) {
		b := m[start]
		if b == nil {
			b = &bucket{}
			m[start] = b
		}
		b.checks++
		if maint {
			b.maintenance++
			if outcome != outcomeDown {
				b.latencies = append(b.latencies, latency)
			}
			return
		}
		switch outcome {
		case outcomeDown:
			b.failures++
			return
		case outcomeDegraded:
			b.degraded++
		}
		b.latencies = append(b.latencies, latency)
	}
	for rows.Next() {
		var t, latency int64
		var outcome int
		if err := rows.Scan(&t, &latency, &outcome); err != nil {
			return nil, err
		}
		maint := len(spans) > 0 && inMaintenance(t)
		if t >= hourFrom {
			add(hours, floorDiv(t, hourMs)*hourMs, latency, outcome, maint)
		}
		if t >= dayFrom && t < dayEnd {
			add(days, floorDiv(t, dayMs)*dayMs, latency, outcome, maint)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]rollupRow, 0, len(hours)+len(days))
	for start, b := range hours {
		out = append(out, b.row(monitor, "h", start))
	}
	for start, b := range days {
		out = append(out, b.row(monitor, "d", start))
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
