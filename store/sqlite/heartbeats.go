package sqlite

// Heartbeat monitors and their pings (migration 0003). Package heartbeat answers the pings and
// keeps each monitor's state in memory; the store is where that state survives a restart and
// where the API reads the ping history.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Kinds of ping, as stored.
const (
	PingSuccess = "success" // /ping/<uuid>
	PingStart   = "start"   // /ping/<uuid>/start
	PingFail    = "fail"    // /ping/<uuid>/fail
	PingLog     = "log"     // /ping/<uuid>/log: kept, changes nothing
	PingExit    = "exit"    // /ping/<uuid>/<0-255>: 0 is a success, anything else a failure
)

// keepPings is how many pings of each monitor are kept; older ones are deleted as new ones
// arrive (the newest completion and the newest start are always kept, the monitor's state
// depends on them). With bodies of up to 100 kB that bounds a monitor's pings to about 100 MB.
const keepPings = 1000

// pruneEvery: the pings of a monitor are pruned on every pruneEvery-th ping stored.
const pruneEvery = 64

// HeartbeatSpec is a heartbeat monitor of the policy, as ApplyHeartbeats takes it.
type HeartbeatSpec struct {
	Monitor string
	UUID    string // from the policy, lower case; empty: keep the stored one, or generate one
}

// Heartbeat is a heartbeat monitor as stored.
type Heartbeat struct {
	Monitor string
	UUID    string
	Since   time.Time // when the monitor last became an active heartbeat
}

// Ping is one ping as stored.
type Ping struct {
	Time       time.Time
	Kind       string // PingSuccess, PingStart, PingFail, PingLog or PingExit
	ExitStatus int    // for PingExit: the job's exit status (0-255); 0 otherwise
	RID        string // the run id (?rid=), empty when none was given
	// StartedAt is, for a completion (success, fail, exit) paired with a start, that start's
	// time; zero otherwise.
	StartedAt  time.Time
	Method     string
	RemoteAddr string
	UserAgent  string
	Body       []byte // as kept (at most the first 100 kB); Pings leaves it nil, see PingBody
	BodySize   int64  // bytes of body received
	Truncated  bool   // the body was longer than what was kept
}

// Duration is how long the run took: Time - StartedAt for a paired completion, 0 otherwise.
func (p Ping) Duration() time.Duration {
	if p.StartedAt.IsZero() {
		return 0
	}
	return p.Time.Sub(p.StartedAt)
}

// Completion reports whether the ping ends a run: a success, a failure or an exit status.
func (p Ping) Completion() bool {
	return p.Kind == PingSuccess || p.Kind == PingFail || p.Kind == PingExit
}

// OK reports whether a completion was a success.
func (p Ping) OK() bool {
	return p.Kind == PingSuccess || p.Kind == PingExit && p.ExitStatus == 0
}

// ErrUnknownMonitor is returned for a monitor the store has never seen.
var ErrUnknownMonitor = errors.New("unknown monitor")

