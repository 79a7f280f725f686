package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// target serves the paths the HTTP tests ask for.
func target(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "all ok\n") })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok","checks":[{"name":"db","ok":true}],"queue":0,"version":"1.2.0"}`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s ua=%s token=%s host=%s body=%s", r.Method, r.URL.Path, r.UserAgent(), r.Header.Get("X-Token"), r.Host, body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := target(t)
	u := func(path string) string { return fmt.Sprintf("%q", srv.URL+path) }
	tests := []struct {
		name    string
		kind    string
		extra   []string
		outcome upkeep.State
		err     string
		code    int
	}{
		{"up", `http: {url: ` + u("/ok") + `}`, nil, upkeep.StateUp, "", 200},
		{"unexpected status", `http: {url: ` + u("/fail") + `}`, nil, upkeep.StateDown, "HTTP 503 (expected 2xx)", 503},
		{"expected status", `http: {url: ` + u("/fail") + `, expect_status: [200, "500-503"]}`, nil, upkeep.StateUp, "", 503},
		{"status list in message", `http: {url: ` + u("/ok") + `, expect_status: [204, "3xx"]}`, nil, upkeep.StateDown, "HTTP 200 (expected 204, 3xx)", 200},
		{"redirect followed", `http: {url: ` + u("/moved") + `}`, nil, upkeep.StateUp, "", 200},
		{"redirect not followed", `http: {url: ` + u("/moved") + `, follow_redirects: false}`, nil, upkeep.StateUp, "", 302},
		{"redirect not followed, 200 expected", `http: {url: ` + u("/moved") + `, follow_redirects: false, expect_status: [200]}`, nil, upkeep.StateDown, "HTTP 302 (expected 200)", 302},
		{"redirect loop", `http: {url: ` + u("/loop") + `}`, nil, upkeep.StateDown, "more than 10 redirects (last to " + srv.URL + "/loop)", 0},
		{"body contains", `http: {url: ` + u("/ok") + `, body_contains: "all ok"}`, nil, upkeep.StateUp, "", 200},
		{"body does not contain", `http: {url: ` + u("/ok") + `, body_contains: "healthy"}`, nil, upkeep.StateDown, `body does not contain "healthy"`, 200},
		{"body regex", `http: {url: ` + u("/ok") + `, body_regex: "^all (ok|fine)$"}`, nil, upkeep.StateDown, `body does not match "^all (ok|fine)$"`, 200},
		{"body regex multiline", `http: {url: ` + u("/ok") + `, body_regex: "(?m)^all (ok|fine)$"}`, nil, upkeep.StateUp, "", 200},
		{"json string", `http: {url: ` + u("/json") + `, json: {path: status, equals: ok}}`, nil, upkeep.StateUp, "", 200},
		{"json number", `http: {url: ` + u("/json") + `, json: {path: queue, equals: 0.0}}`, nil, upkeep.StateUp, "", 200},
		{"json bool", `http: {url: ` + u("/json") + `, json: {path: checks.0.ok, equals: true}}`, nil, upkeep.StateUp, "", 200},
		{"json query", `http: {url: ` + u("/json") + `, json: {path: "checks.#(name==db).ok", equals: true}}`, nil, upkeep.StateUp, "", 200},
		{"json exists", `http: {url: ` + u("/json") + `, json: {path: version}}`, nil, upkeep.StateUp, "", 200},
		{"json differs", `http: {url: ` + u("/json") + `, json: {path: status, equals: healthy}}`, nil, upkeep.StateDown, `JSON status is "\"ok\"", expected "healthy"`, 200},
		{"json missing", `http: {url: ` + u("/json") + `, json: {path: uptime}}`, nil, upkeep.StateDown, `JSON has no "uptime"`, 200},
		{"not json", `http: {url: ` + u("/ok") + `, json: {path: status}}`, nil, upkeep.StateDown, "body is not JSON", 200},
		{"slow", `http: {url: ` + u("/slow") + `, slow_after: 1ms}`, nil, upkeep.StateDegraded, "slow: ", 200},
		{"timeout", `http: {url: ` + u("/hang") + `}`, []string{"timeout: 200ms"}, upkeep.StateDown, "timeout after 200ms", 0},
		{"refused", fmt.Sprintf(`http: {url: "http://%s/"}`, closedAddr(t)), nil, upkeep.StateDown, "connection refused", 0},
		{"no such host", `http: {url: "http://upkeep-test.invalid/"}`, nil, upkeep.StateDown, "no such host upkeep-test.invalid", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := checker(t, monitor(t, tt.kind, tt.extra...), Options{})
			r := want(t, c, tt.outcome, tt.err)
			if r.Code != tt.code {
				t.Errorf("code %d, want %d", r.Code, tt.code)
			}
			if tt.err != "" && r.Error != tt.err && !strings.HasSuffix(tt.err, " ") {
				t.Errorf("error %q, want exactly %q", r.Error, tt.err)
			}
		})
	}
}

