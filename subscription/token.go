package subscription

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Links carry a signed token: base64url of "purpose|id|expiry|services" and 16 bytes of its
// HMAC-SHA256 under the store's subscription key. Unsubscribe tokens do not expire (RFC 8058
// links must keep working); confirmation tokens do, and carry the services asked for, so a
// confirmed subscription gets exactly what its owner confirmed.
const (
	purposeConfirm     = "c"
	purposeUnsubscribe = "u"
)

// errBadToken is the one answer to any token that is forged, damaged, expired or for another
// purpose: which of these it was is nobody's business.
var errBadToken = errors.New("this link is not valid (it may have expired or been damaged)")

type linkToken struct {
	purpose  string
	id       int64
	expires  time.Time // zero: never
	services []string
}

var b64 = base64.RawURLEncoding

func (s *Service) sign(ctx context.Context, t linkToken) (string, error) {
	key, err := s.cfg.Store.SubscriptionKey(ctx)
	if err != nil {
		return "", err
	}
	var exp int64
	if !t.expires.IsZero() {
		exp = t.expires.Unix()
	}
	payload := fmt.Sprintf("%s|%d|%d|%s", t.purpose, t.id, exp, strings.Join(t.services, ","))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(payload))
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(mac.Sum(nil)[:16]), nil
}

func (s *Service) verify(ctx context.Context, token, purpose string) (linkToken, error) {
	p64, s64, ok := strings.Cut(token, ".")
	if !ok {
		return linkToken{}, errBadToken
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(s64)
	if err1 != nil || err2 != nil {
		return linkToken{}, errBadToken
	}
	key, err := s.cfg.Store.SubscriptionKey(ctx)
	if err != nil {
		return linkToken{}, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)[:16]) {
		return linkToken{}, errBadToken
	}
	parts := strings.SplitN(string(payload), "|", 4)
	if len(parts) != 4 || parts[0] != purpose {
		return linkToken{}, errBadToken
	}
	t := linkToken{purpose: parts[0]}
	var exp int64
	if t.id, err1 = strconv.ParseInt(parts[1], 10, 64); err1 != nil {
		return linkToken{}, errBadToken
	}
	if exp, err2 = strconv.ParseInt(parts[2], 10, 64); err2 != nil {
		return linkToken{}, errBadToken
	}
	if exp != 0 {
		t.expires = time.Unix(exp, 0)
		if !s.cfg.Clock.Now().Before(t.expires) {
			return linkToken{}, errBadToken
		}
	}
	if parts[3] != "" {
		t.services = strings.Split(parts[3], ",")
	}
	return t, nil
}

// confirmURL and unsubscribeURL are the links of a subscriber's mail.
func (s *Service) confirmURL(ctx context.Context, id int64, services []string, created time.Time) (string, error) {
	t, err := s.sign(ctx, linkToken{purpose: purposeConfirm, id: id, expires: created.Add(ConfirmValidity), services: services})
	return s.publicURL() + "/subscribe/confirm/" + t, err
}

func (s *Service) unsubscribeURL(ctx context.Context, id int64) (string, error) {
	t, err := s.sign(ctx, linkToken{purpose: purposeUnsubscribe, id: id})
	return s.publicURL() + "/unsubscribe/" + t, err
}
