// Package check runs the active checks of monitors: one file per kind (http, tcp, dns, tls,
// ping, sql for postgres and mysql). The passive kind, heartbeat, has no checker: jobs ping
// Upkeep instead.
//
// A check ends in one of three outcomes:
//
//   - up: the peer answered as the policy expects, within slow_after;
//   - degraded: it answered as expected, but slower than slow_after, or with a certificate that
//     expires within cert_expiry_warning, or (ping) with some packets lost, no more than max_loss;
//   - down: no answer (refused, unreachable, no such host, timeout), or a wrong one (an
//     unexpected status, a body or record that does not match, an expired, untrusted or
//     misnamed certificate, a query whose result is false or zero).
//
// Result.Error says why an outcome is not up, in a few words an on-call person can act on:
// "HTTP 503 (expected 2xx)", "connection refused", "timeout after 10s", "certificate expires in
// 3 days (2026-11-26)". It never holds a secret: driver errors are stripped of the DSN's
// password, and header values are never quoted. Result.Code is the HTTP status, or the DNS
// response code, where there is one.
//
// The monitor's timeout bounds every check: Check sets it as the context deadline, so a check
// never outlives it even if the caller's context has no deadline. Checkers keep what is worth
// keeping between checks (a small database pool; an HTTP connection, but only when the interval
// is shorter than 45 s: with longer ones each check opens and closes its own, so that idle
// monitors hold no connection, buffer or goroutine); Close releases it when the monitor goes
// away.
//
// The wire protocols come from well-kept libraries (net/http, crypto/tls, database/sql with pgx
// and go-sql-driver/mysql, github.com/miekg/dns, github.com/prometheus-community/pro-bing,
// github.com/tidwall/gjson); this package only decides what their answers mean.
package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// Checker runs one check. It fills Outcome (up, degraded or down), Latency, Error and Code; the
// caller fills Monitor, Location and Time. Check is safe to call from several goroutines, though
// the engine never runs two checks of one monitor at once.
type Checker interface {
	Check(ctx context.Context) upkeep.Result
}

// Options are what checks need to know beyond the monitor itself.
type Options struct {
	// PublicURL is the server's public_url; http checks with a path ("/healthz") are resolved
	// against it.
	PublicURL string
	// Version is Upkeep's version, sent in the User-Agent header "Upkeep/<version>"; "dev" when empty.
	Version string
	// RootCAs are the certificate authorities that http and tls checks trust; nil means the
	// system's. Tests and deployments with a private CA set it.
	RootCAs *x509.CertPool
}

// DefaultTimeout bounds a check whose monitor has no timeout (one built by hand, not loaded).
const DefaultTimeout = 10 * time.Second

// New returns the checker for monitor m. It fails for heartbeat monitors, which have none, and
// when the check cannot be set up (a client certificate that does not load, a relative URL
// without a public URL, no resolver configured).
func New(m policy.Monitor, o Options) (Checker, error) {
	timeout := m.Timeout.Duration
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var c Checker
	var err error
	switch {
	case m.HTTP != nil:
		c, err = newHTTP(m.HTTP, o, m.Every.Duration, timeout)
	case m.TCP != nil:
		c, err = newTCP(m.TCP, timeout)
	case m.DNS != nil:
		c, err = newDNS(m.DNS, timeout)
	case m.TLS != nil:
		c, err = newTLS(m.TLS, o, timeout)
	case m.Ping != nil:
		c, err = newPing(m.Ping, timeout)
	case m.Postgres != nil:
		c, err = newSQL(policy.KindPostgres, m.Postgres, timeout)
	case m.MySQL != nil:
		c, err = newSQL(policy.KindMySQL, m.MySQL, timeout)
	case m.Heartbeat != nil:
		return nil, fmt.Errorf("monitor %s: heartbeat monitors are passive and have no checker", m.Name)
	default:
		return nil, fmt.Errorf("monitor %s: no check kind set", m.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("monitor %s: %w", m.Name, err)
	}
	return c, nil
}

// Close releases what a checker keeps between checks (idle connections, a database pool). It
// does nothing for checkers that keep nothing.
func Close(c Checker) error {
	if cl, ok := c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// run is the frame every check shares: the timeout as a deadline, the latency measured around
// the work, and the work's outcome put into a Result.
func run(ctx context.Context, timeout time.Duration, work func(ctx context.Context) outcome) upkeep.Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	o := work(ctx)
	r := upkeep.Result{Latency: time.Since(start), Code: o.code}
	if o.latency > 0 {
		r.Latency = o.latency
	}
	switch {
	case o.err != nil:
		r.Outcome, r.Error = upkeep.StateDown, describe(ctx, o.err, timeout)
	case o.degraded != "":
		r.Outcome, r.Error = upkeep.StateDegraded, o.degraded
	default:
		r.Outcome = upkeep.StateUp
	}
	return r
}

// outcome is what a check found: err (down), or else degraded (why it is degraded), or else up.
type outcome struct {
	err      error
	degraded string
	code     int
	latency  time.Duration // when the check measures it better than the frame (ping: average RTT)
}

func down(format string, args ...any) outcome { return outcome{err: fmt.Errorf(format, args...)} }

// problem is an error whose text is already what Result.Error should say.
type problem string

func (p problem) Error() string { return string(p) }

// slow returns the degraded reason for a check that took latency when slow_after is limit.
func slow(latency, limit time.Duration) string {
	if limit > 0 && latency > limit {
		return fmt.Sprintf("slow: %s (slow_after %s)", round(latency), policy.Duration{Duration: limit})
	}
	return ""
}

// round shortens a latency for messages: 1.234s, 85ms.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d
}

// describe turns an error from a network library into a short text for Result.Error.
func describe(ctx context.Context, err error, timeout time.Duration) string {
	var p problem
	var dnsErr *net.DNSError
	var certErr x509.CertificateInvalidError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &p):
		return string(p)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return "timeout after " + policy.Duration{Duration: timeout}.String()
	case errors.Is(ctx.Err(), context.Canceled):
		return "check canceled"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host " + dnsErr.Name
	case errors.As(err, &dnsErr):
		return "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr):
		return certificateError(err)
	case errors.As(err, &tlsErr):
		return certificateError(tlsErr.Err)
	case errors.As(err, &recErr):
		return "the server does not speak TLS"
	case strings.Contains(err.Error(), "tls: certificate required"):
		return "the server requires a client certificate (client_cert)"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	}
	return lastPart(err)
}

// lastPart drops the wrapping that network errors carry ("Get \"https://...\": dial tcp
// 1.2.3.4:443: ..."), keeping the part that says what went wrong.
func lastPart(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		err = opErr.Err
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) && sysErr.Err != nil {
		err = sysErr.Err
	}
	return err.Error()
}

// day formats a time as the date an on-call person reads: 2026-11-26.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// quoteShort quotes text from a peer for a message, shortened so a big answer stays one line.
func quoteShort(b []byte) string {
	const most = 40
	s := string(b)
	if len(s) > most {
		return fmt.Sprintf("%q…", s[:most])
	}
	return fmt.Sprintf("%q", s)
}
