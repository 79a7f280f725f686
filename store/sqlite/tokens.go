package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

const tokenColumns = "name, prefix, created_at, last_used_at, revoked_at"

// CreateToken stores t with hash, the hex SHA-256 of its secret (upkeep.HashToken); the secret
// itself is never stored. A zero t.CreatedAt is set to now; t.LastUsedAt and t.RevokedAt are
// stored as given. It returns an error wrapping upkeep.ErrConflict if an active token already has
// t.Name (a revoked token's name may be reused) or the same hash.
func (db *DB) CreateToken(ctx context.Context, t upkeep.Token, hash string) error {
	if strings.TrimSpace(t.Name) == "" {
		return errors.New("create token: empty name")
	}
	if !isSHA256Hex(hash) {
		// Guards against the costly mistake of storing the secret instead of its hash.
		return fmt.Errorf("create token %q: hash must be 64 lower-case hex digits (upkeep.HashToken of the secret)", t.Name)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now()
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		var active int
		if err := tx.QueryRow("SELECT count(*) FROM tokens WHERE name = ? AND revoked_at IS NULL", t.Name).Scan(&active); err != nil {
			return err
		}
		if active > 0 {
			return fmt.Errorf("%w: an active token has that name (revoke it first)", upkeep.ErrConflict)
		}
		_, err := tx.Exec("INSERT INTO tokens (name, prefix, hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
			t.Name, t.Prefix, hash, millis(t.CreatedAt), nullMillis(t.LastUsedAt), nullMillis(t.RevokedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: a token with the same secret exists", upkeep.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

// Tokens returns every token, revoked ones included, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]upkeep.Token, error) {
	rows, err := db.readDB.QueryContext(ctx, "SELECT "+tokenColumns+" FROM tokens ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var tokens []upkeep.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// RevokeToken revokes the active token named name, now. It returns an error wrapping
// upkeep.ErrNotFound if no active token has that name.
func (db *DB) RevokeToken(ctx context.Context, name string) error {
	now := db.now()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", millis(now), name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: no active token has that name", upkeep.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	return nil
}

// ActiveTokenByHash returns the active token whose secret has hash (upkeep.HashToken). It
// returns an error wrapping upkeep.ErrNotFound if there is none or it was revoked.
func (db *DB) ActiveTokenByHash(ctx context.Context, hash string) (upkeep.Token, error) {
	row := db.readDB.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = ? AND revoked_at IS NULL", hash)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return upkeep.Token{}, fmt.Errorf("look up token: %w", upkeep.ErrNotFound)
	}
	if err != nil {
		return upkeep.Token{}, fmt.Errorf("look up token: %w", err)
	}
	return t, nil
}

// TouchToken records, in the background, that the active token named name was used at at. Its
// last use only moves forward, so late or reordered touches do no harm; a failure is logged.
func (db *DB) TouchToken(name string, at time.Time) {
	ms := millis(at)
	db.WriteAsync(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE tokens SET last_used_at = ?
			WHERE name = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?)`, ms, name, ms)
		if err != nil {
			return fmt.Errorf("touch token %q: %w", name, err)
		}
		return nil
	})
}

type scanner interface{ Scan(dest ...any) error }

func scanToken(s scanner) (upkeep.Token, error) {
	var t upkeep.Token
	var created int64
	var lastUsed, revoked sql.NullInt64
	if err := s.Scan(&t.Name, &t.Prefix, &created, &lastUsed, &revoked); err != nil {
		return upkeep.Token{}, err
	}
	t.CreatedAt = fromMillis(created)
	t.LastUsedAt = fromNullMillis(lastUsed)
	t.RevokedAt = fromNullMillis(revoked)
	return t, nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isUniqueViolation reports whether err is SQLite's UNIQUE (or PRIMARY KEY) constraint error.
func isUniqueViolation(err error) bool {
	var serr *sqlite.Error
	if !errors.As(err, &serr) {
		return false
	}
	return serr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || serr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
