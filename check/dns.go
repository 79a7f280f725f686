package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// resolvConf is where the system's nameservers are read from when a dns check names no server.
const resolvConf = "/etc/resolv.conf"

// dnsChecker asks a DNS server directly (github.com/miekg/dns): the standard library's
// resolver cannot be pointed at one server, does not return every record type (CAA, SRV
// details) and hides the response code.
type dnsChecker struct {
	s       *policy.DNSCheck
	name    string   // fully qualified
	qtype   uint16   // dns.TypeA, ...
	servers []string // host:port, tried in order
	timeout time.Duration
}

func newDNS(s *policy.DNSCheck, timeout time.Duration) (Checker, error) {
	typ := s.Type
	if typ == "" {
		typ = "A"
	}
	qtype, ok := dns.StringToType[typ]
	if !ok {
		return nil, fmt.Errorf("dns check: unknown record type %q", typ)
	}
	name := s.Name
	if qtype == dns.TypePTR && net.ParseIP(name) != nil {
		arpa, err := dns.ReverseAddr(name)
		if err != nil {
			return nil, fmt.Errorf("dns check: %w", err)
		}
		name = arpa
	}
	c := &dnsChecker{s: s, name: dns.Fqdn(name), qtype: qtype, timeout: timeout}
	if s.Server != "" {
		server := s.Server
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(server, "53")
		}
		c.servers = []string{server}
		return c, nil
	}
	conf, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("dns check: no server set and the system's nameservers are unknown: %w", err)
	}
	for _, s := range conf.Servers {
		c.servers = append(c.servers, net.JoinHostPort(s, conf.Port))
	}
	if len(c.servers) == 0 {
		return nil, fmt.Errorf("dns check: no server set and %s names none", resolvConf)
	}
	return c, nil
}

func (c *dnsChecker) Check(ctx context.Context) upkeep.Result {
	return run(ctx, c.timeout, func(ctx context.Context) outcome {
		start := time.Now()
		resp, err := c.exchange(ctx)
		if err != nil {
			return outcome{err: err}
		}
		o := c.judge(resp)
		if o.err == nil {
			o.degraded = slow(time.Since(start), c.s.SlowAfter.Duration)
		}
		return o
	})
}

// exchange asks the servers in turn, a few times while time is left (a UDP query or its answer
// can be lost), and repeats a truncated answer over TCP.
func (c *dnsChecker) exchange(ctx context.Context) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(c.name, c.qtype)
	q.SetEdns0(1232, false)
	attempt := max(c.timeout/3, time.Second)
	var lastErr error
	for i := 0; ctx.Err() == nil; i++ {
		server := c.servers[i%len(c.servers)]
		actx, cancel := context.WithTimeout(ctx, attempt)
		client := &dns.Client{Net: "udp", Timeout: attempt}
		resp, _, err := client.ExchangeContext(actx, q, server)
		if err == nil && resp.Truncated {
			client.Net = "tcp"
			resp, _, err = client.ExchangeContext(actx, q, server)
		}
		cancel()
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var ne net.Error
		timedOut := errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		if !timedOut && i+1 >= len(c.servers) {
			return nil, err // refused or unreachable everywhere: asking again will not help
		}
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return nil, lastErr
}

// judge decides what an answer means for the check.
func (c *dnsChecker) judge(resp *dns.Msg) outcome {
	typ := dns.TypeToString[c.qtype]
	name := strings.TrimSuffix(c.name, ".")
	if resp.Rcode != dns.RcodeSuccess {
		rcode := dns.RcodeToString[resp.Rcode]
		if resp.Rcode == dns.RcodeNameError {
			return outcome{err: problem(fmt.Sprintf("no such domain %s (NXDOMAIN)", name)), code: resp.Rcode}
		}
		return outcome{err: problem(fmt.Sprintf("DNS %s for %s", rcode, name)), code: resp.Rcode}
	}
	var records [][]string // each record's forms, the canonical one first
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == c.qtype {
			records = append(records, forms(rr))
		}
	}
	if len(records) == 0 {
		return outcome{err: problem(fmt.Sprintf("no %s records for %s", typ, name))}
	}
	for _, want := range c.s.Expect {
		if !anyMatches(records, want, c.qtype == dns.TypeTXT) {
			got := make([]string, 0, len(records))
			for _, r := range records {
				got = append(got, r[0])
			}
			list := strings.Join(got[:min(len(got), 5)], ", ")
			if len(got) > 5 {
				list += fmt.Sprintf(" and %d more", len(got)-5)
			}
			return outcome{err: problem(fmt.Sprintf("%s records for %s lack %q (got %s)", typ, name, want, list))}
		}
	}
	return outcome{}
}

func anyMatches(records [][]string, want string, exact bool) bool {
	for _, r := range records {
		for _, f := range r {
			if exact && f == want || !exact && strings.EqualFold(strings.TrimSuffix(f, "."), strings.TrimSuffix(strings.TrimSpace(want), ".")) {
				return true
			}
		}
	}
	return false
}

// forms returns the ways a policy may write a record's value: "10 mail.example.com" or just
// "mail.example.com" for MX, and so on. The first is how messages show the record.
func forms(rr dns.RR) []string {
	host := func(s string) string { return strings.TrimSuffix(s, ".") }
	switch r := rr.(type) {
	case *dns.A:
		return []string{r.A.String()}
	case *dns.AAAA:
		return []string{r.AAAA.String()}
	case *dns.CNAME:
		return []string{host(r.Target)}
	case *dns.NS:
		return []string{host(r.Ns)}
	case *dns.PTR:
		return []string{host(r.Ptr)}
	case *dns.MX:
		return []string{strconv.Itoa(int(r.Preference)) + " " + host(r.Mx), host(r.Mx)}
	case *dns.TXT:
		return []string{strings.Join(r.Txt, "")}
	case *dns.SRV:
		return []string{
			fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, host(r.Target)),
			net.JoinHostPort(host(r.Target), strconv.Itoa(int(r.Port))),
			host(r.Target),
		}
	case *dns.CAA:
		return []string{
			fmt.Sprintf("%d %s %q", r.Flag, r.Tag, r.Value),
			fmt.Sprintf("%s %q", r.Tag, r.Value),
			r.Tag + " " + r.Value,
			r.Value,
		}
	}
	s := rr.String()
	return []string{s[len(rr.Header().String()):]}
}
