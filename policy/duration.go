package policy

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
)

// Duration is a span of time written the way people write it in a policy: "90s", "15m",
// "1h30m", "1.5h", "14d", "2w". The units are ms, s, m, h, d (24 hours) and w (7 days).
// time.ParseDuration is not used because it has no days or weeks, which continuity policies
// are full of ("14-day point-in-time recovery"), and accepts units (ns, us) no policy needs.
type Duration struct {
	time.Duration
}

// durationUnit returns the unit at the start of s and its length in bytes, or zero if s does
// not start with one. "ms" is tried before "m".
func durationUnit(s string) (time.Duration, int) {
	switch {
	case strings.HasPrefix(s, "ms"):
		return time.Millisecond, 2
	case strings.HasPrefix(s, "s"):
		return time.Second, 1
	case strings.HasPrefix(s, "m"):
		return time.Minute, 1
	case strings.HasPrefix(s, "h"):
		return time.Hour, 1
	case strings.HasPrefix(s, "d"):
		return 24 * time.Hour, 1
	case strings.HasPrefix(s, "w"):
		return 7 * 24 * time.Hour, 1
	}
	return 0, 0
}

const (
	durationUnitList = "units: ms, s, m, h, d, w"
	durationHint     = `e.g. "90s", "15m", "1h30m", "14d"; ` + durationUnitList
)

// ParseDuration parses a duration such as "1h30m" or "14d". It rejects negative durations
// and numbers without a unit.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return Duration{}, &valueError{what: "duration", value: s, hint: durationHint}
	}
	if strings.HasPrefix(s, "-") {
		return Duration{}, &valueError{what: "duration", value: s, hint: "a duration cannot be negative"}
	}
	if isDecimal(s) {
		return Duration{}, &valueError{what: "duration", value: s, hint: `add a unit, e.g. "60s"; ` + durationUnitList}
	}
	var total time.Duration
	rest := s
	for rest != "" {
		// The number: digits, optionally a dot and more digits.
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		whole := rest[:i]
		frac := ""
		if i < len(rest) && rest[i] == '.' {
			j := i + 1
			for j < len(rest) && (rest[j] >= '0' && rest[j] <= '9') {
				j++
			}
			frac = rest[i+1 : j]
			if frac == "" {
				return Duration{}, &valueError{what: "duration", value: s, hint: durationHint}
			}
			i = j
		}
		if whole == "" {
			return Duration{}, &valueError{what: "duration", value: s, hint: durationHint}
		}
		rest = rest[i:]

		// The unit.
		size, n := durationUnit(rest)
		if size == 0 {
			return Duration{}, &valueError{what: "duration", value: s, hint: durationHint}
		}
		rest = rest[n:]

		part, ok := scaleDecimal(whole, frac, size)
		if !ok || total > math.MaxInt64-part {
			return Duration{}, &valueError{what: "duration", value: s, hint: "too long; the longest duration is about 290 years"}
		}
		total += part
	}
	return Duration{total}, nil
}

// scaleDecimal returns whole.frac × unit without going through floating point, so "1.5h" is
// exactly 90 minutes. It reports false on overflow.
func scaleDecimal(whole, frac string, unit time.Duration) (time.Duration, bool) {
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/int64(unit) {
		return 0, false
	}
	d := time.Duration(w) * unit
	scale := int64(unit)
	var f int64
	for _, c := range frac {
		if scale < 10 {
			break // finer than a nanosecond: dropped
		}
		scale /= 10
		f += int64(c-'0') * scale
	}
	if d > math.MaxInt64-time.Duration(f) {
		return 0, false
	}
	return d + time.Duration(f), true
}

// isDecimal reports whether s is a plain number such as "60" or "1.5".
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
		case s[i] == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with the form String gives.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// String gives the duration in a form people write and ParseDuration reads back: durations
// under two minutes in seconds ("90s", "1.5s") or milliseconds ("250ms"), longer ones as days,
// hours, minutes and seconds ("14d", "1h30m", "2m30s"). Weeks are never used: "14d" reads
// better than "2w" in a policy.
func (d Duration) String() string {
	v := d.Duration
	if v == 0 {
		return "0s"
	}
	var b strings.Builder
	if v < 0 {
		// Not produced by ParseDuration, but a Duration can be built by hand.
		b.WriteByte('-')
		if v == math.MinInt64 {
			return d.Duration.String()
		}
		v = -v
	}
	if v < 2*time.Minute && v%time.Minute != 0 {
		if v < time.Second {
			b.WriteString(decimal(int64(v), int64(time.Millisecond)))
			b.WriteString("ms")
		} else {
			b.WriteString(decimal(int64(v), int64(time.Second)))
			b.WriteString("s")
		}
		return b.String()
	}
	for _, u := range [...]struct {
		name string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if n := v / u.size; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			v -= n * u.size
		}
	}
	if v > 0 {
		b.WriteString(decimal(int64(v), int64(time.Second)))
		b.WriteString("s")
	}
	return b.String()
}

// decimal formats n/unit with as many decimals as needed and no trailing zeros.
func decimal(n, unit int64) string {
	s := strconv.FormatInt(n/unit, 10)
	rem := n % unit
	if rem == 0 {
		return s
	}
	digits := len(strconv.FormatInt(unit, 10)) - 1
	frac := strconv.FormatInt(rem, 10)
	frac = strings.Repeat("0", digits-len(frac)) + frac
	return s + "." + strings.TrimRight(frac, "0")
}

// JSONSchema describes a Duration in the JSON Schema of the policy file. The pattern
// also lets through values with a ${VAR} reference: those are checked once expanded.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^(([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+|.*\$\{.*)$`,
		Description: "A duration: a number and a unit, or several (\"90s\", \"15m\", \"1h30m\", \"1.5h\", \"14d\"). Units: ms, s, m, h, d (24h), w (7d).",
		Examples:    []any{"60s", "15m", "1h30m", "14d"},
	}
}

// kindName names the type in "expected ..., got ..." problems.
func (Duration) kindName() string { return "a duration" }
