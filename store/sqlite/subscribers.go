package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/upkeep-dev/upkeep"
)

const subscriberColumns = "id, kind, address, services, secret, created_at, confirmed_at"

func scanSubscriber(s scanner) (upkeep.Subscriber, error) {
	var sub upkeep.Subscriber
	var services string
	var created int64
	var confirmed sql.NullInt64
	if err := s.Scan(&sub.ID, &sub.Kind, &sub.Address, &services, &sub.Secret, &created, &confirmed); err != nil {
		return sub, err
	}
	if err := json.Unmarshal([]byte(services), &sub.Services); err != nil {
		return sub, fmt.Errorf("subscriber %d: services: %w", sub.ID, err)
	}
	sub.CreatedAt = fromMillis(created)
	if confirmed.Valid {
		sub.ConfirmedAt = fromMillis(confirmed.Int64)
	}
	return sub, nil
}

func listSubscribers(ctx context.Context, q querier, tail string, args ...any) ([]upkeep.Subscriber, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers "+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	defer rows.Close()
	var out []upkeep.Subscriber
	for rows.Next() {
		s, err := scanSubscriber(rows)
		if err != nil {
			return nil, fmt.Errorf("list subscribers: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subscribers lists the subscribers, oldest first; kind "" means every kind.
func (db *DB) Subscribers(ctx context.Context, kind string) ([]upkeep.Subscriber, error) {
	if kind == "" {
		return listSubscribers(ctx, db.readDB, "ORDER BY id")
	}
	return listSubscribers(ctx, db.readDB, "WHERE kind = ? ORDER BY id", kind)
}

// Subscriber returns one subscriber, or an error wrapping upkeep.ErrNotFound.
func (db *DB) Subscriber(ctx context.Context, id int64) (upkeep.Subscriber, error) {
	s, err := scanSubscriber(db.readDB.QueryRowContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("subscriber %d: %w", id, upkeep.ErrNotFound)
	}
	return s, err
}

// AddSubscriber stores s (and sets its ID) and, in the same transaction, the notifications
// notices(s) returns (a confirmation mail), so that both or neither exist. An e-mail address
// that is already subscribed is not added again: its row is returned instead (existing true)
// and notices is called with it; a confirmed subscriber stays confirmed. maxPending > 0 caps
// the unconfirmed subscribers: a new one beyond it is refused with an error wrapping
// upkeep.ErrConflict.
func (db *DB) AddSubscriber(ctx context.Context, s *upkeep.Subscriber, maxPending int, notices func(upkeep.Subscriber) []upkeep.Notification) (existing bool, err error) {
	in := *s
	err = db.Write(ctx, func(tx *sql.Tx) error {
		*s = in
		existing = false
		old, err := scanSubscriber(tx.QueryRow("SELECT "+subscriberColumns+" FROM subscribers WHERE kind = ? AND address = ?", s.Kind, s.Address))
		switch {
		case err == nil:
			*s = old
			existing = true
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look up subscriber: %w", err)
		default:
			if maxPending > 0 && s.ConfirmedAt.IsZero() {
				var n int
				if err := tx.QueryRow("SELECT count(*) FROM subscribers WHERE confirmed_at IS NULL").Scan(&n); err != nil {
					return fmt.Errorf("count pending subscribers: %w", err)
				}
				if n >= maxPending {
					return fmt.Errorf("%w: %d subscriptions await confirmation already", upkeep.ErrConflict, n)
				}
			}
			services, err := json.Marshal(nonNil(s.Services))
			if err != nil {
				return err
			}
			var confirmed sql.NullInt64
			if !s.ConfirmedAt.IsZero() {
				confirmed = sql.NullInt64{Int64: millis(s.ConfirmedAt), Valid: true}
			}
			res, err := tx.Exec("INSERT INTO subscribers (kind, address, services, secret, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?)",
				s.Kind, s.Address, string(services), s.Secret, millis(s.CreatedAt), confirmed)
			if err != nil {
				return fmt.Errorf("add subscriber: %w", err)
			}
			if s.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		if notices == nil {
			return nil
		}
		t := &incidentTx{tx: tx, now: millis(db.now())}
		for _, n := range notices(*s) {
			if _, err := t.Enqueue(n); err != nil {
				return err
			}
		}
		return nil
	})
	return existing, err
}

// ConfirmSubscriber confirms subscriber id (once: a confirmed subscriber keeps its first
// confirmation time) with the services it confirmed, and returns it; an error wrapping
// upkeep.ErrNotFound if it does not exist (any more).
func (db *DB) ConfirmSubscriber(ctx context.Context, id int64, services []string, at time.Time) (upkeep.Subscriber, error) {
	js, err := json.Marshal(nonNil(services))
	if err != nil {
		return upkeep.Subscriber{}, err
	}
	var s upkeep.Subscriber
	err = db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("UPDATE subscribers SET services = ?, confirmed_at = coalesce(confirmed_at, ?) WHERE id = ?", string(js), millis(at), id)
		if err != nil {
			return fmt.Errorf("confirm subscriber: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("subscriber %d: %w", id, upkeep.ErrNotFound)
		}
		s, err = scanSubscriber(tx.QueryRow("SELECT "+subscriberColumns+" FROM subscribers WHERE id = ?", id))
		return err
	})
	return s, err
}

// RemoveSubscriber deletes subscriber id; an error wrapping upkeep.ErrNotFound if there is none.
// Its pending notices are not sent: the sender finds no subscriber.
func (db *DB) RemoveSubscriber(ctx context.Context, id int64) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM subscribers WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("remove subscriber: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("subscriber %d: %w", id, upkeep.ErrNotFound)
		}
		return nil
	})
}

// ExpireSubscribers deletes the e-mail subscriptions created before before and never confirmed,
// and returns how many.
func (db *DB) ExpireSubscribers(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM subscribers WHERE confirmed_at IS NULL AND created_at < ?", millis(before))
		if err != nil {
			return fmt.Errorf("expire subscribers: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// SubscriptionKey returns the key that signs confirmation and unsubscribe links (generated by
// migration 0007).
func (db *DB) SubscriptionKey(ctx context.Context) ([]byte, error) {
	var v string
	if err := db.readDB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'subscription_key'").Scan(&v); err != nil {
		return nil, fmt.Errorf("read subscription key: %w", err)
	}
	return hex.DecodeString(v)
}

// SubscriberTx runs fn in one write transaction (see upkeep.SubscriberTx). fn may run more
// than once.
func (db *DB) SubscriberTx(ctx context.Context, fn func(upkeep.SubscriberTx) error) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		return fn(&subscriberTx{incidentTx{tx: tx, now: millis(db.now())}})
	})
}

