package sqlite

import (
	"errors"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func newToken(t *testing.T, name string) (upkeep.Token, string) {
	t.Helper()
	secret, err := upkeep.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	return upkeep.Token{Name: name, Prefix: upkeep.SecretPrefix(secret)}, upkeep.HashToken(secret)
}

func TestTokens(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	db.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	ci, ciHash := newToken(t, "ci")
	if err := db.CreateToken(ctx, ci, ciHash); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := db.ActiveTokenByHash(ctx, ciHash)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	if got.Name != "ci" || got.Prefix != ci.Prefix || !got.Active() || !got.LastUsedAt.IsZero() {
		t.Errorf("lookup = %+v", got)
	}
	if want := clock.Truncate(time.Millisecond); !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want)
	}

	// An active name is taken; so is a secret.
	again, againHash := newToken(t, "ci")
	if err := db.CreateToken(ctx, again, againHash); !errors.Is(err, upkeep.ErrConflict) {
		t.Errorf("create with an active name: err = %v, want ErrConflict", err)
	}
	other, _ := newToken(t, "other")
	if err := db.CreateToken(ctx, other, ciHash); !errors.Is(err, upkeep.ErrConflict) {
		t.Errorf("create with a used secret: err = %v, want ErrConflict", err)
	}

	if _, err := db.ActiveTokenByHash(ctx, upkeep.HashToken("upk_unknown")); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("lookup of an unknown secret: err = %v, want ErrNotFound", err)
	}
	if err := db.RevokeToken(ctx, "nobody"); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("revoke unknown: err = %v, want ErrNotFound", err)
	}

	// Revoking frees the name; the revoked token no longer authenticates.
	if err := db.RevokeToken(ctx, "ci"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := db.ActiveTokenByHash(ctx, ciHash); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("lookup of a revoked token: err = %v, want ErrNotFound", err)
	}
	if err := db.RevokeToken(ctx, "ci"); !errors.Is(err, upkeep.ErrNotFound) {
		t.Errorf("revoke twice: err = %v, want ErrNotFound", err)
	}
	if err := db.CreateToken(ctx, again, againHash); err != nil {
		t.Fatalf("reuse a revoked name: %v", err)
	}
	if got, err := db.ActiveTokenByHash(ctx, againHash); err != nil || got.Prefix != again.Prefix {
		t.Errorf("lookup of the new ci: %+v, %v", got, err)
	}

	list, err := db.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Prefix != ci.Prefix || list[0].Active() || list[1].Prefix != again.Prefix || !list[1].Active() {
		t.Errorf("Tokens = %+v, want the revoked ci then the active one", list)
	}
	if !list[0].CreatedAt.Before(list[1].CreatedAt) || !list[0].RevokedAt.After(list[0].CreatedAt) {
		t.Errorf("times: %+v", list)
	}
}

func TestCreateTokenValidates(t *testing.T) {
	db := openTestDB(t)
	secret, err := upkeep.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		name, hash string
	}{
		"empty name":      {"", upkeep.HashToken(secret)},
		"secret as hash":  {"ci", secret},
		"upper-case hash": {"ci", "A" + upkeep.HashToken(secret)[1:]},
		"short hash":      {"ci", upkeep.HashToken(secret)[:40]},
		"empty hash":      {"ci", ""},
		"blank name":      {"  ", upkeep.HashToken(secret)},
	} {
		if err := db.CreateToken(t.Context(), upkeep.Token{Name: c.name}, c.hash); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if list, _ := db.Tokens(t.Context()); len(list) != 0 {
		t.Errorf("tokens stored: %+v", list)
	}
}

func TestTouchToken(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	tok, hash := newToken(t, "ci")
	if err := db.CreateToken(ctx, tok, hash); err != nil {
		t.Fatal(err)
	}
	used := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.TouchToken("ci", used)
	db.TouchToken("ci", used.Add(-time.Hour)) // late and older: ignored
	db.TouchToken("unknown", used)            // nothing to do, no error

	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := db.ActiveTokenByHash(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt.Equal(used) && db.Stats().QueueDepth == 0 && db.Stats().Writes >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := db.Stats(); s.Failed != 0 {
		t.Errorf("stats %+v: background writes failed", s)
	}
}
