package sqlite

import (
	"database/sql"
	"time"
)

// Times are stored as INTEGER Unix milliseconds UTC, and a zero time.Time as NULL (see the
// package comment). These helpers are the only place that conversion is written.

// millis returns t as Unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

// nullMillis returns t as Unix milliseconds, or NULL for the zero time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMillis returns the UTC time of Unix milliseconds ms.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// fromNullMillis is fromMillis with NULL read as the zero time.
func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}
