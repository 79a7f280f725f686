package engine

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestNextSlotNoDrift(t *testing.T) {
	every := 60 * time.Second
	phase := phaseOf("api-health", every)
	if phase < 0 || phase >= every {
		t.Fatalf("phase %s outside [0, %s)", phase, every)
	}
	if phaseOf("api-health", every) != phase {
		t.Fatal("phase is not stable")
	}
	s := nextSlot(phase, every, t0)
	for k := range 100_000 {
		next := nextSlot(phase, every, s)
		if next.Sub(s) != every {
			t.Fatalf("slot %d: %s after the previous one", k, next.Sub(s))
		}
		if (next.UnixNano()-int64(phase))%int64(every) != 0 {
			t.Fatalf("slot %d at %s is off its phase", k, next)
		}
		// asking from anywhere inside the interval gives the same slot
		if got := nextSlot(phase, every, s.Add(every/2)); !got.Equal(next) {
			t.Fatalf("slot from mid-interval %s, want %s", got, next)
		}
		s = next
	}
}

func TestFirstRunsSpreadOverOneInterval(t *testing.T) {
	every := 60 * time.Second
	const n = 10_000
	buckets := make([]int, 10)
	for i := range n {
		p := phaseOf("monitor-"+itoa(i), every)
		buckets[int(p*10/every)]++
	}
	for i, b := range buckets {
		// uniform: 1,000 per sixth-second bucket; a hash far from uniform would stampede
		if b < 850 || b > 1150 {
			t.Errorf("bucket %d of the first interval has %d of %d first runs: %v", i, b, n, buckets)
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
