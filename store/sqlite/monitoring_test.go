package sqlite

import (
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

var mt0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func result(monitor string, at time.Time, o upkeep.State, latency time.Duration) upkeep.Result {
	r := upkeep.Result{Monitor: monitor, Location: upkeep.LocalLocation, Time: at, Outcome: o, Latency: latency}
	if o == upkeep.StateDown {
		r.Error, r.Code = "connection refused", 0
	}
	return r
}

func TestRecordMonitoringIdempotentAndRoundTrip(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	rs := []upkeep.Result{
		result("api", mt0, upkeep.StateUp, 1500*time.Microsecond),
		{Monitor: "api", Location: "eu-west", Time: mt0, Outcome: upkeep.StateDown, Error: "HTTP 503", Code: 503, Latency: time.Second},
	}
	ts := []upkeep.Transition{{Monitor: "api", From: upkeep.StateUnknown, To: upkeep.StateUp, At: mt0, Cause: "check up"}}
	if err := db.RecordMonitoring(ctx, rs, ts); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordMonitoring(ctx, rs, nil); err != nil { // a batch sent twice
		t.Fatal(err)
	}
	got, err := db.Results(ctx, "api", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(got), got)
	}
	for _, r := range got {
		want := rs[0]
		if r.Location == "eu-west" {
			want = rs[1]
		}
		if r != want {
			t.Errorf("stored %+v, read back %+v", want, r)
		}
	}
	if st, _ := db.StateAt(ctx, "api", mt0.Add(time.Millisecond)); st != upkeep.StateUp {
		t.Errorf("state %s", st)
	}
	if st, _ := db.StateAt(ctx, "api", mt0); st != upkeep.StateUnknown {
		t.Errorf("state before the first transition %s", st)
	}
	if err := db.RecordMonitoring(ctx, []upkeep.Result{{Monitor: "api", Time: mt0, Outcome: "sideways"}}, nil); err == nil {
		t.Error("a result with a bad outcome was stored")
	}
}

func TestRollUpAndPrune(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	// two days of one result a minute; the 10th minute of each hour down, the 20th degraded;
	// latency is the minute of the hour in ms
	var rs []upkeep.Result
	for m := range 2 * 24 * 60 {
		at := mt0.Add(time.Duration(m) * time.Minute)
		o := upkeep.StateUp
		switch m % 60 {
		case 10:
			o = upkeep.StateDown
		case 20:
			o = upkeep.StateDegraded
		}
		rs = append(rs, result("api", at, o, time.Duration(m%60+1)*time.Millisecond))
	}
	if err := db.RecordMonitoring(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	now := mt0.Add(36*time.Hour + 30*time.Minute) // 36 hours and the first day closed
	n, err := db.RollUp(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 36+1 {
		t.Errorf("%d rollups written, want 37", n)
	}
	if again, err := db.RollUp(ctx, now); err != nil || again != 0 {
		t.Errorf("rolling up again wrote %d (%v), want nothing", again, err)
	}
	hours, err := db.Rollups(ctx, "api", time.Hour, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 36 {
		t.Fatalf("%d hourly rollups, want 36", len(hours))
	}
	h := hours[0]
	// 59 answered checks, latencies 1..60 ms but 11: p50 is the 30th (31 ms), p95 the 57th (58 ms)
	if h.Checks != 60 || h.Failures != 1 || h.Degraded != 1 || h.LatencyMax != 60*time.Millisecond ||
		h.LatencyP50 != 31*time.Millisecond || h.LatencyP95 != 58*time.Millisecond {
		t.Errorf("first hour %+v", h)
	}
	days, _ := db.Rollups(ctx, "api", Day, time.Time{}, time.Time{})
	if len(days) != 1 || days[0].Checks != 1440 || days[0].Failures != 24 {
		t.Errorf("days %+v", days)
	}
	// catch-up after a stop: the rest of the hours and the second day
	if n, err := db.RollUp(ctx, mt0.Add(50*time.Hour)); err != nil || n != 12+1 {
		t.Errorf("catch-up wrote %d (%v), want 13", n, err)
	}

	// keep 1 day of raw results, 1 day of rollups
	pruned, err := db.PruneResults(ctx, mt0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if pruned != 1440 {
		t.Errorf("pruned %d results, want 1440", pruned)
	}
	left, _ := db.Results(ctx, "api", time.Time{}, mt0.Add(24*time.Hour), MaxResultsLimit)
	if len(left) != 0 {
		t.Errorf("%d old results left", len(left))
	}
	if pruned, err := db.PruneRollups(ctx, mt0.Add(24*time.Hour)); err != nil || pruned != 25 {
		t.Errorf("pruned %d rollups (%v), want 24 hours and 1 day", pruned, err)
	}
}

func TestPruneInChunks(t *testing.T) {
	db := openTestDB(t)
	var rs []upkeep.Result
	for i := range pruneChunk*2 + 10 {
		rs = append(rs, result("busy", mt0.Add(time.Duration(i)*time.Second), upkeep.StateUp, time.Millisecond))
	}
	if err := db.RecordMonitoring(t.Context(), rs, nil); err != nil {
		t.Fatal(err)
	}
	before := db.Stats().Batches
	n, err := db.PruneResults(t.Context(), mt0.Add(time.Hour*24))
	if err != nil || n != len(rs) {
		t.Fatalf("pruned %d (%v), want %d", n, err, len(rs))
	}
	if batches := db.Stats().Batches - before; batches < 3 {
		t.Errorf("pruned in %d writes, want at least 3 chunks", batches)
	}
}

func TestSessions(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	a, _ := db.StartSession(ctx, mt0)
	if err := db.TouchSession(ctx, a, mt0.Add(time.Minute)); err != nil { // then killed
		t.Fatal(err)
	}
	b, _ := db.StartSession(ctx, mt0.Add(time.Hour))
	if err := db.EndSession(ctx, b, mt0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := db.SessionIntervals(ctx, mt0, mt0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []upkeep.Interval{{Start: mt0, End: mt0.Add(time.Minute)}, {Start: mt0.Add(time.Hour), End: mt0.Add(2 * time.Hour)}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("sessions %v, want %v", got, want)
	}
}
