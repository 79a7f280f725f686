package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// tlsPeer serves TLS with cert on a local port, completing handshakes and nothing more.
func tlsPeer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
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
				_ = conn.(*tls.Conn).Handshake()
				_, _ = conn.Read(make([]byte, 1))
			}()
		}
	}()
	return l.Addr().String()
}

func TestTLS(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	names := []string{"good.example", "127.0.0.1"}
	valid := tlsPeer(t, ca.issue(t, names, now.Add(-time.Hour), now.Add(90*24*time.Hour), false))
	soon := now.Add(3*24*time.Hour + time.Hour)
	expiring := tlsPeer(t, ca.issue(t, names, now.Add(-80*24*time.Hour), soon, false))
	hours := tlsPeer(t, ca.issue(t, names, now.Add(-80*24*time.Hour), now.Add(5*time.Hour+time.Minute), false))
	gone := now.Add(-2*24*time.Hour - time.Hour)
	expired := tlsPeer(t, ca.issue(t, names, now.Add(-90*24*time.Hour), gone, false))
	later := now.Add(24 * time.Hour).Truncate(time.Second)
	future := tlsPeer(t, ca.issue(t, names, later, now.Add(90*24*time.Hour), false))
	trusted := Options{RootCAs: ca.pool}

	for _, tt := range []struct {
		name    string
		kind    string
		opts    Options
		outcome upkeep.State
		err     string
	}{
		{"valid", fmt.Sprintf(`tls: {address: %q, server_name: good.example}`, valid), trusted, upkeep.StateUp, ""},
		{"by IP address", fmt.Sprintf(`tls: {address: %q}`, valid), trusted, upkeep.StateUp, ""},
		{"expires soon", fmt.Sprintf(`tls: {address: %q, server_name: good.example}`, expiring), trusted, upkeep.StateDegraded,
			"certificate expires in 3 days (" + day(soon) + ")"},
		{"expires in hours", fmt.Sprintf(`tls: {address: %q, server_name: good.example}`, hours), trusted, upkeep.StateDegraded,
			"certificate expires in 5 hours (" + day(now.Add(5*time.Hour+time.Minute)) + ")"},
		{"warning set lower", fmt.Sprintf(`tls: {address: %q, server_name: good.example, cert_expiry_warning: 2}`, expiring), trusted, upkeep.StateUp, ""},
		{"expired", fmt.Sprintf(`tls: {address: %q, server_name: good.example}`, expired), trusted, upkeep.StateDown,
			"certificate expired 2 days ago (" + day(gone) + ")"},
		{"not yet valid", fmt.Sprintf(`tls: {address: %q, server_name: good.example}`, future), trusted, upkeep.StateDown,
			"certificate not valid before " + later.UTC().Format("2006-01-02 15:04:05") + " UTC"},
		{"wrong name", fmt.Sprintf(`tls: {address: %q, server_name: bad.example}`, valid), trusted, upkeep.StateDown,
			"certificate is for good.example, 127.0.0.1, not bad.example"},
		{"untrusted", fmt.Sprintf(`tls: {address: %q, server_name: good.example}`, valid), Options{}, upkeep.StateDown,
			`certificate is not trusted (issued by "Upkeep test CA", an unknown authority)`},
		{"refused", fmt.Sprintf(`tls: {address: %q}`, closedAddr(t)), trusted, upkeep.StateDown, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := want(t, checker(t, monitor(t, tt.kind), tt.opts), tt.outcome, tt.err)
			if r.Error != tt.err {
				t.Errorf("error %q, want %q", r.Error, tt.err)
			}
		})
	}

	// A server that answers in plain text.
	plain := tcpPeer(t, func(c net.Conn) { fmt.Fprint(c, "HTTP/1.0 400 Bad Request\r\n\r\n") })
	r := checker(t, monitor(t, fmt.Sprintf(`tls: {address: %q}`, plain)), trusted).Check(context.Background())
	if r.Outcome != upkeep.StateDown || r.Error != "the server does not speak TLS" {
		t.Errorf("plain text server: %s %q", r.Outcome, r.Error)
	}
}