func TestHTTPRequest(t *testing.T) {
	srv := target(t)
	m := monitor(t, `http: {url: /echo, method: POST, body: "hello", headers: {X-Token: "${TOKEN:-t0k}", Host: example.com}, body_contains: "POST /echo ua=Upkeep/1.2.3 token=t0k host=example.com body=hello"}`)
	want(t, checker(t, m, Options{PublicURL: srv.URL + "/", Version: "1.2.3"}), upkeep.StateUp, "")

	if _, err := New(m, Options{}); err == nil || !strings.Contains(err.Error(), "the relative URL /echo needs the server's public_url") {
		t.Errorf("New without a public URL: %v", err)
	}
}

func TestHTTPKeepsConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := checker(t, monitor(t, fmt.Sprintf(`http: {url: %q}`, srv.URL+"/ok")), Options{})
	for range 3 {
		want(t, c, upkeep.StateUp, "")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 checks, want 1 kept alive", n)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	kind := fmt.Sprintf(`http: {url: %q}`, srv.URL)
	trusted := Options{RootCAs: x509Pool(srv.Certificate())}

	want(t, checker(t, monitor(t, kind), trusted), upkeep.StateUp, "")
	want(t, checker(t, monitor(t, kind), Options{}), upkeep.StateDown, "certificate is self-signed and not trusted")
	want(t, checker(t, monitor(t, fmt.Sprintf(`http: {url: %q, tls_verify: false}`, srv.URL)), Options{}), upkeep.StateUp, "")
}

func TestHTTPSCertificateExpiry(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	for _, tt := range []struct {
		name     string
		notAfter time.Time
		outcome  upkeep.State
		err      string
	}{
		{"valid", now.Add(60 * 24 * time.Hour), upkeep.StateUp, ""},
		{"expires soon", now.Add(3*24*time.Hour + time.Hour), upkeep.StateDegraded, "certificate expires in 3 days (" + day(now.Add(3*24*time.Hour+time.Hour)) + ")"},
		{"expired", now.Add(-2*24*time.Hour - time.Hour), upkeep.StateDown, "certificate expired 2 days ago (" + day(now.Add(-2*24*time.Hour-time.Hour)) + ")"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, []string{"127.0.0.1"}, now.Add(-90*24*time.Hour), tt.notAfter, false)}}
			srv.StartTLS()
			t.Cleanup(srv.Close)
			r := want(t, checker(t, monitor(t, fmt.Sprintf(`http: {url: %q}`, srv.URL)), Options{RootCAs: ca.pool}), tt.outcome, tt.err)
			if r.Error != tt.err {
				t.Errorf("error %q, want %q", r.Error, tt.err)
			}
		})
	}
}

func TestHTTPSClientCertificate(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(90*24*time.Hour), false)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	certFile, keyFile := writePEM(t, ca.issue(t, []string{"upkeep-client"}, now.Add(-time.Hour), now.Add(24*time.Hour), true))

	want(t, checker(t, monitor(t, fmt.Sprintf(`http: {url: %q, body_contains: "hello upkeep-client", client_cert: %q, client_key: %q}`, srv.URL, certFile, keyFile)), Options{RootCAs: ca.pool}),
		upkeep.StateUp, "")
	r := checker(t, monitor(t, fmt.Sprintf(`http: {url: %q}`, srv.URL)), Options{RootCAs: ca.pool}).Check(context.Background())
	t.Logf("without a client certificate: %s", r.Error)
	if r.Outcome != upkeep.StateDown || !strings.Contains(r.Error, "certificate") {
		t.Errorf("error without a client certificate: %q", r.Error)
	}

	_, err := New(monitor(t, fmt.Sprintf(`http: {url: %q, client_cert: %q, client_key: /nonexistent/key.pem}`, srv.URL, certFile)), Options{})
	if err == nil || !strings.Contains(err.Error(), "loading the client certificate "+certFile+" and key /nonexistent/key.pem: open /nonexistent/key.pem: no such file or directory") {
		t.Errorf("New with a missing key: %v", err)
	}
}

