package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

const (
	// maxBody is how much of a body is read for body_contains, body_regex and json.
	maxBody = 1 << 20
	// maxRedirects is how many redirects are followed before the check gives up.
	maxRedirects = 10
)

// keepAliveBelow is the interval under which an http check keeps its connection open between
// checks. A kept connection costs about 30 KB in Upkeep (the transport's buffers and its two
// goroutines, more with TLS) and a socket and some memory on the server, so it is kept only where
// it is worth it: with a short interval the check measures the service rather than a new TCP and
// TLS handshake, and the connection is reused well before load balancers and servers drop idle
// ones (AWS ALB 60 s, nginx 75 s). With a longer interval every check opens a new connection and
// closes it when it is done (DisableKeepAlives: "Connection: close", one request per connection,
// HTTP/2 included), so 10,000 monitors at 60 s hold no connection between checks.
const keepAliveBelow = 45 * time.Second

// Buffer sizes of a transport's connections (net/http's default is 4 KB each). Requests are
// small; longer header lines and bodies are read and written in several pieces.
const (
	writeBufferSize = 1 << 10
	readBufferSize  = 2 << 10
)

// dialer is shared by every http check: it holds only settings.
var dialer = &net.Dialer{KeepAlive: 30 * time.Second}

// httpChecker requests a URL with its own client. A monitor that keeps its connection (see
// keepAliveBelow) has its own transport, so that no other monitor's check ever rides on its
// connection: each check measures its own. Monitors that keep none share a transport with the
// others of the same TLS settings and timeout (see sharedTransports): it holds no connection
// between checks, every check dials its own, so sharing changes nothing a check sees and saves
// the transport's few KB per monitor.
type httpChecker struct {
	s         *policy.HTTPCheck
	url       string
	method    string
	userAgent string
	client    *http.Client
	transport *http.Transport
	shared    *sharedKey // the key of transport in sharedTransports, or nil if it is the checker's own
	closed    sync.Once
	expect    []policy.StatusRange
	verify    bool
	warn      time.Duration
	timeout   time.Duration
}

func newHTTP(s *policy.HTTPCheck, o Options, every, timeout time.Duration) (Checker, error) {
	target := s.URL
	if strings.HasPrefix(target, "/") {
		if o.PublicURL == "" {
			return nil, fmt.Errorf("http check: the relative URL %s needs the server's public_url", target)
		}
		target = strings.TrimRight(o.PublicURL, "/") + target
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	// A request that cannot be built is a policy the loader should have refused; say so now.
	if _, err := http.NewRequest(method, target, nil); err != nil {
		return nil, fmt.Errorf("http check: %w", err)
	}
	follow := s.FollowRedirects == nil || *s.FollowRedirects
	verify := s.TLSVerify == nil || *s.TLSVerify
	tlsConfig := &tls.Config{RootCAs: o.RootCAs, InsecureSkipVerify: !verify} //nolint:gosec // the policy asks for it
	if s.ClientCert != "" || s.ClientKey != "" {
		cert, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("http check: loading the client certificate %s and key %s: %w", s.ClientCert, s.ClientKey, err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	keep := every > 0 && every < keepAliveBelow
	var transport *http.Transport
	var shared *sharedKey
	if keep || len(tlsConfig.Certificates) > 0 {
		transport = newTransport(tlsConfig, timeout)
		if keep {
			// One check at a time: one idle connection (two across a redirect to another host),
			// dropped if no check comes to use it within half an interval of the next one.
			transport.MaxIdleConns = 2
			transport.MaxIdleConnsPerHost = 1
			transport.IdleConnTimeout = every + every/2
		} else {
			transport.DisableKeepAlives = true
		}
	} else {
		shared = &sharedKey{roots: o.RootCAs, verify: verify, timeout: timeout}
		transport = sharedTransports.get(*shared, tlsConfig)
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !follow {
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return problem(fmt.Sprintf("more than %d redirects (last to %s)", maxRedirects, req.URL.Redacted()))
			}
			return nil
		},
	}
	expect := s.ExpectStatus
	if len(expect) == 0 {
		expect = []policy.StatusRange{{Min: 200, Max: 299}}
		if !follow {
			expect = append(expect, policy.StatusRange{Min: 300, Max: 399})
		}
	}
	warn := s.CertExpiryWarning.Duration
	if warn <= 0 {
		warn = DefaultCertExpiryWarning
	}
	version := o.Version
	if version == "" {
		version = "dev"
	}
	return &httpChecker{s: s, url: target, method: method, userAgent: "Upkeep/" + version, client: client,
		transport: transport, shared: shared, expect: expect, verify: verify, warn: warn, timeout: timeout}, nil
}

func (c *httpChecker) Close() error {
	c.closed.Do(func() {
		if c.shared != nil {
			sharedTransports.release(*c.shared)
		} else {
			c.transport.CloseIdleConnections()
		}
	})
	return nil
}

func newTransport(tlsConfig *tls.Config, timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		WriteBufferSize:       writeBufferSize,
		ReadBufferSize:        readBufferSize,
	}
}

// sharedKey is what tells shared transports apart: the TLS settings (client certificates are
// never shared: each such monitor has its own transport) and the timeout.
type sharedKey struct {
	roots   *x509.CertPool
	verify  bool
	timeout time.Duration
}

// sharedTransports are the transports without keep-alive, counted by the checkers that use them,
// so that one goes when its last checker is closed (a reload with a new RootCAs pool leaves none
// behind).
var sharedTransports = transportCache{m: map[sharedKey]*sharedTransport{}}

type transportCache struct {
	mu sync.Mutex
	m  map[sharedKey]*sharedTransport
}

type sharedTransport struct {
	t    *http.Transport
	refs int
}

func (c *transportCache) get(k sharedKey, tlsConfig *tls.Config) *http.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[k]
	if st == nil {
		t := newTransport(tlsConfig, k.timeout)
		t.DisableKeepAlives = true
		st = &sharedTransport{t: t}
		c.m[k] = st
	}
	st.refs++
	return st.t
}