type subscriberTx struct{ incidentTx }

func (t *subscriberTx) Watermark() (int64, error) {
	var v string
	if err := t.tx.QueryRow("SELECT value FROM meta WHERE key = 'subscribers_watermark'").Scan(&v); err != nil {
		return 0, fmt.Errorf("read subscribers watermark: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

func (t *subscriberTx) SetWatermark(id int64) error {
	if _, err := t.tx.Exec("UPDATE meta SET value = ? WHERE key = 'subscribers_watermark'", strconv.FormatInt(id, 10)); err != nil {
		return fmt.Errorf("set subscribers watermark: %w", err)
	}
	return nil
}

func (t *subscriberTx) Subscribers() ([]upkeep.Subscriber, error) {
	return listSubscribers(bg, t.tx, "WHERE confirmed_at IS NOT NULL ORDER BY id")
}

func (t *subscriberTx) UpdatesAfter(after int64, limit int) ([]upkeep.PublicUpdate, error) {
	rows, err := t.tx.Query(`SELECT u.id, u.incident, u.at, u.kind, u.status, u.message, u.author,
			coalesce((SELECT p.status FROM incident_updates p WHERE p.incident = u.incident AND p.id < u.id ORDER BY p.id DESC LIMIT 1), ''),
			NOT EXISTS (SELECT 1 FROM incident_updates p WHERE p.incident = u.incident AND p.id < u.id)
		FROM incident_updates u WHERE u.id > ? ORDER BY u.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read incident updates: %w", err)
	}
	var out []upkeep.PublicUpdate
	for rows.Next() {
		var p upkeep.PublicUpdate
		var at int64
		var prev string
		if err := rows.Scan(&p.Update.ID, &p.Incident, &at, &p.Update.Kind, &p.Update.Status, &p.Update.Message, &p.Update.Author, &prev, &p.First); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read incident updates: %w", err)
		}
		p.Update.At = fromMillis(at)
		p.PrevStatus = upkeep.IncidentStatus(prev)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		inc, err := t.Incident(out[i].Incident)
		if err != nil {
			return nil, err
		}
		out[i].Title, out[i].Impact, out[i].Services = inc.Title, inc.Impact, inc.Services
		out[i].StartedAt, out[i].ResolvedAt = inc.StartedAt, inc.ResolvedAt
	}
	return out, nil
}
