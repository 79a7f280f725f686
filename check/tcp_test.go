package check

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// tcpPeer listens on a local port and runs serve for every connection.
func tcpPeer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(conn)
			}()
		}
	}()
	return l.Addr().String()
}

func TestTCP(t *testing.T) {
	// A line protocol: a banner, then PONG for PING and ERR otherwise.
	line := tcpPeer(t, func(c net.Conn) {
		fmt.Fprint(c, "220 upkeep-test ready\r\n")
		r := bufio.NewReader(c)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.TrimSpace(s) == "PING" {
				fmt.Fprint(c, "+PONG\r\n")
			} else {
				fmt.Fprint(c, "-ERR unknown\r\n")
				return
			}
		}
	})
	hangup := tcpPeer(t, func(net.Conn) {})
	silent := tcpPeer(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	slowBanner := tcpPeer(t, func(c net.Conn) {
		time.Sleep(20 * time.Millisecond)
		fmt.Fprint(c, "220 ready\r\n")
	})

	for _, tt := range []struct {
		name    string
		kind    string
		outcome upkeep.State
		err     string
	}{
		{"connect", fmt.Sprintf(`tcp: {address: %q}`, line), upkeep.StateUp, ""},
		{"banner", fmt.Sprintf(`tcp: {address: %q, expect: "220 "}`, line), upkeep.StateUp, ""},
		{"send and expect", fmt.Sprintf(`tcp: {address: %q, send: "PING\r\n", expect: "+PONG"}`, line), upkeep.StateUp, ""},
		{"wrong answer", fmt.Sprintf(`tcp: {address: %q, send: "HELLO\r\n", expect: "+PONG"}`, line), upkeep.StateDown, `expected "+PONG", got "220 upkeep-test ready\r\n-ERR unknown\r\n"`},
		{"closed before", fmt.Sprintf(`tcp: {address: %q, expect: "220"}`, hangup), upkeep.StateDown, `connection closed before "220" arrived`},
		{"silent", fmt.Sprintf(`tcp: {address: %q, expect: "220"}`, silent), upkeep.StateDown, "timeout after 200ms"},
		{"slow", fmt.Sprintf(`tcp: {address: %q, expect: "220", slow_after: 5ms}`, slowBanner), upkeep.StateDegraded, "slow: "},
		{"refused", fmt.Sprintf(`tcp: {address: %q}`, closedAddr(t)), upkeep.StateDown, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := want(t, checker(t, monitor(t, tt.kind, "timeout: 200ms"), Options{}), tt.outcome, tt.err)
			if r.Error != tt.err && tt.outcome != upkeep.StateDegraded {
				t.Errorf("error %q, want %q", r.Error, tt.err)
			}
		})
	}
}
