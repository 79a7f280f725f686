package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// pingReplyWait is how long a ping check waits for replies after its last echo request.
const pingReplyWait = 2 * time.Second

// pingChecker sends ICMP echo requests with github.com/prometheus-community/pro-bing. It uses
// unprivileged ICMP ("ping") sockets where the kernel allows them (Linux:
// net.ipv4.ping_group_range includes the process's group) and raw sockets otherwise, which
// need root or CAP_NET_RAW.
type pingChecker struct {
	s       *policy.PingCheck
	count   int
	maxLoss float64 // percent
	timeout time.Duration
	// raw is set once unprivileged ICMP sockets turned out not to be allowed; the checker
	// uses raw sockets from then on.
	raw atomic.Bool
}

func newPing(s *policy.PingCheck, timeout time.Duration) (Checker, error) {
	count := s.Count
	if count <= 0 {
		count = 3
	}
	return &pingChecker{s: s, count: count, maxLoss: float64(s.MaxLoss), timeout: timeout}, nil
}

func (c *pingChecker) Check(ctx context.Context) upkeep.Result {
	return run(ctx, c.timeout, c.check)
}

func (c *pingChecker) check(ctx context.Context) outcome {
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, c.s.Host)
	if err != nil {
		return outcome{err: err}
	}
	addr := addrs[0]
	for _, a := range addrs { // IPv4 first: it is reachable from more places
		if a.IP.To4() != nil {
			addr = a
			break
		}
	}
	stats, err := c.ping(ctx, &addr, !c.raw.Load())
	if err != nil && isPermission(err) && !c.raw.Load() {
		if stats, err = c.ping(ctx, &addr, false); err == nil {
			c.raw.Store(true)
		}
	}
	if err != nil && isPermission(err) {
		return down("ICMP not permitted: run Upkeep as root or with CAP_NET_RAW, or allow unprivileged ping (sysctl net.ipv4.ping_group_range)")
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return outcome{err: err}
	}
	lost := stats.PacketsSent - stats.PacketsRecv
	if stats.PacketsRecv == 0 {
		if err != nil {
			return outcome{err: err}
		}
		if stats.PacketsSent == 0 {
			return down("no ping could be sent to %s (no route?)", addr.IP)
		}
		return down("no reply to %d pings", stats.PacketsSent)
	}
	o := outcome{latency: stats.AvgRtt}
	loss := 100 * float64(lost) / float64(max(stats.PacketsSent, 1))
	switch {
	case lost > 0 && loss > c.maxLoss:
		o.err = problem(fmt.Sprintf("%d of %d pings lost (%.0f%%, max_loss %s)", lost, stats.PacketsSent, loss, policy.Percent(c.maxLoss)))
	case lost > 0:
		o.degraded = fmt.Sprintf("%d of %d pings lost (%.0f%%)", lost, stats.PacketsSent, loss)
	default:
		if limit := c.s.SlowAfter.Duration; limit > 0 && stats.AvgRtt > limit {
			o.degraded = fmt.Sprintf("slow: average round trip %s (slow_after %s)", round(stats.AvgRtt), policy.Duration{Duration: limit})
		}
	}
	return o
}

// ping sends the echo requests and waits for the replies.
func (c *pingChecker) ping(ctx context.Context, addr *net.IPAddr, unprivileged bool) (*probing.Statistics, error) {
	p := probing.New(addr.String())
	p.SetIPAddr(addr)
	p.SetPrivileged(!unprivileged)
	p.SetLogger(probing.NoopLogger{})
	p.Count = c.count
	p.Interval = policy.PingInterval
	p.Timeout = time.Duration(c.count-1)*policy.PingInterval + pingReplyWait
	if deadline, ok := ctx.Deadline(); ok {
		// End a little before the deadline, so that lost packets are counted, not a timeout.
		p.Timeout = min(p.Timeout, time.Until(deadline)-50*time.Millisecond)
	}
	err := p.RunWithContext(ctx)
	return p.Statistics(), err
}

func isPermission(err error) bool {
	return errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EPROTONOSUPPORT)
}
