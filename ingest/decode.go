// Package ingest decodes batches of check results that remote agents send to
// POST /api/v1/results. The decoder is strict because its input comes from outside: the body
// is capped in size and in results, unknown fields are refused, every value is checked against
// the policy in force (the location must be an agent of the policy, the monitor must exist),
// times must be neither in the future nor older than the raw history kept, and strings are
// capped. A problem with the batch as a whole (not JSON, too big, unknown location) refuses the
// batch; a problem with one result refuses that result only, and says which one and why
// ("results[3].time: ..."), so that an agent can drop it instead of sending it again forever.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upkeep-dev/upkeep"
)

// Limits of a batch.
const (
	MaxBody     = 1 << 20 // bytes
	MaxResults  = 1000
	MaxFuture   = 5 * time.Minute // clocks of agents drift; more than this is a wrong clock
	MaxKeyLen   = 128
	MaxErrorLen = 1000 // bytes of a result's error; longer ones are cut (at a character boundary)
	MaxLatency  = 24 * time.Hour
	MaxStatus   = 65535
	maxNameLen  = 200 // longer than any name the policy accepts
	maxFieldLen = 40  // of the names of unknown fields, as errors quote them
)

// Checks are what the decoder checks a batch against: the policy in force and the clock.
type Checks struct {
	// Agent reports whether name is an agent of the policy.
	Agent func(name string) bool
	// Monitor reports whether name is a monitor of the policy.
	Monitor func(name string) bool
	// Now is the server's time; Retention how long raw results are kept (older ones would be
	// pruned at once).
	Now       time.Time
	Retention time.Duration
}

// Result is one decoded result, with the key the agent gave it.
type Result struct {
	upkeep.Result
	Key string
}

// Batch is a decoded batch: the results that passed, and the problems of those that did not.
type Batch struct {
	Location string
	Results  []Result
	Problems []Problem
}

// Problem says why one result was refused.
type Problem struct {
	Index int    `json:"index"`
	Key   string `json:"key,omitempty"`
	Error string `json:"error"`
}

// Error is a problem with the batch as a whole.
type Error struct {
	TooLarge bool // the body is over MaxBody
	Msg      string
}

func (e *Error) Error() string { return e.Msg }

func batchError(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// wire is the JSON of a batch: results are decoded one by one, so that a problem in one names
// its index.
type wire struct {
	Location *string           `json:"location"`
	Results  []json.RawMessage `json:"results"`
}

type wireResult struct {
	Monitor   *string  `json:"monitor"`
	Time      *string  `json:"time"`
	Outcome   *string  `json:"outcome"`
	LatencyMS *float64 `json:"latency_ms"`
	Status    *int     `json:"status"`
	Error     *string  `json:"error"`
	Key       *string  `json:"key"`
}

// Decode reads a batch from r (at most MaxBody bytes) and checks it. It returns an *Error for a
// batch that is refused as a whole.
func Decode(r io.Reader, c Checks) (Batch, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return Batch{}, &Error{TooLarge: true, Msg: fmt.Sprintf("body: larger than %d bytes", MaxBody)}
		}
		return Batch{}, batchError("body: %v", err)
	}
	if len(body) > MaxBody {
		return Batch{}, &Error{TooLarge: true, Msg: fmt.Sprintf("body: larger than %d bytes", MaxBody)}
	}
	var w wire
	if err := strict(body, &w); err != nil {
		return Batch{}, batchError("%s", describe("", err))
	}
	if w.Location == nil || *w.Location == "" {
		return Batch{}, batchError("location: missing (the agent's name, as in the policy's agents)")
	}
	loc := *w.Location
	switch {
	case loc == upkeep.LocalLocation:
		return Batch{}, batchError("location: %q is the server itself; an agent sends under its own name", loc)
	case len(loc) > maxNameLen || !c.Agent(loc):
		return Batch{}, batchError("location: %s is not an agent of the policy (agents: [{name: ...}])", quote(loc))
	}
	if w.Results == nil {
		return Batch{}, batchError("results: missing (a list of results)")
	}
	if len(w.Results) > MaxResults {
		return Batch{}, batchError("results: %d results, at most %d in one batch", len(w.Results), MaxResults)
	}
	b := Batch{Location: loc}
	for i, raw := range w.Results {
		res, key, err := decodeResult(raw, loc, c)
		if err != nil {
			b.Problems = append(b.Problems, Problem{Index: i, Key: key, Error: fmt.Sprintf("results[%d]%s", i, err)})
			continue
		}
		b.Results = append(b.Results, res)
	}
	return b, nil
}

