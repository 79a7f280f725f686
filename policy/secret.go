package policy

import (
	"fmt"
	"io"
	"log/slog"
)

// Secret is a string that must not be shown: a password, a token, a DSN with credentials.
// Every way of printing it (fmt, JSON, text, slog) gives "[redacted]"; Reveal gives the value
// to the code that needs it. Secrets usually come from the environment ("${SMTP_PASSWORD}"),
// and the loader never puts an expanded value into a problem message.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, so %#v does not show the value either.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter, so no verb (%d, %x, %#v, ...) shows the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
