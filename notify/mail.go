package notify

import (
	"context"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/upkeep-dev/upkeep/policy"
)

// Mail is a message to one recipient who is not a channel's: a status page subscriber.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string // optional alternative
	Key     string // idempotency key: the Message-ID derives from it
	At      time.Time
	Headers map[string]string // extra headers, e.g. List-Unsubscribe
}

// SendMail makes one attempt to send m through the SMTP server and sender of e-mail channel c
// (its recipients are not used). Errors are classified as Send's are and never show the
// SMTP password or the recipient.
func SendMail(ctx context.Context, c *policy.EmailChannel, o Options, m Mail) error {
	if o.Version == "" {
		o.Version = "dev"
	}
	if m.At.IsZero() {
		m.At = time.Now()
	}
	s := &emailSender{base: &base{name: "subscribers", opts: o, secrets: []string{c.SMTP.Password.Reveal(), m.To}}, c: c}
	msg := gomail.NewMsg()
	if err := msg.From(c.SMTP.From); err != nil {
		return permanent(fmt.Errorf("from address: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return permanent(fmt.Errorf("to address: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(messageID(m.Key, mailDomain(c.SMTP.From)))
	for k, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXMailer, s.userAgent())
	msg.SetDateWithValue(m.At)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	client, err := s.client()
	if err != nil {
		return s.scrub(permanent(err))
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return s.scrub(smtpError(err))
	}
	return nil
}
