package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// maxExpectRead is how much a tcp check reads while waiting for its expected text.
const maxExpectRead = 64 << 10

type tcpChecker struct {
	s       *policy.TCPCheck
	timeout time.Duration
}

func newTCP(s *policy.TCPCheck, timeout time.Duration) (Checker, error) {
	if _, _, err := net.SplitHostPort(s.Address); err != nil {
		return nil, fmt.Errorf("tcp check: %w", err)
	}
	return &tcpChecker{s: s, timeout: timeout}, nil
}

func (c *tcpChecker) Check(ctx context.Context) upkeep.Result {
	return run(ctx, c.timeout, func(ctx context.Context) outcome {
		start := time.Now()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.s.Address)
		if err != nil {
			return outcome{err: err}
		}
		defer conn.Close()
		if deadline, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(deadline)
		}
		if c.s.Send != "" {
			if _, err := io.WriteString(conn, c.s.Send); err != nil {
				return outcome{err: fmt.Errorf("sending: %w", err)}
			}
		}
		if c.s.Expect != "" {
			if err := expect(conn, []byte(c.s.Expect)); err != nil {
				return outcome{err: err}
			}
		}
		return outcome{degraded: slow(time.Since(start), c.s.SlowAfter.Duration)}
	})
}

// expect reads from conn until want has arrived, the peer closes, or the deadline passes.
func expect(conn net.Conn, want []byte) error {
	var got []byte
	buf := make([]byte, 4096)
	for len(got) < maxExpectRead {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if bytes.Contains(got, want) {
			return nil
		}
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout() && len(got) > 0:
				return problem(fmt.Sprintf("expected %s, got %s before the timeout", quoteShort(want), quoteShort(got)))
			case errors.Is(err, io.EOF) && len(got) == 0:
				return problem(fmt.Sprintf("connection closed before %s arrived", quoteShort(want)))
			case errors.Is(err, io.EOF):
				return problem(fmt.Sprintf("expected %s, got %s", quoteShort(want), quoteShort(got)))
			}
			return err
		}
	}
	return problem(fmt.Sprintf("expected %s, not in the first %d KiB (%s…)", quoteShort(want), maxExpectRead>>10, quoteShort(got[:40])))
}