// ApplyHeartbeats makes specs the active heartbeat monitors, in one durable write, and returns
// them as stored, in the order given. A monitor keeps the UUID it has unless the policy gives it
// another; one without gets a new random UUID, once. A UUID the policy gives one monitor is
// taken from any other that had it (that one gets a new UUID). Monitors not in specs keep their
// rows and UUIDs but are no longer active; a monitor that becomes active again starts a new
// since. Monitors named for the first time are created.
func (db *DB) ApplyHeartbeats(ctx context.Context, specs []HeartbeatSpec, now time.Time) ([]Heartbeat, error) {
	claimed := make(map[string]string, len(specs)) // policy UUID -> monitor
	for _, s := range specs {
		if s.Monitor == "" {
			return nil, errors.New("apply heartbeats: empty monitor name")
		}
		if s.UUID == "" {
			continue
		}
		if len(s.UUID) != 36 {
			return nil, fmt.Errorf("apply heartbeats: monitor %q: invalid UUID %q", s.Monitor, s.UUID)
		}
		if other, dup := claimed[s.UUID]; dup {
			return nil, fmt.Errorf("apply heartbeats: monitors %q and %q have the same UUID", other, s.Monitor)
		}
		claimed[s.UUID] = s.Monitor
	}
	out := make([]Heartbeat, len(specs))
	nowMs := millis(now)
	err := db.Write(ctx, func(tx *sql.Tx) error {
		type row struct {
			uuid   string
			active bool
			since  int64
		}
		ids := make(map[string]int64, len(specs))
		for _, s := range specs {
			id, err := monitorID(tx, s.Monitor, nowMs, true)
			if err != nil {
				return err
			}
			ids[s.Monitor] = id
		}
		rows := make(map[int64]row)
		names := make(map[int64]string)
		q, err := tx.Query("SELECT h.monitor, m.name, h.uuid, h.active, h.since FROM heartbeats h JOIN monitors m ON m.id = h.monitor")
		if err != nil {
			return err
		}
		for q.Next() {
			var id int64
			var name string
			var r row
			if err := q.Scan(&id, &name, &r.uuid, &r.active, &r.since); err != nil {
				q.Close()
				return err
			}
			rows[id], names[id] = r, name
		}
		if err := q.Close(); err != nil {
			return err
		}

		// The UUID each spec ends up with.
		want := make(map[int64]string, len(specs))
		for _, s := range specs {
			id := ids[s.Monitor]
			switch r, ok := rows[id]; {
			case s.UUID != "":
				want[id] = s.UUID
			case ok && (claimed[r.uuid] == "" || claimed[r.uuid] == s.Monitor):
				want[id] = r.uuid
			default:
				want[id] = newUUID()
			}
		}
		wanted := make(map[string]bool, len(want))
		for _, u := range want {
			wanted[u] = true
		}
		// First move every row whose UUID changes, or that holds a UUID another monitor is to
		// get, to a fresh random UUID, so that no assignment below meets a UUID still in use.
		for id, r := range rows {
			w, isSpec := want[id]
			if isSpec && w == r.uuid || !isSpec && !wanted[r.uuid] {
				continue
			}
			if _, err := tx.Exec("UPDATE heartbeats SET uuid = ? WHERE monitor = ?", newUUID(), id); err != nil {
				return fmt.Errorf("monitor %q: %w", names[id], err)
			}
		}
		if _, err := tx.Exec("UPDATE heartbeats SET active = 0 WHERE active = 1"); err != nil {
			return err
		}
		for i, s := range specs {
			id := ids[s.Monitor]
			r, exists := rows[id]
			since := r.since
			if !exists || !r.active {
				since = nowMs
			}
			_, err := tx.Exec("INSERT INTO heartbeats (monitor, uuid, active, since) VALUES (?, ?, 1, ?) "+
				"ON CONFLICT (monitor) DO UPDATE SET uuid = excluded.uuid, active = 1, since = excluded.since",
				id, want[id], since)
			if err != nil {
				return fmt.Errorf("monitor %q: %w", s.Monitor, err)
			}
			out[i] = Heartbeat{Monitor: s.Monitor, UUID: want[id], Since: fromMillis(since)}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply heartbeats: %w", err)
	}
	return out, nil
}

// monitorID returns the id of the monitor named name, creating it if create is set; without
// create, a monitor never seen is ErrUnknownMonitor. The monitors table is shared with the
// monitoring history (migration 0002).
func monitorID(q interface {
	QueryRow(query string, args ...any) *sql.Row
	Exec(query string, args ...any) (sql.Result, error)
}, name string, nowMs int64, create bool) (int64, error) {
	var id int64
	err := q.QueryRow("SELECT id FROM monitors WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if !create {
			return 0, fmt.Errorf("monitor %q: %w", name, ErrUnknownMonitor)
		}
		var res sql.Result
		if res, err = q.Exec("INSERT INTO monitors (name, created_at) VALUES (?, ?)", name, nowMs); err == nil {
			id, err = res.LastInsertId()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("monitor %q: %w", name, err)
	}
	return id, nil
}

// AddPing stores a ping of monitor durably. A ping at a time the monitor already has a ping at
// is an error: the caller keeps the times of a monitor's pings distinct.
func (db *DB) AddPing(ctx context.Context, monitor string, p Ping) error {
	var exit sql.NullInt64
	if p.Kind == PingExit {
		exit = sql.NullInt64{Int64: int64(p.ExitStatus), Valid: true}
	}
	var rid sql.NullString
	if p.RID != "" {
		rid = sql.NullString{String: p.RID, Valid: true}
	}
	var body []byte
	if len(p.Body) > 0 {
		body = p.Body
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		id, err := monitorID(tx, monitor, 0, false)
		if err != nil {
			return err
		}
		res, err := tx.Exec("INSERT INTO pings (monitor, time, kind, exit_status, rid, started_at, method, remote_addr, user_agent, body, body_size, truncated) "+
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			id, millis(p.Time), p.Kind, exit, rid, nullMillis(p.StartedAt), p.Method, p.RemoteAddr, p.UserAgent, body, p.BodySize, p.Truncated)
		if err != nil {
			return err
		}
		if n, err := res.LastInsertId(); err == nil && n%pruneEvery == 0 {
			return prunePings(tx, id, keepPings)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store ping of %q: %w", monitor, err)
	}
	return nil
}

// prunePings deletes the pings of a monitor beyond the newest keep, except its newest
// completion and newest start.
func prunePings(tx *sql.Tx, monitor int64, keep int) error {
	_, err := tx.Exec(`DELETE FROM pings WHERE monitor = ?1
		AND time < (SELECT time FROM pings WHERE monitor = ?1 ORDER BY time DESC LIMIT 1 OFFSET ?2)
		AND time <> coalesce((SELECT max(time) FROM pings WHERE monitor = ?1 AND kind IN ('success', 'fail', 'exit')), -1)
		AND time <> coalesce((SELECT max(time) FROM pings WHERE monitor = ?1 AND kind = 'start'), -1)`,
		monitor, keep-1)
	if err != nil {
		return fmt.Errorf("prune pings: %w", err)
	}
	return nil
}

const pingColumns = "time, kind, exit_status, rid, started_at, method, remote_addr, user_agent, body_size, truncated"

func scanPing(s scanner) (Ping, error) {
	var p Ping
	var t int64
	var exit sql.NullInt64
	var rid sql.NullString
	var started sql.NullInt64
	if err := s.Scan(&t, &p.Kind, &exit, &rid, &started, &p.Method, &p.RemoteAddr, &p.UserAgent, &p.BodySize, &p.Truncated); err != nil {
		return Ping{}, err
	}
	p.Time, p.ExitStatus, p.RID, p.StartedAt = fromMillis(t), int(exit.Int64), rid.String, fromNullMillis(started)
	return p, nil
}

// Pings returns the newest pings of monitor, newest first, at most limit (1000 if limit is
// not positive), without their bodies (see PingBody). An unknown monitor has no pings.
func (db *DB) Pings(ctx context.Context, monitor string, limit int) ([]Ping, error) {
	if limit <= 0 || limit > keepPings {
		limit = keepPings
	}
	rows, err := db.readDB.QueryContext(ctx, "SELECT "+pingColumns+" FROM pings WHERE monitor = (SELECT id FROM monitors WHERE name = ?) "+
		"ORDER BY time DESC LIMIT ?", monitor, limit)
	if err != nil {
		return nil, fmt.Errorf("read pings of %q: %w", monitor, err)
	}
	defer rows.Close()
	var out []Ping
	for rows.Next() {
		p, err := scanPing(rows)
		if err != nil {
			return nil, fmt.Errorf("read pings of %q: %w", monitor, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pings of %q: %w", monitor, err)
	}
	return out, nil
}

// PingBody returns the body kept of the ping of monitor at time at (as Pings gives it); nil
// when it had none. A ping that does not exist (or was pruned) is sql.ErrNoRows.
func (db *DB) PingBody(ctx context.Context, monitor string, at time.Time) ([]byte, error) {
	var body []byte
	err := db.readDB.QueryRowContext(ctx, "SELECT body FROM pings WHERE monitor = (SELECT id FROM monitors WHERE name = ?) AND time = ?",
		monitor, millis(at)).Scan(&body)
	if err != nil {
		return nil, fmt.Errorf("read ping body of %q: %w", monitor, err)
	}
	return body, nil
}

// HeartbeatHistory is what a heartbeat monitor's state is rebuilt from after a restart.
type HeartbeatHistory struct {
	Last       time.Time // the newest ping of any kind; zero when none
	Completion *Ping     // the newest success, failure or exit status; nil when none
	Start      *Ping     // the newest start; nil when none
	Unpaired   []Ping    // starts no completion is paired with, newest first
}

// HeartbeatHistory returns the newest pings of monitor that its state depends on, with at most
// maxUnpaired unpaired starts. A monitor without pings has an empty history.
func (db *DB) HeartbeatHistory(ctx context.Context, monitor string, maxUnpaired int) (HeartbeatHistory, error) {
	var h HeartbeatHistory
	wrap := func(err error) error { return fmt.Errorf("read heartbeat history of %q: %w", monitor, err) }
	var id int64
	err := db.readDB.QueryRowContext(ctx, "SELECT id FROM monitors WHERE name = ?", monitor).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil
	}
	if err != nil {
		return h, wrap(err)
	}
	var last sql.NullInt64
	if err := db.readDB.QueryRowContext(ctx, "SELECT max(time) FROM pings WHERE monitor = ?", id).Scan(&last); err != nil {
		return h, wrap(err)
	}
	h.Last = fromNullMillis(last)
	one := func(kinds string) (*Ping, error) {
		p, err := scanPing(db.readDB.QueryRowContext(ctx, "SELECT "+pingColumns+" FROM pings WHERE monitor = ? AND kind IN ("+kinds+") ORDER BY time DESC LIMIT 1", id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &p, nil
	}
	if h.Completion, err = one("'success', 'fail', 'exit'"); err != nil {
		return h, wrap(err)
	}
	if h.Start, err = one("'start'"); err != nil {
		return h, wrap(err)
	}
	if maxUnpaired > 0 {
		rows, err := db.readDB.QueryContext(ctx, "SELECT "+pingColumns+" FROM pings s WHERE monitor = ?1 AND kind = 'start' "+
			"AND NOT EXISTS (SELECT 1 FROM pings c WHERE c.monitor = ?1 AND c.started_at = s.time) ORDER BY time DESC LIMIT ?2", id, maxUnpaired)
		if err != nil {
			return h, wrap(err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPing(rows)
			if err != nil {
				return h, wrap(err)
			}
			h.Unpaired = append(h.Unpaired, p)
		}
		if err := rows.Err(); err != nil {
			return h, wrap(err)
		}
	}
	return h, nil
}

// newUUID returns a random (version 4) UUID in lower case.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
