package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/upkeep-dev/upkeep/policy"
)

// smtpPeer is an in-process SMTP server (github.com/emersion/go-smtp) that keeps what it receives.
type smtpPeer struct {
	host, port string
	roots      *x509.CertPool
	user, pass string
	rejectRcpt string // a recipient answered with 550

	mu       sync.Mutex
	messages []received
	authed   []string
	tlsSeen  []bool
}

type received struct {
	from string
	to   []string
	data []byte
}

// startSMTP starts a server on 127.0.0.1 with a certificate for "localhost"; implicit makes it
// speak TLS from the first byte.
func startSMTP(t *testing.T, implicit bool) *smtpPeer {
	t.Helper()
	cert, roots := testCertificate(t)
	p := &smtpPeer{roots: roots, user: "upkeep", pass: "smtp-s3cret-pw", rejectRcpt: "nobody@example.com"}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &smtpSession{peer: p, tls: isTLS, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	p.host, p.port, _ = net.SplitHostPort(l.Addr().String())
	return p
}

type smtpSession struct {
	peer *smtpPeer
	tls  bool
	conn *smtp.Conn
	msg  received
	user string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.peer.user || password != s.peer.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.user = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.peer.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.msg = received{from: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.peer.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.msg.data = b
	s.peer.mu.Lock()
	s.peer.messages = append(s.peer.messages, s.msg)
	s.peer.authed = append(s.peer.authed, s.user)
	s.peer.tlsSeen = append(s.peer.tlsSeen, isTLS)
	s.peer.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

func (p *smtpPeer) received() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.messages...)
}

// testCertificate makes a self-signed certificate for localhost and 127.0.0.1.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// emailChannel loads an email channel through the policy loader, as production does.
func emailChannel(t *testing.T, p *smtpPeer, extra string) policy.Channel {
	t.Helper()
	doc := "channels:\n  mail:\n    email:\n      smtp: {host: localhost, port: " + p.port + ", username: upkeep, password: '${PW}', from: 'Upkeep <upkeep@example.com>'" + extra + "}\n" +
		"      to: [ops@example.com, 'On call <oncall@example.com>']\n      cc: [boss@example.com]\n"
	pol, err := policy.Parse("t.yaml", []byte(doc), func(string) (string, bool) { return p.pass, true })
	if err != nil {
		t.Fatal(err)
	}
	return pol.Channels["mail"]
}

func testEvent(kind string) Event {
	start := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	return Event{Kind: kind, Key: "inc-42/step-0/mail/" + kind, At: start.Add(3 * time.Minute),
		Incident: Incident{ID: "42", Title: "Public API is down", Status: "investigating", Impact: "major", Services: []string{"api"},
			Monitors: []string{"api-health"}, StartedAt: start, URL: "https://upkeep.example.com/incidents/42",
			AckURL: "https://upkeep.example.com/ack/42?sig=abc&exp=1"},
		Monitor: "api-health", State: "down", Cause: "HTTP 503 Service Unavailable"}
}

func TestEmailSTARTTLSAndAuth(t *testing.T) {
	peer := startSMTP(t, false)
	s, err := New("mail", emailChannel(t, peer, ""), Options{TLSConfig: &tls.Config{RootCAs: peer.roots}, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent(EventDown)
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	msgs := peer.received()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	if !peer.tlsSeen[0] || peer.authed[0] != "upkeep" {
		t.Errorf("tls %v, authenticated as %q", peer.tlsSeen[0], peer.authed[0])
	}
	got := msgs[0]
	if got.from != "upkeep@example.com" || strings.Join(got.to, ",") != "ops@example.com,oncall@example.com,boss@example.com" {
		t.Errorf("envelope from %q to %v", got.from, got.to)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	for name, want := range map[string]string{
		"From":              `"Upkeep" <upkeep@example.com>`,
		"To":                `<ops@example.com>, "On call" <oncall@example.com>`,
		"Cc":                `<boss@example.com>`,
		"Subject":           "[Upkeep] Public API is down",
		"X-Upkeep-Event":    "down",
		"X-Upkeep-Incident": "42",
		"X-Upkeep-Monitor":  "api-health",
		"Message-Id":        "<" + messageID(ev.Key, "example.com") + ">",
		"References":        "<incident-42@example.com>",
		"Auto-Submitted":    "auto-generated",
		"X-Mailer":          "Upkeep/1.2.3",
	} {
		if g := h.Get(name); g != want {
			t.Errorf("%s: %q, want %q", name, g, want)
		}
	}
	if d, err := h.Date(); err != nil || !d.Equal(ev.At) {
		t.Errorf("Date %v (%v), want %v", d, err, ev.At)
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(decodePart(p))
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(body)
	}
	text, html := parts["text/plain"], parts["text/html"]
	for _, want := range []string{"Public API is down.", "Monitor: api-health (down)", "Cause: HTTP 503 Service Unavailable",
		"Since: 2026-03-04 05:06 UTC", "Incident: https://upkeep.example.com/incidents/42", "Acknowledge: https://upkeep.example.com/ack/42?sig=abc&exp=1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{`<a href="https://upkeep.example.com/incidents/42"`, `<a href="https://upkeep.example.com/ack/42?sig=abc&amp;exp=1"`, ">Acknowledge</a>"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}

	// The same event again has the same Message-ID: a duplicate is recognisable.
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	again, _ := mail.ReadMessage(bytes.NewReader(peer.received()[1].data))
	if again.Header.Get("Message-Id") != h.Get("Message-Id") {
		t.Error("Message-ID differs for the same key")
	}
}

// decodePart undoes the part's Content-Transfer-Encoding (multipart.Reader does it only for
// quoted-printable).
func decodePart(p *multipart.Part) io.Reader {
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		return base64Reader(p)
	}
	return p
}

func TestEmailImplicitTLS(t *testing.T) {
	peer := startSMTP(t, true)
	s, err := New("mail", emailChannel(t, peer, ", tls: tls"), Options{TLSConfig: &tls.Config{RootCAs: peer.roots}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testEvent(EventResolved)); err != nil {
		t.Fatal(err)
	}
	if msgs := peer.received(); len(msgs) != 1 || !peer.tlsSeen[0] {
		t.Fatalf("received %d messages", len(msgs))
	}
	m, _ := mail.ReadMessage(bytes.NewReader(peer.received()[0].data))
	if m.Header.Get("Subject") != "[Upkeep] Resolved: Public API is down" {
		t.Errorf("subject %q", m.Header.Get("Subject"))
	}
}

func TestEmailErrors(t *testing.T) {
	peer := startSMTP(t, false)
	opts := Options{TLSConfig: &tls.Config{RootCAs: peer.roots}}

	// An untrusted certificate: STARTTLS is required, so nothing is sent in the clear.
	s, _ := New("mail", emailChannel(t, peer, ""), Options{})
	err := s.Send(context.Background(), testEvent(EventDown))
	if err == nil || len(peer.received()) != 0 {
		t.Fatalf("sent despite an untrusted certificate: %v", err)
	}

	// A recipient the server refuses with 550 is permanent.
	c := emailChannel(t, peer, "")
	c.Email.To = []string{"nobody@example.com"}
	c.Email.CC = nil
	s, _ = New("mail", c, opts)
	err = s.Send(context.Background(), testEvent(EventDown))
	if !errors.Is(err, ErrPermanent) {
		t.Errorf("550: %v, want a permanent error", err)
	}

	// A wrong password is permanent, and never shown.
	c = emailChannel(t, peer, "")
	c.Email.SMTP.Password = "wrong-password-123"
	s, _ = New("mail", c, opts)
	err = s.Send(context.Background(), testEvent(EventDown))
	if !errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "wrong-password-123") {
		t.Errorf("bad password: %v", err)
	}

	// No server: retryable.
	c = emailChannel(t, peer, "")
	c.Email.SMTP.Port = closedPort(t)
	s, _ = New("mail", c, opts)
	err = s.Send(context.Background(), testEvent(EventDown))
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Errorf("connection refused: %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), peer.pass) {
		t.Errorf("error shows the password: %v", err)
	}
}

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	n, _ := strconv.Atoi(port)
	return n
}

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }
