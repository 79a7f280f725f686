package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	good := []struct {
		in   string
		want time.Duration
		text string // canonical form
	}{
		{"0s", 0, "0s"},
		{"90s", 90 * time.Second, "90s"},
		{"60s", time.Minute, "1m"},
		{"1m30s", 90 * time.Second, "90s"},
		{"250ms", 250 * time.Millisecond, "250ms"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"0.5ms", 500 * time.Microsecond, "0.5ms"},
		{"15m", 15 * time.Minute, "15m"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"1.5h", 90 * time.Minute, "1h30m"},
		{"2m30s", 150 * time.Second, "2m30s"},
		{"14d", 14 * day, "14d"},
		{"2w", 14 * day, "14d"},
		{"1w1d", 8 * day, "8d"},
		{"36h", 36 * time.Hour, "1d12h"},
		{"1d0.5s", day + 500*time.Millisecond, "1d0.5s"},
		{"0.1h", 6 * time.Minute, "6m"},
		{"1000000h", 1000000 * time.Hour, "41666d16h"},
	}
	for _, tt := range good {
		d, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if d.Duration != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, d.Duration, tt.want)
		}
		text, _ := d.MarshalText()
		if string(text) != tt.text || d.String() != tt.text {
			t.Errorf("%q formats as %q, want %q", tt.in, text, tt.text)
		}
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Errorf("%q does not round-trip: %v, %v", text, back, err)
		}
	}

	bad := []struct{ in, hint string }{
		{"", durationHint},
		{"60", `add a unit, e.g. "60s"; units: ms, s, m, h, d, w`},
		{"1.5", `add a unit, e.g. "60s"; units: ms, s, m, h, d, w`},
		{"0", `add a unit, e.g. "60s"; units: ms, s, m, h, d, w`},
		{"5 minutes", durationHint},
		{"5minutes", durationHint},
		{"1h 30m", durationHint},
		{"-5m", "a duration cannot be negative"},
		{"+5m", durationHint},
		{"5us", durationHint},
		{"5ns", durationHint},
		{"1.h", durationHint},
		{".5h", durationHint},
		{"h", durationHint},
		{"1e3s", durationHint},
		{"99999999999999999999s", "too long; the longest duration is about 290 years"},
		{"200000w", "too long; the longest duration is about 290 years"},
		{"106751d23h47m16.854775807s1ms", "too long; the longest duration is about 290 years"},
	}
	for _, tt := range bad {
		_, err := ParseDuration(tt.in)
		ve, ok := err.(*valueError)
		if !ok {
			t.Errorf("ParseDuration(%q) error = %v, want a valueError", tt.in, err)
			continue
		}
		if ve.what != "duration" || ve.hint != tt.hint {
			t.Errorf("ParseDuration(%q): %q, hint %q; want hint %q", tt.in, ve.what, ve.hint, tt.hint)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("invalid duration %q", tt.in)) {
			t.Errorf("error %q does not quote the value", err)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(struct{ D Duration }{Duration{14 * 24 * time.Hour}})
	if err != nil || string(b) != `{"D":"14d"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	var v struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D":"1h30m"}`), &v); err != nil || v.D.Duration != 90*time.Minute {
		t.Errorf("unmarshal: %v, %v", v, err)
	}
}

func TestParsePercent(t *testing.T) {
	good := map[string]Percent{"99.9%": 99.9, "100%": 100, "0%": 0, "99.999%": 99.999, "50%": 50, "100.0%": 100}
	for in, want := range good {
		p, err := ParsePercent(in)
		if err != nil || p != want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", in, p, err, want)
		}
	}
	if got := Percent(99.9).String(); got != "99.9%" {
		t.Errorf("String = %q", got)
	}
	if got := Percent(99.9).Fraction(); got < 0.9989 || got > 0.9991 {
		t.Errorf("Fraction = %v", got)
	}
	if b, _ := json.Marshal(Percent(99.95)); string(b) != `"99.95%"` {
		t.Errorf("json = %s", b)
	}

	bad := map[string]string{
		"101%":    percentHint,
		"100.1%":  percentHint,
		"-1%":     percentHint,
		"99.9":    `add a percent sign, e.g. "99.9%"`,
		"99":      `add a percent sign, e.g. "99.9%"`,
		"%":       percentHint,
		"NaN%":    percentHint,
		"Inf%":    percentHint,
		"1e2%":    percentHint,
		"0x10%":   percentHint,
		"99.9 %":  percentHint,
		"ninety%": percentHint,
		".5%":     percentHint,
		"5.%":     percentHint,
		"":        percentHint,
	}
	for in, hint := range bad {
		_, err := ParsePercent(in)
		ve, ok := err.(*valueError)
		if !ok || ve.hint != hint || ve.what != "percentage" {
			t.Errorf("ParsePercent(%q) = %v; want hint %q", in, err, hint)
		}
	}
}

