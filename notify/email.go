package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/upkeep-dev/upkeep/policy"
)

// emailSender sends e-mail through SMTP with github.com/wneessen/go-mail.
type emailSender struct {
	*base
	c *policy.EmailChannel
}

func (s *emailSender) Send(ctx context.Context, ev Event) error {
	m, err := s.render(ev)
	if err != nil {
		return err
	}
	html, err := htmlBody(m, ev)
	if err != nil {
		return permanent(err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.c.SMTP.From); err != nil {
		return permanent(fmt.Errorf("from address: %w", err))
	}
	if err := msg.To(s.c.To...); err != nil {
		return permanent(fmt.Errorf("to address: %w", err))
	}
	if len(s.c.CC) > 0 {
		if err := msg.Cc(s.c.CC...); err != nil {
			return permanent(fmt.Errorf("cc address: %w", err))
		}
	}
	domain := mailDomain(s.c.SMTP.From)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(messageID(ev.Key, domain))
	if ev.Incident.ID != "" {
		// One thread per incident in mail clients: every message refers to the same root.
		thread := "<incident-" + idPart(ev.Incident.ID) + "@" + domain + ">"
		msg.SetGenHeader(gomail.HeaderReferences, thread)
		msg.SetGenHeader(gomail.HeaderInReplyTo, thread)
		msg.SetGenHeader("X-Upkeep-Incident", ev.Incident.ID)
	}
	msg.SetGenHeader("X-Upkeep-Event", ev.Kind)
	if ev.Monitor != "" {
		msg.SetGenHeader("X-Upkeep-Monitor", ev.Monitor)
	}
	// Automatic mail: no out-of-office replies to the sender.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Auto-Response-Suppress", "All")
	msg.SetGenHeader(gomail.HeaderXMailer, s.userAgent())
	msg.SetDateWithValue(ev.At)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text+"\n")
	msg.AddAlternativeString(gomail.TypeTextHTML, html)

	client, err := s.client()
	if err != nil {
		return permanent(err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return smtpError(err)
	}
	return nil
}

func (s *emailSender) client() (*gomail.Client, error) {
	smtp := s.c.SMTP
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.opts.TLSConfig != nil {
		tlsConf = s.opts.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = smtp.Host
	}
	opts := []gomail.Option{
		gomail.WithPort(smtp.Port),
		gomail.WithTimeout(30 * time.Second),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithHELO(heloName(smtp.From)),
	}
	switch smtp.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if smtp.Username != "" {
		// Auto-discovery picks the strongest mechanism the server offers (SCRAM, PLAIN, LOGIN).
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(smtp.Username), gomail.WithPassword(smtp.Password.Reveal()))
	}
	return gomail.NewClient(smtp.Host, opts...)
}

// smtpError classifies an SMTP failure: a 5xx reply (unknown recipient, refused sender,
// failed authentication) is permanent, anything else (connection, 4xx) may pass later.
func smtpError(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return permanent(err)
		}
		return err
	}
	msg := err.Error()
	// Authentication is refused with 535 before any message is sent: not a SendError.
	if strings.Contains(msg, "535") || strings.Contains(msg, "authentication failed") || strings.Contains(msg, "unsupported SMTP AUTH") {
		return permanent(err)
	}
	return err
}

// messageID derives a stable Message-ID from the event's idempotency key, so a message sent
// twice is recognisable as the same one.
func messageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return "upkeep." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// idPart makes an incident ID safe for the left side of a Message-ID.
func idPart(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_", r)) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "=%02X", r)
		}
	}
	return b.String()
}

// mailDomain is the domain of the sender's address, used in Message-IDs.
func mailDomain(from string) string {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "upkeep.invalid"
	}
	_, domain, ok := strings.Cut(a.Address, "@")
	if !ok || domain == "" {
		return "upkeep.invalid"
	}
	return domain
}

// heloName is the name Upkeep greets the SMTP server with: the sender's domain, which is more
// often a name the server accepts than the machine's host name.
func heloName(from string) string {
	if d := mailDomain(from); d != "upkeep.invalid" {
		return d
	}
	return "localhost"
}