func (c *transportCache) release(k sharedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[k]; st != nil {
		if st.refs--; st.refs <= 0 {
			delete(c.m, k)
		}
	}
}

func (c *httpChecker) Check(ctx context.Context) upkeep.Result {
	return run(ctx, c.timeout, c.check)
}

func (c *httpChecker) check(ctx context.Context) outcome {
	start := time.Now()
	var body io.Reader
	if c.s.Body != "" {
		body = strings.NewReader(c.s.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, body)
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("User-Agent", c.userAgent)
	for name, value := range c.s.Headers {
		if strings.EqualFold(name, "Host") {
			req.Host = value.Reveal()
			continue
		}
		req.Header.Set(name, value.Reveal())
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	code := resp.StatusCode

	if !c.statusExpected(code) {
		// Drain a little so the connection can be reused; a big error page is not worth it.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return outcome{err: problem(fmt.Sprintf("HTTP %d (expected %s)", code, c.expected())), code: code}
	}
	needBody := c.s.BodyContains != "" || c.s.BodyRegex.Regexp != nil || c.s.JSON != nil
	var data []byte
	if needBody {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return outcome{err: fmt.Errorf("reading the body: %w", err), code: code}
		}
		if msg := c.matchBody(data); msg != "" {
			return outcome{err: problem(msg), code: code}
		}
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	}
	latency := time.Since(start)

	if resp.TLS != nil {
		chain := resp.TLS.PeerCertificates
		if len(resp.TLS.VerifiedChains) > 0 {
			chain = resp.TLS.VerifiedChains[0]
		} else if len(chain) > 0 {
			chain = chain[:1] // not verified: only the server's own certificate is known to matter
		}
		if msg := expiryWarning(chain, c.warn, time.Now()); msg != "" {
			return outcome{degraded: msg, code: code, latency: latency}
		}
	}
	return outcome{degraded: slow(latency, c.s.SlowAfter.Duration), code: code, latency: latency}
}

func (c *httpChecker) statusExpected(code int) bool {
	for _, r := range c.expect {
		if r.Contains(code) {
			return true
		}
	}
	return false
}

func (c *httpChecker) expected() string {
	parts := make([]string, len(c.expect))
	for i, r := range c.expect {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// matchBody returns why the body does not match the policy, or "".
func (c *httpChecker) matchBody(data []byte) string {
	if s := c.s.BodyContains; s != "" && !bytes.Contains(data, []byte(s)) {
		return fmt.Sprintf("body does not contain %s", quoteShort([]byte(s)))
	}
	if re := c.s.BodyRegex.Regexp; re != nil && !re.Match(data) {
		return fmt.Sprintf("body does not match %s", quoteShort([]byte(re.String())))
	}
	if j := c.s.JSON; j != nil {
		if !gjson.ValidBytes(data) {
			if len(data) == maxBody {
				return "body is not JSON (or longer than 1 MiB)"
			}
			return "body is not JSON"
		}
		got := gjson.GetBytes(data, j.Path)
		if !got.Exists() {
			return fmt.Sprintf("JSON has no %s", quoteShort([]byte(j.Path)))
		}
		if j.Equals != nil && !jsonEqual(got, *j.Equals) {
			return fmt.Sprintf("JSON %s is %s, expected %s", j.Path, quoteShort([]byte(got.Raw)), quoteShort([]byte(*j.Equals)))
		}
	}
	return ""
}

// jsonEqual compares a JSON value with the policy's expected value, which YAML gave as text:
// numbers compare as numbers, booleans and null by name, strings exactly.
func jsonEqual(got gjson.Result, want string) bool {
	switch got.Type {
	case gjson.Number:
		w, err := strconv.ParseFloat(strings.TrimSpace(want), 64)
		return err == nil && w == got.Num
	case gjson.True, gjson.False:
		w, err := strconv.ParseBool(strings.TrimSpace(want))
		return err == nil && w == got.Bool()
	case gjson.Null:
		return want == "null"
	case gjson.String:
		return got.Str == want
	}
	return got.Raw == want // an object or array, written as JSON
}
