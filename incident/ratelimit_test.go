package incident_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
)

// TestDeliveryChannelRate: a channel's own rate and burst (channels.<name>.rate and burst in
// the policy) limit its sends: with rate 2 and burst 1, three pages go out at least half a
// second apart, however many lanes could send them at once.
func TestDeliveryChannelRate(t *testing.T) {
	rcv := &limitedReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	db, m := outage(t, "a", "b", "c")
	var asked atomic.Bool
	d := incident.NewDelivery(m, incident.DeliveryConfig{
		Senders: webhookSenders(t, srv.URL),
		Limits: func(channel string) (float64, int) {
			if channel == "hook" {
				asked.Store(true)
			}
			return 2, 1
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	waitFor(t, "three pages sent", func() bool {
		ns, err := db.Notifications(t.Context(), upkeep.DeliverySent, 10)
		return err == nil && len(ns) == 3
	})
	cancel()
	<-done
	if !asked.Load() {
		t.Error("the delivery never asked for the channel's limits")
	}
	times, keys := rcv.requests()
	if len(times) != 3 {
		t.Fatalf("%d requests (%q), want 3", len(times), keys)
	}
	// A token bucket of rate 2 and burst 1: the second page waits ~0.5 s, the third ~1 s.
	// Lower bounds only (a slow machine is later, never sooner); 50 ms of slack for the
	// receiver's clock readings.
	for i := 1; i < 3; i++ {
		want := time.Duration(i)*500*time.Millisecond - 50*time.Millisecond
		if got := times[i].Sub(times[0]); got < want {
			t.Errorf("page %d came %s after the first, want at least %s at rate 2/s, burst 1", i+1, got, want)
		}
	}
}
