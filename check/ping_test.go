package check

import (
	"context"
	"strings"
	"testing"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/internal/testenv"
)

func TestPing(t *testing.T) {
	c := checker(t, monitor(t, `ping: {host: 127.0.0.1, count: 2}`), Options{})
	r := c.Check(context.Background())
	testenv.Require(t, !strings.HasPrefix(r.Error, "ICMP not permitted"), "ping: %s", r.Error)
	if r.Outcome != upkeep.StateUp || r.Error != "" || r.Latency <= 0 {
		t.Errorf("ping 127.0.0.1: %s %q latency %v", r.Outcome, r.Error, r.Latency)
	}

	// A name, resolved before pinging.
	want(t, checker(t, monitor(t, `ping: {host: localhost, count: 1}`), Options{}), upkeep.StateUp, "")
	want(t, checker(t, monitor(t, `ping: {host: upkeep-test.invalid}`), Options{}), upkeep.StateDown, "no such host upkeep-test.invalid")
}
