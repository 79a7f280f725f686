package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// DefaultCertExpiryWarning is the cert_expiry_warning of a check built by hand without one.
const DefaultCertExpiryWarning = 14 * 24 * time.Hour

// tlsChecker connects, takes the server's certificate chain and verifies it itself, so that
// each way a certificate can be wrong gets its own message.
type tlsChecker struct {
	address    string
	serverName string
	warn       time.Duration
	roots      *x509.CertPool
	timeout    time.Duration
}

func newTLS(s *policy.TLSCheck, o Options, timeout time.Duration) (Checker, error) {
	name := s.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(s.Address)
		if err != nil {
			return nil, fmt.Errorf("tls check: %w", err)
		}
		name = host
	}
	warn := s.CertExpiryWarning.Duration
	if warn <= 0 {
		warn = DefaultCertExpiryWarning
	}
	return &tlsChecker{address: s.Address, serverName: name, warn: warn, roots: o.RootCAs, timeout: timeout}, nil
}

func (c *tlsChecker) Check(ctx context.Context) upkeep.Result {
	return run(ctx, c.timeout, func(ctx context.Context) outcome {
		d := tls.Dialer{Config: &tls.Config{
			ServerName: c.serverName,
			// Verified below, with the chain and the time at hand, to say what exactly is wrong.
			InsecureSkipVerify: true, //nolint:gosec
		}}
		conn, err := d.DialContext(ctx, "tcp", c.address)
		if err != nil {
			return outcome{err: err}
		}
		defer conn.Close()
		state := conn.(*tls.Conn).ConnectionState()
		return verifyChain(state.PeerCertificates, c.serverName, c.roots, c.warn, time.Now())
	})
}

// verifyChain checks the certificates a server presented (leaf first) for name at now: down
// when expired, not yet valid, for another name or not trusted; degraded when a certificate of
// the chain expires within warn.
func verifyChain(certs []*x509.Certificate, name string, roots *x509.CertPool, warn time.Duration, now time.Time) outcome {
	if len(certs) == 0 {
		return down("the server sent no certificate")
	}
	leaf := certs[0]
	if now.After(leaf.NotAfter) {
		return down("certificate expired %s ago (%s)", ago(now.Sub(leaf.NotAfter)), day(leaf.NotAfter))
	}
	if now.Before(leaf.NotBefore) {
		return down("certificate not valid before %s", leaf.NotBefore.UTC().Format(time.DateTime+" UTC"))
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		return outcome{err: problem(certificateError(err))}
	}
	return outcome{degraded: expiryWarning(chains[0], warn, now)}
}

// expiryWarning says which certificate of chain expires within warn, or "".
func expiryWarning(chain []*x509.Certificate, warn time.Duration, now time.Time) string {
	var first *x509.Certificate
	for _, c := range chain {
		if first == nil || c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	if first == nil || first.NotAfter.Sub(now) >= warn {
		return ""
	}
	what := "certificate"
	if first != chain[0] {
		what = fmt.Sprintf("certificate %q of the chain", first.Subject.CommonName)
	}
	if now.After(first.NotAfter) {
		return fmt.Sprintf("%s expired %s ago (%s)", what, ago(now.Sub(first.NotAfter)), day(first.NotAfter))
	}
	return fmt.Sprintf("%s expires in %s (%s)", what, ago(first.NotAfter.Sub(now)), day(first.NotAfter))
}

// ago formats a span in the largest whole unit: "3 days", "5 hours", "12 minutes".
func ago(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

// certificateError describes a verification error of crypto/x509.
func certificateError(err error) string {
	var certErr x509.CertificateInvalidError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	switch {
	case errors.As(err, &certErr):
		return certificateInvalid(certErr)
	case errors.As(err, &hostErr):
		return wrongName(hostErr.Certificate, hostErr.Host)
	case errors.As(err, &authErr):
		return untrusted(authErr.Cert)
	}
	return strings.TrimPrefix(err.Error(), "x509: ")
}

func certificateInvalid(e x509.CertificateInvalidError) string {
	if e.Reason == x509.Expired && e.Cert != nil {
		now := time.Now()
		if now.Before(e.Cert.NotBefore) {
			return "certificate not valid before " + e.Cert.NotBefore.UTC().Format(time.DateTime+" UTC")
		}
		return fmt.Sprintf("certificate expired %s ago (%s)", ago(now.Sub(e.Cert.NotAfter)), day(e.Cert.NotAfter))
	}
	return "invalid certificate: " + strings.TrimPrefix(e.Error(), "x509: ")
}

// wrongName says which names a certificate is for, when it is not for host.
func wrongName(c *x509.Certificate, host string) string {
	var names []string
	if c != nil {
		names = append(names, c.DNSNames...)
		for _, ip := range c.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 && c.Subject.CommonName != "" {
			names = append(names, c.Subject.CommonName)
		}
	}
	if len(names) == 0 {
		return "certificate names no host, not " + host
	}
	const most = 3
	list := strings.Join(names[:min(len(names), most)], ", ")
	if len(names) > most {
		list += fmt.Sprintf(" and %d more", len(names)-most)
	}
	return fmt.Sprintf("certificate is for %s, not %s", list, host)
}

// untrusted describes a certificate whose chain ends at no trusted authority.
func untrusted(c *x509.Certificate) string {
	if c == nil {
		return "certificate signed by an unknown authority"
	}
	if c.Issuer.String() == c.Subject.String() {
		return "certificate is self-signed and not trusted"
	}
	issuer := c.Issuer.CommonName
	if issuer == "" {
		issuer = c.Issuer.String()
	}
	return fmt.Sprintf("certificate is not trusted (issued by %q, an unknown authority)", issuer)
}
