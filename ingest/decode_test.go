package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func checks(now time.Time) Checks {
	return Checks{
		Agent:     func(name string) bool { return name == "eu-west" },
		Monitor:   func(name string) bool { return name == "api" },
		Now:       now,
		Retention: 7 * 24 * time.Hour,
	}
}

func TestDecodeValues(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	long := strings.Repeat("é", 600) // 1,200 bytes
	b, err := Decode(strings.NewReader(`{"location": "eu-west", "results": [
		{"monitor": "api", "time": "2026-11-23T13:59:59.123456+02:00", "outcome": "degraded", "latency_ms": 812.25, "status": 200, "error": "`+long+`", "key": "r1"}
	]}`), checks(now))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Results) != 1 || len(b.Problems) != 0 {
		t.Fatalf("batch = %+v", b)
	}
	r := b.Results[0]
	want := upkeep.Result{Monitor: "api", Location: "eu-west", Time: time.Date(2026, 11, 23, 11, 59, 59, 123e6, time.UTC),
		Outcome: upkeep.StateDegraded, Latency: 812250 * time.Microsecond, Code: 200}
	if r.Key != "r1" || r.Error == "" {
		t.Errorf("key %q, error %q", r.Key, r.Error)
	}
	r.Error = ""
	if r.Result != want {
		t.Errorf("result = %+v, want %+v", r.Result, want)
	}
	if e := b.Results[0].Error; len(e) > MaxErrorLen || !strings.HasPrefix(long, e) || len(e) < MaxErrorLen-1 {
		t.Errorf("error cut to %d bytes (%q...), want at most %d at a character boundary", len(e), e[:10], MaxErrorLen)
	}
}

func TestDecodeProblemsNameTheField(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	b, err := Decode(strings.NewReader(`{"location": "eu-west", "results": [
		{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "latency_ms": "fast"},
		{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "latency_ms": -1},
		{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "status": 70000},
		{"monitor": "api", "time": "2026-11-23T12:00:00Z", "outcome": "up", "key": "`+strings.Repeat("k", 129)+`"},
		{"monitor": "api", "outcome": "up"},
		"up",
		{"monitor": "api", "time": "2026-11-23T12:00:00Z"}
	]}`), checks(now))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"results[0].latency_ms: string where a number was expected",
		"results[1].latency_ms: -1 is not between 0 and 86400000",
		"results[2].status: 70000 is not between 0 and 65535",
		"results[3].key: at most 128 printable characters",
		"results[4].time: missing",
		"results[5]: not a JSON object",
		"results[6].outcome: missing",
	}
	if len(b.Problems) != len(want) {
		t.Fatalf("problems = %+v", b.Problems)
	}
	for i, w := range want {
		if p := b.Problems[i]; p.Index != i || !strings.HasPrefix(p.Error, w) {
			t.Errorf("problem %d = %+v, want %q", i, p, w)
		}
	}
}
