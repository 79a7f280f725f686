package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sendError is what senders return once scrubbed: a message without secrets, whether retrying
// can help and how long the provider asked to wait. It keeps no other error inside, so nothing
// with a secret in it can be reached by unwrapping; only context errors are kept, which have none.
type sendError struct {
	msg        string
	permanent  bool
	retryAfter time.Duration
	ctxErr     error
}

func (e *sendError) Error() string { return e.msg }

func (e *sendError) Is(target error) bool { return target == ErrPermanent && e.permanent }

func (e *sendError) Unwrap() error { return e.ctxErr }

// permanentError marks an error that a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() error        { return e.err }
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

func permanent(err error) error { return &permanentError{err} }

// StatusError is an HTTP answer other than a success.
type StatusError struct {
	Code       int
	Body       string        // the start of the answer's body, for the log
	RetryAfter time.Duration // from the Retry-After header, or the provider's own field
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is reports 4xx answers other than 408 (timeout) and 429 (rate limit) as permanent.
func (e *StatusError) Is(target error) bool {
	return target == ErrPermanent && e.Code >= 400 && e.Code < 500 && e.Code != 408 && e.Code != 429
}

// RetryAfter returns how long the provider asked to wait before the next attempt (HTTP 429 or
// 503 with Retry-After), or 0.
func RetryAfter(err error) time.Duration {
	var se *sendError
	if errors.As(err, &se) {
		return se.retryAfter
	}
	var st *StatusError
	if errors.As(err, &st) {
		return st.RetryAfter
	}
	return 0
}

// scrub turns err into a sendError with every secret of the channel replaced.
func (b *base) scrub(err error) error {
	msg := err.Error()
	for _, s := range b.secrets {
		if len(s) < 4 {
			continue // too short to replace without mangling the message; never a real secret
		}
		for _, form := range []string{s, url.PathEscape(s), url.QueryEscape(s)} {
			msg = strings.ReplaceAll(msg, form, "[redacted]")
		}
	}
	se := &sendError{msg: msg, permanent: errors.Is(err, ErrPermanent), retryAfter: RetryAfter(err)}
	switch {
	case errors.Is(err, context.Canceled):
		se.ctxErr = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		se.ctxErr = context.DeadlineExceeded
	}
	return se
}

// safeURL gives a URL as errors may show it: scheme and host only, since paths and queries of
// webhook URLs hold tokens.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// do sends req and returns the answer's body (at most 64 KiB) for a 2xx answer, or an error
// saying whether retrying can help.
func (b *base) do(req *http.Request) ([]byte, error) {
	req.Header.Set("User-Agent", b.userAgent())
	resp, err := b.opts.HTTPClient.Do(req)
	if err != nil {
		// *url.Error quotes the whole URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, safeURL(req.URL.String()), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, nil
	}
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 300 {
		snippet = snippet[:300] + "…"
	}
	st := &StatusError{Code: resp.StatusCode, Body: snippet, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), b.opts.Now())}
	return nil, fmt.Errorf("%s %s: %w", req.Method, safeURL(req.URL.String()), st)
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
