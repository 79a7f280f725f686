// Package upkeep holds the domain types that Upkeep's packages share: the things the store keeps
// and the API shows. Packages named after a dependency (sqlite, httpapi) or a concern (policy)
// build on these types; this package depends on nothing but the standard library.
package upkeep

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Errors that callers test with errors.Is; stores wrap them with what was being done.
var (
	// ErrNotFound means the thing asked for does not exist (or no longer does).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write would break a uniqueness rule (a name already in use).
	ErrConflict = errors.New("already exists")
)

// Token is an API token as the store keeps it. The secret itself is never stored: only its
// SHA-256 hash, so a copy of the data directory does not give API access.
type Token struct {
	Name       string
	Prefix     string // the first characters of the secret, to recognise it in lists
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used
	RevokedAt  time.Time // zero while active
}

// Active reports whether the token may still be used.
func (t Token) Active() bool { return t.RevokedAt.IsZero() }

// MarshalJSON gives the token's public view, as the API and "upkeep token list --json" show it.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name       string     `json:"name"`
		Prefix     string     `json:"prefix"`
		CreatedAt  time.Time  `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
		RevokedAt  *time.Time `json:"revoked_at"`
		Active     bool       `json:"active"`
	}{t.Name, t.Prefix, t.CreatedAt.UTC(), optionalTime(t.LastUsedAt), optionalTime(t.RevokedAt), t.Active()})
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// TokenPrefix starts every token secret, so secret scanners and people recognise Upkeep tokens.
const TokenPrefix = "upk_"

// tokenEncoding is lower-case base32 without padding: no characters that need escaping in a
// header, a URL or a shell.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewTokenSecret returns a fresh random token secret (160 bits of entropy).
func NewTokenSecret() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return TokenPrefix + tokenEncoding.EncodeToString(b), nil
}

// HashToken returns the hex SHA-256 of a token secret. A fast hash is right here: secrets are
// long random strings, not passwords, so they cannot be guessed from the hash.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return hex.EncodeToString(sum[:])
}

// SecretPrefix returns the part of a secret that may be shown in lists and logs.
func SecretPrefix(secret string) string {
	if len(secret) > len(TokenPrefix)+4 {
		return secret[:len(TokenPrefix)+4]
	}
	return secret
}

// AuditEntry records one authenticated API request: who, what, when. The audit log is
// written before the request is handled, so it is complete even if the process dies.
type AuditEntry struct {
	ID         int64
	Time       time.Time
	Token      string // the token's name
	Method     string
	Path       string
	RequestID  string
	RemoteAddr string
}
