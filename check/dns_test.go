package check

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/upkeep-dev/upkeep"
)

// dnsPeer runs an authoritative DNS server for example.test on a local UDP port.
func dnsPeer(t *testing.T) string {
	t.Helper()
	zone := []string{
		"example.test. 60 IN A 192.0.2.10",
		"example.test. 60 IN A 192.0.2.11",
		"example.test. 60 IN AAAA 2001:db8::10",
		"example.test. 60 IN MX 10 mail.example.test.",
		"example.test. 60 IN MX 20 backup-mail.example.test.",
		`example.test. 60 IN TXT "v=spf1 " "include:_spf.example.test -all"`,
		"example.test. 60 IN NS ns1.example.test.",
		`example.test. 60 IN CAA 0 issue "letsencrypt.org"`,
		"www.example.test. 60 IN CNAME example.test.",
		"_sip._tcp.example.test. 60 IN SRV 10 5 5060 sip.example.test.",
		"slow.example.test. 60 IN A 192.0.2.20",
		"10.2.0.192.in-addr.arpa. 60 IN PTR example.test.",
	}
	records := map[string][]dns.RR{}
	for _, s := range zone {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		records[rr.Header().Name] = append(records[rr.Header().Name], rr)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		name, qtype := q.Question[0].Name, q.Question[0].Qtype
		rrs, ok := records[dns.CanonicalName(name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
			}
		}
		if name == "slow.example.test." {
			time.Sleep(20 * time.Millisecond)
		}
		if name == "broken.example.test." {
			m.Rcode = dns.RcodeServerFailure
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	server := dnsPeer(t)
	// A server that takes queries and never answers.
	mute, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mute.Close() })
	// A port nobody listens on: the kernel answers with ICMP port unreachable.
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()

	kind := func(s string) string { return fmt.Sprintf("dns: {server: %q, %s}", server, s) }
	for _, tt := range []struct {
		name    string
		kind    string
		outcome upkeep.State
		err     string
	}{
		{"A", kind(`name: example.test`), upkeep.StateUp, ""},
		{"A expected", kind(`name: example.test, expect: [192.0.2.11, 192.0.2.10]`), upkeep.StateUp, ""},
		{"A missing", kind(`name: example.test, expect: [192.0.2.10, 192.0.2.99]`), upkeep.StateDown,
			`A records for example.test lack "192.0.2.99" (got 192.0.2.10, 192.0.2.11)`},
		{"AAAA", kind(`name: example.test, type: AAAA, expect: ["2001:db8::10"]`), upkeep.StateUp, ""},
		{"MX with preference", kind(`name: example.test, type: MX, expect: ["10 mail.example.test"]`), upkeep.StateUp, ""},
		{"MX host only", kind(`name: Example.Test., type: MX, expect: [backup-mail.example.test.]`), upkeep.StateUp, ""},
		{"MX wrong preference", kind(`name: example.test, type: MX, expect: ["20 mail.example.test"]`), upkeep.StateDown,
			`MX records for example.test lack "20 mail.example.test" (got 10 mail.example.test, 20 backup-mail.example.test)`},
		{"TXT", kind(`name: example.test, type: TXT, expect: ["v=spf1 include:_spf.example.test -all"]`), upkeep.StateUp, ""},
		{"NS", kind(`name: example.test, type: NS, expect: [ns1.example.test]`), upkeep.StateUp, ""},
		{"CAA", kind(`name: example.test, type: CAA, expect: [letsencrypt.org, 'issue "letsencrypt.org"']`), upkeep.StateUp, ""},
		{"CNAME", kind(`name: www.example.test, type: CNAME, expect: [example.test]`), upkeep.StateUp, ""},
		{"SRV", kind(`name: _sip._tcp.example.test, type: SRV, expect: ["sip.example.test:5060", "10 5 5060 sip.example.test"]`), upkeep.StateUp, ""},
		{"PTR by address", kind(`name: 192.0.2.10, type: PTR, expect: [example.test]`), upkeep.StateUp, ""},
		{"no records of the type", kind(`name: www.example.test, type: TXT`), upkeep.StateDown, "no TXT records for www.example.test"},
		{"NXDOMAIN", kind(`name: nothing.example.test`), upkeep.StateDown, "no such domain nothing.example.test (NXDOMAIN)"},
		{"SERVFAIL", kind(`name: broken.example.test`), upkeep.StateDown, "DNS SERVFAIL for broken.example.test"},
		{"slow", kind(`name: slow.example.test, slow_after: 5ms`), upkeep.StateDegraded, "slow: "},
		{"refused", fmt.Sprintf(`dns: {server: %q, name: example.test}`, closed.LocalAddr()), upkeep.StateDown, "connection refused"},
		{"timeout", fmt.Sprintf(`dns: {server: %q, name: example.test}`, mute.LocalAddr()), upkeep.StateDown, "timeout after 300ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := want(t, checker(t, monitor(t, tt.kind, "timeout: 300ms"), Options{}), tt.outcome, tt.err)
			if r.Error != tt.err && tt.outcome != upkeep.StateDegraded {
				t.Errorf("error %q, want %q", r.Error, tt.err)
			}
		})
	}
}