func x509Pool(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// TestHTTPConnectionByInterval counts the server's connections: a monitor whose interval is
// 45 s or longer opens a connection per check and holds none between checks; a shorter one
// reuses one connection, which it drops when no check comes for one and a half intervals.
// Plain HTTP/1.1 and HTTPS with HTTP/2 alike.
func TestHTTPConnectionByInterval(t *testing.T) {
	for _, secure := range []bool{false, true} {
		for _, every := range []time.Duration{time.Minute, 45 * time.Second, 30 * time.Second, time.Second} {
			name := fmt.Sprintf("http every %s", every)
			if secure {
				name = fmt.Sprintf("https h2 every %s", every)
			}
			t.Run(name, func(t *testing.T) {
				var opened, open atomic.Int32
				var proto atomic.Value
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					proto.Store(r.Proto)
					io.WriteString(w, "ok")
				}))
				srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
					switch s {
					case http.StateNew:
						opened.Add(1)
						open.Add(1)
					case http.StateClosed, http.StateHijacked:
						open.Add(-1)
					}
				}
				o := Options{}
				if secure {
					srv.EnableHTTP2 = true
					srv.StartTLS()
					o.RootCAs = x509Pool(srv.Certificate())
				} else {
					srv.Start()
				}
				t.Cleanup(srv.Close)
				m := monitor(t, fmt.Sprintf(`http: {url: %q}`, srv.URL+"/ok"))
				m.Every.Duration = every
				c := checker(t, m, o)

				keep := every < 45*time.Second
				for i := range 3 {
					want(t, c, upkeep.StateUp, "")
					if keep {
						if n := open.Load(); n != 1 {
							t.Fatalf("after check %d: %d connections open, want the one kept alive", i+1, n)
						}
					} else if !eventually(func() bool { return open.Load() == 0 }) {
						t.Fatalf("after check %d: %d connections still open, want none between checks", i+1, open.Load())
					}
				}
				if wantProto := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[secure]; proto.Load() != wantProto {
					t.Errorf("protocol %v, want %s", proto.Load(), wantProto)
				}
				wantOpened := int32(3)
				if keep {
					wantOpened = 1
				}
				if n := opened.Load(); n != wantOpened {
					t.Errorf("%d connections for 3 checks, want %d", n, wantOpened)
				}
				if every == time.Second {
					// No check for more than one and a half intervals: the idle connection goes.
					if !eventually(func() bool { return open.Load() == 0 }) {
						t.Errorf("%d connections open 2 s after the last check at a 1 s interval, want 0", open.Load())
					}
					want(t, c, upkeep.StateUp, "")
					if n := opened.Load(); n != 2 {
						t.Errorf("%d connections after the idle one was dropped, want 2", n)
					}
				}
			})
		}
	}
}

// eventually polls cond for up to 3 seconds.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestHTTPSharedTransport: monitors that keep no connection share a transport with those of the
// same TLS settings and timeout, and the last one closed takes it away; a monitor that keeps
// its connection has its own.
func TestHTTPSharedTransport(t *testing.T) {
	build := func(kind string, every time.Duration) *httpChecker {
		t.Helper()
		m := monitor(t, kind)
		m.Every.Duration = every
		c, err := New(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c.(*httpChecker)
	}
	a := build(`http: {url: "http://127.0.0.1:1/a"}`, time.Minute)
	b := build(`http: {url: "http://127.0.0.1:1/b"}`, time.Hour)
	insecure := build(`http: {url: "http://127.0.0.1:1/c", tls_verify: false}`, time.Minute)
	short := build(`http: {url: "http://127.0.0.1:1/d"}`, 10*time.Second)
	if a.transport != b.transport || a.shared == nil {
		t.Error("two 1m+ monitors with the same TLS settings do not share a transport")
	}
	if insecure.transport == a.transport {
		t.Error("tls_verify: false shares a transport with verifying monitors")
	}
	if short.shared != nil || short.transport == a.transport {
		t.Error("a 10s monitor (keep-alive) shares a transport")
	}
	refs := func() int {
		sharedTransports.mu.Lock()
		defer sharedTransports.mu.Unlock()
		if st := sharedTransports.m[*a.shared]; st != nil {
			return st.refs
		}
		return 0
	}
	if n := refs(); n != 2 {
		t.Errorf("%d references, want 2", n)
	}
	for _, c := range []*httpChecker{a, a, b, insecure, short} { // a twice: Close is idempotent
		_ = c.Close()
	}
	if n := refs(); n != 0 {
		t.Errorf("%d references after closing, want 0 (the transport removed)", n)
	}
}
