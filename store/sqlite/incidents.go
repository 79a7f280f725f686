package sqlite

// Incidents, their timeline and the notification outbox (migration 0004), for package incident.
// Writes go through IncidentTx, which hands the incident package a transaction of the single
// writer; reads use the reader pool.

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
)

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// IncidentTx runs fn in one write transaction (see incident.Store). fn may run more than once.
func (db *DB) IncidentTx(ctx context.Context, fn func(upkeep.IncidentTx) error) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		return fn(&incidentTx{tx: tx, now: millis(db.now())})
	})
}

type incidentTx struct {
	tx  *sql.Tx
	now int64
}

var bg = context.Background()

func (t *incidentTx) Watermark() (int64, error) {
	var v string
	err := t.tx.QueryRow("SELECT value FROM meta WHERE key = 'incidents_watermark'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read incidents watermark: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

func (t *incidentTx) SetWatermark(id int64) error {
	_, err := t.tx.Exec(`INSERT INTO meta (key, value) VALUES ('incidents_watermark', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(id, 10))
	if err != nil {
		return fmt.Errorf("set incidents watermark: %w", err)
	}
	return nil
}

func (t *incidentTx) OpenIncidents() ([]upkeep.Incident, error) {
	return listIncidents(bg, t.tx, "WHERE resolved_at IS NULL ORDER BY id", -1)
}

func (t *incidentTx) Incident(id int64) (upkeep.Incident, error) {
	return getIncident(bg, t.tx, id)
}

func (t *incidentTx) InsertIncident(inc *upkeep.Incident) error {
	services, err := json.Marshal(nonNil(inc.Services))
	if err != nil {
		return err
	}
	res, err := t.tx.Exec(`INSERT INTO incidents (title, status, impact, services, automatic, escalation,
		started_at, opened_at, acknowledged_at, acknowledged_by, resolved_at, steps_run, reminders, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inc.Title, inc.Status, inc.Impact, string(services), boolInt(inc.Automatic), inc.Escalation,
		millis(inc.StartedAt), millis(inc.OpenedAt), nullMillis(inc.AcknowledgedAt), inc.AcknowledgedBy,
		nullMillis(inc.ResolvedAt), inc.StepsRun, inc.Reminders, t.now)
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	if inc.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	inc.UpdatedAt = fromMillis(t.now)
	return t.saveMembers(inc)
}

func (t *incidentTx) SaveIncident(inc *upkeep.Incident) error {
	services, err := json.Marshal(nonNil(inc.Services))
	if err != nil {
		return err
	}
	res, err := t.tx.Exec(`UPDATE incidents SET title = ?, status = ?, impact = ?, services = ?, escalation = ?,
		acknowledged_at = ?, acknowledged_by = ?, resolved_at = ?, steps_run = ?, reminders = ?, updated_at = ?
		WHERE id = ?`,
		inc.Title, inc.Status, inc.Impact, string(services), inc.Escalation,
		nullMillis(inc.AcknowledgedAt), inc.AcknowledgedBy, nullMillis(inc.ResolvedAt), inc.StepsRun, inc.Reminders, t.now, inc.ID)
	if err != nil {
		return fmt.Errorf("save incident %d: %w", inc.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("save incident %d: %w", inc.ID, upkeep.ErrNotFound)
	}
	inc.UpdatedAt = fromMillis(t.now)
	return t.saveMembers(inc)
}

func (t *incidentTx) saveMembers(inc *upkeep.Incident) error {
	for _, m := range inc.Monitors {
		_, err := t.tx.Exec(`INSERT INTO incident_monitors (incident, monitor, service, state, failing, since)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (incident, monitor) DO UPDATE SET service = excluded.service, state = excluded.state,
				failing = excluded.failing, since = excluded.since`,
			inc.ID, m.Monitor, m.Service, string(m.State), boolInt(m.Failing), millis(m.Since))
		if err != nil {
			return fmt.Errorf("save monitors of incident %d: %w", inc.ID, err)
		}
	}
	return nil
}

func (t *incidentTx) AddUpdate(id int64, u upkeep.IncidentUpdate) error {
	_, err := t.tx.Exec(`INSERT INTO incident_updates (incident, at, kind, status, message, author) VALUES (?, ?, ?, ?, ?, ?)`,
		id, millis(u.At), u.Kind, string(u.Status), u.Message, u.Author)
	if err != nil {
		return fmt.Errorf("add update to incident %d: %w", id, err)
	}
	return nil
}

func (t *incidentTx) Enqueue(n upkeep.Notification) (bool, error) {
	payload, err := json.Marshal(n.Payload)
	if err != nil {
		return false, err
	}
	next := n.NextAttemptAt
	if next.IsZero() {
		next = fromMillis(t.now)
	}
	created := n.CreatedAt
	if created.IsZero() {
		created = fromMillis(t.now)
	}
	res, err := t.tx.Exec(`INSERT INTO outbox (key, incident, channel, event, step, payload, state, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING`,
		n.Key, sql.NullInt64{Int64: n.Incident, Valid: n.Incident != 0}, n.Channel, n.Event, n.Step, string(payload), millis(next), millis(created))
	if err != nil {
		return false, fmt.Errorf("enqueue notification %s: %w", n.Key, err)
	}
	added, _ := res.RowsAffected()
	return added > 0, nil
}

func (t *incidentTx) NotifiedChannels(id int64) ([]string, error) {
	rows, err := t.tx.Query(`SELECT DISTINCT channel FROM outbox WHERE incident = ? AND event IN (?, ?, ?) ORDER BY channel`,
		id, upkeep.EventDown, upkeep.EventDegraded, upkeep.EventReminder)
	if err != nil {
		return nil, fmt.Errorf("channels notified for incident %d: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *incidentTx) SetReport(id int64, r upkeep.IncidentReport) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec("UPDATE incidents SET report = ?, updated_at = ? WHERE id = ?", string(b), t.now, id); err != nil {
		return fmt.Errorf("set report of incident %d: %w", id, err)
	}
	return nil
}

// TransitionsAfter returns up to limit transitions with an id above after, in id order.
func (db *DB) TransitionsAfter(ctx context.Context, after int64, limit int) ([]upkeep.StoredTransition, error) {
	rows, err := db.readDB.QueryContext(ctx, `
		SELECT t.id, m.name, t.at, t.from_state, t.to_state, t.cause
		FROM transitions t JOIN monitors m ON m.id = t.monitor
		WHERE t.id > ? ORDER BY t.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("transitions after %d: %w", after, err)
	}
	defer rows.Close()
	var out []upkeep.StoredTransition
	for rows.Next() {
		var st upkeep.StoredTransition
		var ms int64
		if err := rows.Scan(&st.ID, &st.Monitor, &ms, &st.From, &st.To, &st.Cause); err != nil {
			return nil, fmt.Errorf("transitions after %d: %w", after, err)
		}
		st.At = fromMillis(ms)
		out = append(out, st)
	}
	return out, rows.Err()
}

// Incidents lists incidents, open ones first, newest first within each group. state is
// "open", "resolved" or "" (all); limit <= 0 means 100.
func (db *DB) Incidents(ctx context.Context, state string, limit int) ([]upkeep.Incident, error) {
	if limit <= 0 {
		limit = 100
	}
	where := ""
	switch state {
	case "":
	case "open":
		where = "WHERE resolved_at IS NULL "
	case "resolved":
		where = "WHERE resolved_at IS NOT NULL "
	default:
		return nil, fmt.Errorf("list incidents: unknown state %q (open, resolved)", state)
	}
	return listIncidents(ctx, db.readDB, where+"ORDER BY resolved_at IS NOT NULL, id DESC", limit)
}

// IncidentsBetween returns the incidents that were open at some time in [from, to): started
// before to and not resolved by from, oldest first, with their monitors and reports (not their
// updates).
func (db *DB) IncidentsBetween(ctx context.Context, from, to time.Time) ([]upkeep.Incident, error) {
	out, err := listIncidents(ctx, db.readDB, "WHERE started_at < ? AND (resolved_at IS NULL OR resolved_at > ?) ORDER BY started_at, id", -1,
		millis(to), millis(from))
	if err != nil {
		return nil, fmt.Errorf("incidents between %s and %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return out, nil
}

// Incident returns one incident with its monitors, updates and report.
func (db *DB) Incident(ctx context.Context, id int64) (upkeep.Incident, error) {
	inc, err := getIncident(ctx, db.readDB, id)
	if err != nil {
		return inc, err
	}
	rows, err := db.readDB.QueryContext(ctx, `SELECT id, at, kind, status, message, author FROM incident_updates
		WHERE incident = ? ORDER BY at, id`, id)
	if err != nil {
		return inc, fmt.Errorf("updates of incident %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var u upkeep.IncidentUpdate
		var at int64
		if err := rows.Scan(&u.ID, &at, &u.Kind, &u.Status, &u.Message, &u.Author); err != nil {
			return inc, fmt.Errorf("updates of incident %d: %w", id, err)
		}
		u.At = fromMillis(at)
		inc.Updates = append(inc.Updates, u)
	}
	return inc, rows.Err()
}

const incidentColumns = `id, title, status, impact, services, automatic, escalation, started_at, opened_at,
	acknowledged_at, acknowledged_by, resolved_at, steps_run, reminders, report, updated_at`

func scanIncident(s scanner) (upkeep.Incident, error) {
	var inc upkeep.Incident
	var services string
	var automatic int
	var started, opened, updated int64
	var acked, resolved sql.NullInt64
	var report sql.NullString
	err := s.Scan(&inc.ID, &inc.Title, &inc.Status, &inc.Impact, &services, &automatic, &inc.Escalation,
		&started, &opened, &acked, &inc.AcknowledgedBy, &resolved, &inc.StepsRun, &inc.Reminders, &report, &updated)
	if err != nil {
		return inc, err
	}
	if err := json.Unmarshal([]byte(services), &inc.Services); err != nil {
		return inc, fmt.Errorf("services of incident %d: %w", inc.ID, err)
	}
	if report.Valid {
		inc.Report = &upkeep.IncidentReport{}
		if err := json.Unmarshal([]byte(report.String), inc.Report); err != nil {
			return inc, fmt.Errorf("report of incident %d: %w", inc.ID, err)
		}
	}
	inc.Automatic = automatic == 1
	inc.StartedAt, inc.OpenedAt, inc.UpdatedAt = fromMillis(started), fromMillis(opened), fromMillis(updated)
	inc.AcknowledgedAt, inc.ResolvedAt = fromNullMillis(acked), fromNullMillis(resolved)
	return inc, nil
}

func getIncident(ctx context.Context, q querier, id int64) (upkeep.Incident, error) {
	inc, err := scanIncident(q.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, fmt.Errorf("incident %d: %w", id, upkeep.ErrNotFound)
	}
	if err != nil {
		return inc, fmt.Errorf("incident %d: %w", id, err)
	}
	if err := loadMembers(ctx, q, []*upkeep.Incident{&inc}); err != nil {
		return inc, err
	}
	return inc, nil
}

// listIncidents reads the incidents selected by tail (WHERE and ORDER BY clauses whose
// parameters are args), at most limit (-1: all), with their monitors.
func listIncidents(ctx context.Context, q querier, tail string, limit int, args ...any) ([]upkeep.Incident, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+incidentColumns+" FROM incidents "+tail+" LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var out []upkeep.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, inc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	ptrs := make([]*upkeep.Incident, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, loadMembers(ctx, q, ptrs)
}

// loadMembers loads the monitors of incs, in chunks of membersChunk incidents per query (one
// query per incident made reading 1,000 open incidents take 1,000 queries, and the manager
// reads them inside write transactions).
func loadMembers(ctx context.Context, q querier, incs []*upkeep.Incident) error {
	byID := make(map[int64]*upkeep.Incident, len(incs))
	for _, inc := range incs {
		byID[inc.ID] = inc
	}
	for chunk := range slices.Chunk(incs, membersChunk) {
		args := make([]any, len(chunk))
		for i, inc := range chunk {
			args[i] = inc.ID
		}
		rows, err := q.QueryContext(ctx, `SELECT incident, monitor, service, state, failing, since FROM incident_monitors
			WHERE incident IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) ORDER BY incident, since, monitor`, args...)
		if err != nil {
			return fmt.Errorf("monitors of incidents: %w", err)
		}
		for rows.Next() {
			var m upkeep.IncidentMonitor
			var id int64
			var failing int
			var since int64
			if err := rows.Scan(&id, &m.Monitor, &m.Service, &m.State, &failing, &since); err != nil {
				rows.Close()
				return fmt.Errorf("monitors of incident %d: %w", id, err)
			}
			m.Failing, m.Since = failing == 1, fromMillis(since)
			if inc := byID[id]; inc != nil {
				inc.Monitors = append(inc.Monitors, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("monitors of incidents: %w", err)
		}
	}
	return nil
}

// membersChunk bounds the incidents of one loadMembers query (SQLite allows 32,766 variables).
const membersChunk = 500

// outboxColumns reads a maintenance notice's missing incident as 0.
const outboxColumns = `id, key, coalesce(incident, 0), channel, event, step, payload, state, attempts, next_attempt_at,
	last_error, created_at, sent_at, failed_at`

func scanNotification(s scanner) (upkeep.Notification, error) {
	var n upkeep.Notification
	var payload string
	var next, created int64
	var sent, failed sql.NullInt64
	err := s.Scan(&n.ID, &n.Key, &n.Incident, &n.Channel, &n.Event, &n.Step, &payload, &n.State, &n.Attempts,
		&next, &n.LastError, &created, &sent, &failed)
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal([]byte(payload), &n.Payload); err != nil {
		return n, fmt.Errorf("payload of notification %s: %w", n.Key, err)
	}
	n.NextAttemptAt, n.CreatedAt = fromMillis(next), fromMillis(created)
	n.SentAt, n.FailedAt = fromNullMillis(sent), fromNullMillis(failed)
	return n, nil
}

func (db *DB) notifications(ctx context.Context, tail string, args ...any) ([]upkeep.Notification, error) {
	rows, err := db.readDB.QueryContext(ctx, "SELECT "+outboxColumns+" FROM outbox "+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	var out []upkeep.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// PendingNotifications returns up to limit pending notifications, oldest first.
func (db *DB) PendingNotifications(ctx context.Context, limit int) ([]upkeep.Notification, error) {
	return db.notifications(ctx, "WHERE state = 'pending' ORDER BY id LIMIT ?", limit)
}

// Notifications lists notifications, newest first. state is pending, sent, failed or "" (all);
// limit <= 0 means 100.
func (db *DB) Notifications(ctx context.Context, state string, limit int) ([]upkeep.Notification, error) {
	if limit <= 0 {
		limit = 100
	}
	switch state {
	case "":
		return db.notifications(ctx, "ORDER BY id DESC LIMIT ?", limit)
	case upkeep.DeliveryPending, upkeep.DeliverySent, upkeep.DeliveryFailed:
		return db.notifications(ctx, "WHERE state = ? ORDER BY id DESC LIMIT ?", state, limit)
	}
	return nil, fmt.Errorf("list notifications: unknown state %q (pending, sent, failed)", state)
}

// MarkSent records that notification id was handed to its channel.
func (db *DB) MarkSent(ctx context.Context, id int64, at time.Time, attempts int) error {
	return db.markOutbox(ctx, id, `UPDATE outbox SET state = 'sent', sent_at = ?, attempts = ?, last_error = '' WHERE id = ?`,
		millis(at), attempts, id)
}

// MarkRetry records a failed attempt of notification id, to be tried again at next.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return db.markOutbox(ctx, id, `UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`,
		attempts, millis(next), lastError, id)
}

// MarkFailed records that notification id will not be delivered.
func (db *DB) MarkFailed(ctx context.Context, id int64, at time.Time, attempts int, lastError string) error {
	return db.markOutbox(ctx, id, `UPDATE outbox SET state = 'failed', failed_at = ?, attempts = ?, last_error = ? WHERE id = ? AND state = 'pending'`,
		millis(at), attempts, lastError, id)
}

func (db *DB) markOutbox(ctx context.Context, id int64, query string, args ...any) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("update notification %d: %w", id, err)
	}
	return nil
}

// AckKey returns the key that signs acknowledgement links (generated by migration 0004).
func (db *DB) AckKey(ctx context.Context) ([]byte, error) {
	var v string
	if err := db.readDB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'ack_key'").Scan(&v); err != nil {
		return nil, fmt.Errorf("read acknowledgement key: %w", err)
	}
	return hex.DecodeString(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