// decodeResult decodes one result; its error starts with the field's path (".time: ...").
func decodeResult(raw json.RawMessage, loc string, c Checks) (Result, string, error) {
	var w wireResult
	if err := strict(raw, &w); err != nil {
		return Result{}, "", errors.New(describe(".", err))
	}
	key := ""
	if w.Key != nil {
		key = *w.Key
		if len(key) > MaxKeyLen || !printable(key) {
			return Result{}, "", fmt.Errorf(".key: at most %d printable characters", MaxKeyLen)
		}
	}
	fail := func(format string, args ...any) (Result, string, error) {
		return Result{}, key, fmt.Errorf(format, args...)
	}
	if w.Monitor == nil || *w.Monitor == "" {
		return fail(".monitor: missing")
	}
	if len(*w.Monitor) > maxNameLen || !c.Monitor(*w.Monitor) {
		return fail(".monitor: %s is not a monitor of the policy", quote(*w.Monitor))
	}
	r := Result{Key: key, Result: upkeep.Result{Monitor: *w.Monitor, Location: loc}}
	if w.Time == nil {
		return fail(".time: missing (RFC 3339, e.g. 2026-11-23T06:00:00Z)")
	}
	t, err := time.Parse(time.RFC3339Nano, *w.Time)
	if err != nil {
		return fail(".time: %s is not an RFC 3339 time (e.g. 2026-11-23T06:00:00Z)", quote(*w.Time))
	}
	switch {
	case t.After(c.Now.Add(MaxFuture)):
		return fail(".time: %s is %s in the future (at most %s: is the agent's clock right?)", *w.Time, t.Sub(c.Now).Round(time.Second), MaxFuture)
	case c.Retention > 0 && t.Before(c.Now.Add(-c.Retention)):
		return fail(".time: %s is older than the raw history kept (server.history.raw: %s)", *w.Time, c.Retention)
	}
	r.Time = time.UnixMilli(t.UnixMilli()).UTC() // the store keeps milliseconds
	if w.Outcome == nil {
		return fail(".outcome: missing (up, degraded or down)")
	}
	switch o := upkeep.State(*w.Outcome); o {
	case upkeep.StateUp, upkeep.StateDegraded, upkeep.StateDown:
		r.Outcome = o
	default:
		return fail(".outcome: %s is not up, degraded or down", quote(*w.Outcome))
	}
	if w.LatencyMS != nil {
		ms := *w.LatencyMS
		if ms < 0 || ms > float64(MaxLatency/time.Millisecond) {
			return fail(".latency_ms: %g is not between 0 and %d", ms, MaxLatency/time.Millisecond)
		}
		r.Latency = time.Duration(ms * float64(time.Millisecond))
	}
	if w.Status != nil {
		if *w.Status < 0 || *w.Status > MaxStatus {
			return fail(".status: %d is not between 0 and %d", *w.Status, MaxStatus)
		}
		r.Code = *w.Status
	}
	if w.Error != nil {
		r.Error = cut(*w.Error, MaxErrorLen)
	}
	return r, key, nil
}

// strict decodes one JSON value into v, refusing unknown fields and anything after the value.
func strict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// describe turns a JSON decoding error into "path: message" without quoting much of the input.
func describe(prefix string, err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return strings.TrimPrefix(prefix, ".") + ": not a JSON object"
		}
		if i := strings.IndexByte(field, '.'); i >= 0 && prefix == "" {
			field = field[:i] // results.x: the result itself is checked later
		}
		return fmt.Sprintf("%s%s: %s where %s was expected", prefix, field, typeErr.Value, typeName(typeErr.Type.String()))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("%snot valid JSON at byte %d: %v", strings.TrimSuffix(prefix, ".")+": ", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.EOF):
		return strings.TrimSuffix(prefix, ".") + ": empty; want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return strings.TrimSuffix(prefix, ".") + ": the JSON ends too early"
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Sprintf("%s%s: unknown field", prefix, cut(strings.Trim(name, `"`), maxFieldLen))
	}
	return strings.TrimSuffix(prefix, ".") + ": " + cut(strings.TrimPrefix(msg, "json: "), 200)
}

func typeName(t string) string {
	switch {
	case strings.Contains(t, "string"):
		return "a string"
	case strings.Contains(t, "int"), strings.Contains(t, "float"):
		return "a number"
	case strings.Contains(t, "[]"):
		return "a list"
	}
	return "an object"
}

// quote shows a value from the input in an error: quoted, and cut if long.
func quote(s string) string {
	return fmt.Sprintf("%q", cut(s, 80))
}

// cut shortens s to at most n bytes at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}
