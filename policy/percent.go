package policy

import (
	"math"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"
)

// Percent is a percentage between 0 and 100, written with a percent sign ("99.9%") so that
// nobody wonders whether 0.999 means 99.9% or 0.999%. The value is the number before the sign.
type Percent float64

const percentHint = `a percentage between 0% and 100%, e.g. "99.9%"`

// ParsePercent parses a percentage such as "99.9%".
func ParsePercent(s string) (Percent, error) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		if isDecimal(s) {
			return 0, &valueError{what: "percentage", value: s, hint: `add a percent sign, e.g. "99.9%"`}
		}
		return 0, &valueError{what: "percentage", value: s, hint: percentHint}
	}
	// Only plain decimals: strconv.ParseFloat also takes "NaN", "Inf", hex and exponents.
	if !isDecimal(num) || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
		return 0, &valueError{what: "percentage", value: s, hint: percentHint}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || v < 0 || v > 100 {
		return 0, &valueError{what: "percentage", value: s, hint: percentHint}
	}
	return Percent(v), nil
}

// Fraction returns the percentage as a fraction between 0 and 1 (99.9% is 0.999).
func (p Percent) Fraction() float64 { return float64(p) / 100 }

// String gives the percentage as written in a policy, e.g. "99.9%".
func (p Percent) String() string {
	return strconv.FormatFloat(float64(p), 'f', -1, 64) + "%"
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Percent) UnmarshalText(text []byte) error {
	v, err := ParsePercent(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (p Percent) MarshalText() ([]byte, error) {
	return []byte(p.String()), nil
}

// JSONSchema describes a Percent in the JSON Schema of the policy file. The pattern
// also lets through values with a ${VAR} reference: those are checked once expanded.
func (Percent) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^((100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%|.*\$\{.*)$`,
		Description: "A percentage between 0% and 100%, with the percent sign, e.g. \"99.9%\".",
		Examples:    []any{"99.9%", "99.95%"},
	}
}

// kindName names the type in "expected ..., got ..." problems.
func (Percent) kindName() string { return "a percentage" }