func TestSecretIsNeverShown(t *testing.T) {
	const value = "hunter2"
	s := Secret(value)
	if s.Reveal() != value {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	var shown []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10s"} {
		shown = append(shown, fmt.Sprintf(verb, s))
	}
	shown = append(shown, fmt.Sprint(s), fmt.Sprintf("%v", struct{ S Secret }{s}), fmt.Sprintf("%+v", &struct{ S Secret }{s}))
	b, err := json.Marshal(struct{ S Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(b))
	text, _ := s.MarshalText()
	shown = append(shown, string(text))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "secret", s)
	shown = append(shown, buf.String())
	for _, out := range shown {
		if strings.Contains(out, value) {
			t.Errorf("secret shown: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no [redacted] in %s", out)
		}
	}
}

func TestExpand(t *testing.T) {
	getenv := env(map[string]string{"A": "alpha", "EMPTY": "", "B_2": "beta"})
	tests := []struct {
		in, want  string
		fromEnv   bool
		problems  int
		unchanged bool
	}{
		{in: "plain", want: "plain", unchanged: true},
		{in: "$5 and $HOME", want: "$5 and $HOME", unchanged: true},
		{in: "${A}", want: "alpha", fromEnv: true},
		{in: "x${A}y${B_2}z", want: "xalphaybetaz", fromEnv: true},
		{in: "${MISSING:-dflt}", want: "dflt"},
		{in: "${MISSING:-}", want: ""},
		{in: "${EMPTY:-dflt}", want: "dflt"},
		{in: "${EMPTY}", want: "", fromEnv: true},
		{in: "$${A}", want: "${A}"},
		{in: "$${A} ${A}", want: "${A} alpha", fromEnv: true},
		{in: "${MISSING}", problems: 1},
		{in: "${MISSING} ${OTHER}", problems: 2},
		{in: "${}", problems: 1},
		{in: "${A-B}", problems: 1},
		{in: "${9A}", problems: 1},
		{in: "${A", problems: 1},
		{in: "${A:-x", problems: 1},
	}
	for _, tt := range tests {
		exp, problems := expand(tt.in, getenv)
		if len(problems) != tt.problems {
			t.Errorf("expand(%q): %d problems %v, want %d", tt.in, len(problems), problems, tt.problems)
			continue
		}
		if tt.problems > 0 {
			continue
		}
		if exp.value != tt.want || exp.fromEnv != tt.fromEnv || exp.expanded == tt.unchanged {
			t.Errorf("expand(%q) = %+v, want %q fromEnv=%v", tt.in, exp, tt.want, tt.fromEnv)
		}
	}
	_, problems := expand("${DB_PASSWORD}", getenv)
	if len(problems) != 1 || problems[0].message != "environment variable DB_PASSWORD is not set" {
		t.Errorf("problems = %+v", problems)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"listen", "public_url", "data_dir", "log"}
	for in, want := range map[string]string{"lgo": "log", "listne": "listen", "public-url": "public_url", "datadir": "data_dir", "Log": "log"} {
		if got, ok := suggest(in, keys); !ok || got != want {
			t.Errorf("suggest(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"x", "whatever", "port", strings.Repeat("a", 100)} {
		if got, ok := suggest(in, keys); ok {
			t.Errorf("suggest(%q) = %q, want nothing", in, got)
		}
	}
}
