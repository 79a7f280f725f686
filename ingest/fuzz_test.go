package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// FuzzDecode: the decoder never panics, and what it accepts is within its limits: every result
// of a known monitor, from the batch's agent, with a valid outcome, a time in the window, and
// capped values; every refused one is accounted for with a problem naming its index.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "latency_ms": 3, "status": 200, "error": "", "key": "a"}]}`,
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "2026-11-23T11:59:00.5+01:00", "outcome": "down", "error": "x"}, {}, null, 7]}`,
		`{"location": "local", "results": []}`,
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "latency_ms": 1e308, "status": 1e10}]}`,
		`{"location": "eu-west", "results": [{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "key": "\u0007"}]} trailing`,
		`{"results": [], "location": "eu-west", "location": "us-east"}`,
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := checks(now)
	f.Fuzz(func(t *testing.T, body string) {
		b, err := Decode(strings.NewReader(body), c)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if b.Location != "eu-west" {
			t.Fatalf("accepted location %q", b.Location)
		}
		if len(b.Results)+len(b.Problems) > MaxResults {
			t.Fatalf("%d results and %d problems", len(b.Results), len(b.Problems))
		}
		for _, r := range b.Results {
			switch {
			case r.Monitor != "api", r.Location != "eu-west":
				t.Fatalf("result of %q from %q", r.Monitor, r.Location)
			case r.Outcome != upkeep.StateUp && r.Outcome != upkeep.StateDegraded && r.Outcome != upkeep.StateDown:
				t.Fatalf("outcome %q", r.Outcome)
			case r.Time.After(now.Add(MaxFuture)) || r.Time.Before(now.Add(-c.Retention)):
				t.Fatalf("time %s", r.Time)
			case r.Latency < 0 || r.Latency > MaxLatency || r.Code < 0 || r.Code > MaxStatus:
				t.Fatalf("latency %s, code %d", r.Latency, r.Code)
			case len(r.Error) > MaxErrorLen || len(r.Key) > MaxKeyLen:
				t.Fatalf("error of %d bytes, key of %d", len(r.Error), len(r.Key))
			}
		}
		last := -1
		for _, p := range b.Problems {
			if p.Index <= last || !strings.HasPrefix(p.Error, "results[") {
				t.Fatalf("problem %+v after index %d", p, last)
			}
			last = p.Index
		}
	})
}
