package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/upkeep-dev/upkeep"
)

const (
	// DefaultAuditLimit is the page size Audit uses for a limit of 0 or less.
	DefaultAuditLimit = 100
	// MaxAuditLimit is the largest page Audit returns.
	MaxAuditLimit = 1000
)

// AppendAudit appends e to the audit log and returns its id. The entry is durable when
// AppendAudit returns, so a request may be handled only after that. A zero e.Time is set to now;
// e.ID is ignored.
func (db *DB) AppendAudit(ctx context.Context, e upkeep.AuditEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("INSERT INTO audit (time, token, method, path, request_id, remote_addr) VALUES (?, ?, ?, ?, ?, ?)",
			millis(e.Time), e.Token, e.Method, e.Path, e.RequestID, e.RemoteAddr)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append audit entry for %s %s: %w", e.Method, e.Path, err)
	}
	return id, nil
}

// Audit returns up to limit audit entries, newest first, with ids below beforeID (beforeID 0 or
// less: from the newest). To page back, pass the last id of a page as the next beforeID. A limit
// of 0 or less means DefaultAuditLimit; more than MaxAuditLimit means MaxAuditLimit.
func (db *DB) Audit(ctx context.Context, beforeID int64, limit int) ([]upkeep.AuditEntry, error) {
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	const query = "SELECT id, time, token, method, path, request_id, remote_addr FROM audit"
	var (
		rows *sql.Rows
		err  error
	)
	if beforeID > 0 {
		rows, err = db.readDB.QueryContext(ctx, query+" WHERE id < ? ORDER BY id DESC LIMIT ?", beforeID, limit)
	} else {
		rows, err = db.readDB.QueryContext(ctx, query+" ORDER BY id DESC LIMIT ?", limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	entries := make([]upkeep.AuditEntry, 0, min(limit, 128))
	for rows.Next() {
		var e upkeep.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Token, &e.Method, &e.Path, &e.RequestID, &e.RemoteAddr); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.Time = fromMillis(at)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return entries, nil
}
