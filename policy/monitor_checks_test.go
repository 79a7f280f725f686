package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// monitorDoc is a policy with one monitor whose settings are lines (indented under it).
func monitorDoc(lines ...string) string {
	return "monitors:\n  - name: m\n" + "    " + strings.Join(lines, "\n    ") + "\n"
}

func TestCheckSettingsValid(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`monitors:
  - name: web
    http:
      url: https://example.com/healthz
      method: POST
      headers: {Authorization: "Bearer ${TOKEN}", X-Trace: "1"}
      body: '{"ping": true}'
      expect_status: [200, "3xx", "400-404"]
      body_contains: ok
      body_regex: "^ok$"
      json: {path: status, equals: 1.0}
      follow_redirects: false
      tls_verify: false
      client_cert: /etc/upkeep/client.pem
      client_key: /etc/upkeep/client.key
      slow_after: 800ms
      cert_expiry_warning: 30
  - {name: self, http: {url: /healthz}}
  - {name: smtp, tcp: {address: "mail.example.com:25", send: "EHLO upkeep\r\n", expect: "250", slow_after: 2s}}
  - {name: mx, dns: {name: example.com, type: MX, server: 1.1.1.1, expect: ["10 mail.example.com"]}}
  - {name: rev, dns: {name: 192.0.2.1, type: PTR}}
  - {name: cert, tls: {address: "example.com:443", cert_expiry_warning: 21d}}
  - {name: gw, ping: {host: 10.0.0.1, count: 5, max_loss: 0%, slow_after: 100ms}}
  - {name: pg, postgres: {dsn: "postgres://app:${PW}@db:5432/app"}}
  - {name: my, mysql: {dsn: "app:${PW}@tcp(db:3306)/app", query: "select count(*) > 0 from orders"}}
`), env(map[string]string{"TOKEN": "t0k", "PW": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Monitors[0].HTTP
	if h.URL != "https://example.com/healthz" || h.Method != "POST" || h.Headers["Authorization"].Reveal() != "Bearer t0k" ||
		h.Body != `{"ping": true}` || h.BodyContains != "ok" || h.BodyRegex.String() != "^ok$" ||
		*h.FollowRedirects || *h.TLSVerify || h.ClientCert != "/etc/upkeep/client.pem" || h.SlowAfter.Duration != 800*time.Millisecond ||
		h.CertExpiryWarning.Duration != 30*24*time.Hour || h.JSON.Path != "status" || *h.JSON.Equals != "1.0" {
		t.Errorf("http = %+v", h)
	}
	if want := []StatusRange{{200, 200}, {300, 399}, {400, 404}}; !reflect.DeepEqual(h.ExpectStatus, want) {
		t.Errorf("expect_status = %v", h.ExpectStatus)
	}

	self := p.Monitors[1].HTTP
	if self.Method != "GET" || !*self.FollowRedirects || !*self.TLSVerify || self.CertExpiryWarning.Duration != 14*24*time.Hour ||
		!reflect.DeepEqual(self.ExpectStatus, []StatusRange{{200, 299}}) {
		t.Errorf("http defaults = %+v", self)
	}
	if tcp := p.Monitors[2].TCP; tcp.Send != "EHLO upkeep\r\n" || tcp.Expect != "250" {
		t.Errorf("tcp = %+v", tcp)
	}
	if d := p.Monitors[3].DNS; d.Type != "MX" || d.Server != "1.1.1.1:53" || d.Expect[0] != "10 mail.example.com" {
		t.Errorf("dns = %+v", d)
	}
	if d := p.Monitors[4].DNS; d.Type != "PTR" || d.Server != "" {
		t.Errorf("dns = %+v", d)
	}
	if c := p.Monitors[5].TLS; c.ServerName != "example.com" || c.CertExpiryWarning.Duration != 21*24*time.Hour {
		t.Errorf("tls = %+v", c)
	}
	if c := p.Monitors[6].Ping; c.Count != 5 || c.MaxLoss != 0 || c.SlowAfter.Duration != 100*time.Millisecond {
		t.Errorf("ping = %+v", c)
	}
	if c := p.Monitors[7].Postgres; c.DSN.Reveal() != "postgres://app:pw@db:5432/app" || c.Query != "select 1" {
		t.Errorf("postgres = %+v", c)
	}
	if c := p.Monitors[8].MySQL; c.Query != "select count(*) > 0 from orders" {
		t.Errorf("mysql = %+v", c)
	}
	for i, kind := range []string{KindHTTP, KindHTTP, KindTCP, KindDNS, KindDNS, KindTLS, KindPing, KindPostgres, KindMySQL} {
		if got := p.Monitors[i].Kind(); got != kind {
			t.Errorf("monitors[%d] kind %q, want %q", i, got, kind)
		}
	}

	// Defaults that depend on other settings.
	p, err = Parse("p.yaml", []byte(monitorDoc(`http: {url: "http://x.example", follow_redirects: false}`)+
		"  - {name: p, ping: {host: example.com}}\n  - {name: d, dns: {name: example.com}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Monitors[0].HTTP.ExpectStatus; !reflect.DeepEqual(got, []StatusRange{{200, 299}, {300, 399}}) {
		t.Errorf("expect_status without redirects = %v", got)
	}
	if c := p.Monitors[1].Ping; c.Count != 3 || c.MaxLoss != 50 {
		t.Errorf("ping defaults = %+v", c)
	}
	if c := p.Monitors[2].DNS; c.Type != "A" {
		t.Errorf("dns defaults = %+v", c)
	}
}

func TestCheckSettingsInvalid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"http url missing", monitorDoc(`http: {method: GET}`), []string{
			`p.yaml:3:11: monitors[0].http: missing required key "url"`,
		}},
		{"http urls", "monitors:\n" +
			"  - {name: a, http: {url: example.com/x}}\n" +
			"  - {name: b, http: {url: 'ftp://example.com/'}}\n" +
			"  - {name: c, http: {url: 'https://user:pw@example.com/'}}\n" +
			"  - {name: d, http: {url: '//example.com/'}}\n" +
			"  - {name: e, http: {url: ''}}\n" +
			"  - {name: f, http: {url: 'http:///x'}}\n", []string{
			`p.yaml:2:27: monitors[0].http.url: invalid URL "example.com/x": no scheme (start it with "https://" or "http://", or with "/" for a path on Upkeep itself)`,
			`p.yaml:3:27: monitors[1].http.url: invalid URL "ftp://example.com/": the scheme must be http or https (an absolute http or https URL, or a path on Upkeep itself such as "/healthz")`,
			`p.yaml:4:27: monitors[2].http.url: invalid URL "https://user:pw@example.com/": user information is not allowed (send credentials in a header: headers: {Authorization: "Basic ${CREDENTIALS}"})`,
			`p.yaml:5:27: monitors[3].http.url: invalid URL "//example.com/": no scheme (start it with "https://" or "http://", or with "/" for a path on Upkeep itself)`,
			`p.yaml:6:27: monitors[4].http.url: invalid URL "": empty (an absolute http or https URL, or a path on Upkeep itself such as "/healthz")`,
			`p.yaml:7:27: monitors[5].http.url: invalid URL "http:///x": no host (an absolute http or https URL, or a path on Upkeep itself such as "/healthz")`,
		}},
		{"http settings", monitorDoc(
			`http:`,
			`  url: /x`,
			`  method: get`,
			`  headers: {"Bad Name": x, X-Ok: "a\nb"}`,
			`  expect_status: [99, "6xx", "300-200", "abc"]`,
			`  body_regex: "a(b"`,
			`  json: {path: "", equals: x}`,
			`  client_cert: /c.pem`,
			`  slow_after: 10s`,
			`  cert_expiry_warning: 400`,
		), []string{
			`p.yaml:5:15: monitors[0].http.method: invalid value "get" (did you mean "GET"?)`,
			"p.yaml:6:29: monitors[0].http.headers[\"Bad Name\"]: invalid header name \"Bad Name\" (letters, digits and !#$%&'*+-.^_`|~ only)",
			`p.yaml:6:38: monitors[0].http.headers.X-Ok: the value of header "X-Ok" has a line break (a header value is one line)`,
			`p.yaml:7:23: monitors[0].http.expect_status[0]: invalid status "99" (a status code (200), a class ("2xx") or a range ("200-299"), between 100 and 599)`,
			`p.yaml:7:27: monitors[0].http.expect_status[1]: invalid status "6xx" (a status code (200), a class ("2xx") or a range ("200-299"), between 100 and 599)`,
			`p.yaml:7:34: monitors[0].http.expect_status[2]: invalid status "300-200" (the range is backwards; write the lower code first)`,
			`p.yaml:7:45: monitors[0].http.expect_status[3]: invalid status "abc" (a status code (200), a class ("2xx") or a range ("200-299"), between 100 and 599)`,
			`p.yaml:8:19: monitors[0].http.body_regex: invalid regular expression "a(b" (missing closing ); Go regular expression syntax (RE2))`,
			`p.yaml:9:20: monitors[0].http.json.path: the JSON path is empty (e.g. "status" or "checks.0.ok")`,
			`p.yaml:10:20: monitors[0].http.client_cert: client_cert needs client_key (add the file with the certificate's private key)`,
			`p.yaml:11:19: monitors[0].http.slow_after: slow_after 10s is not shorter than the timeout 10s (an answer slower than the timeout is down, never degraded; set slow_after below timeout)`,
			`p.yaml:12:28: monitors[0].http.cert_expiry_warning: cert_expiry_warning 400d is longer than any certificate lives (public certificates last at most 398 days; e.g. "14d")`,
		}},
		{"tcp", "monitors:\n" +
			"  - {name: a, tcp: {address: example.com}}\n" +
			"  - {name: b, tcp: {address: 'example.com:0'}}\n" +
			"  - {name: c, tcp: {address: ':25'}}\n" +
			"  - {name: d, tcp: {send: x}}\n", []string{
			`p.yaml:2:30: monitors[0].tcp.address: invalid address "example.com" (host:port with a port from 1 to 65535, e.g. "mail.example.com:25")`,
			`p.yaml:3:30: monitors[1].tcp.address: invalid address "example.com:0" (host:port with a port from 1 to 65535, e.g. "mail.example.com:25")`,
			`p.yaml:4:30: monitors[2].tcp.address: invalid address ":25" (host:port with a port from 1 to 65535, e.g. "mail.example.com:25")`,
			`p.yaml:5:20: monitors[3].tcp: missing required key "address"`,
		}},
		{"dns", "monitors:\n" +
			"  - {name: a, dns: {name: 'bad name', type: SOA}}\n" +
			"  - {name: b, dns: {name: 192.0.2.1}}\n" +
			"  - {name: c, dns: {name: example.com, server: 'x:y', expect: ['']}}\n", []string{
			`p.yaml:2:27: monitors[0].dns.name: invalid DNS name "bad name" (labels of letters, digits, "-" and "_", separated by dots, at most 253 characters)`,
			`p.yaml:2:45: monitors[0].dns.type: invalid value "SOA" (one of: A, AAAA, CNAME, MX, TXT, NS, SRV, CAA, PTR)`,
			`p.yaml:3:27: monitors[1].dns.name: "192.0.2.1" is an IP address, not a name (to look up the name of an address, set type: PTR)`,
			`p.yaml:4:48: monitors[2].dns.server: invalid address "x:y" (host:port with a port from 1 to 65535, e.g. "1.1.1.1:53")`,
			`p.yaml:4:64: monitors[2].dns.expect[0]: an expected value is empty (remove it, or write the value the answer must hold)`,
		}},
		{"tls", "monitors:\n" +
			"  - {name: a, tls: {address: example.com, server_name: 'a b', cert_expiry_warning: 2 weeks}}\n", []string{
			`p.yaml:2:30: monitors[0].tls.address: invalid address "example.com" (host:port with a port from 1 to 65535, e.g. "example.com:443")`,
			`p.yaml:2:56: monitors[0].tls.server_name: invalid server name "a b" (a host name such as example.com)`,
			`p.yaml:2:84: monitors[0].tls.cert_expiry_warning: invalid number of days or duration "2 weeks" (e.g. 14 or "14d")`,
		}},
		{"ping", "monitors:\n" +
			"  - {name: a, ping: {host: 'a b', count: 0, max_loss: 100%}}\n" +
			"  - {name: b, timeout: 2s, ping: {host: example.com, count: 5}}\n" +
			"  - {name: c, ping: {host: example.com, count: 101, max_loss: 50}}\n", []string{
			`p.yaml:2:28: monitors[0].ping.host: invalid host "a b" (a host name or an IP address)`,
			`p.yaml:2:42: monitors[0].ping.count: count 0 is out of range (between 1 and 100)`,
			`p.yaml:2:55: monitors[0].ping.max_loss: max_loss 100% would never be down (below 100%, e.g. "50%")`,
			`p.yaml:3:61: monitors[1].ping.count: 5 pings take 2s, not less than the timeout 2s (pings go out every 500ms; send fewer or raise the timeout)`,
			`p.yaml:4:48: monitors[2].ping.count: count 101 is out of range (between 1 and 100)`,
			`p.yaml:4:63: monitors[2].ping.max_loss: invalid percentage "50" (add a percent sign, e.g. "99.9%")`,
		}},
		{"sql", "monitors:\n" +
			"  - {name: a, postgres: {dsn: 'postgres://app:s3cret@db:notaport/app'}}\n" +
			"  - {name: b, mysql: {dsn: 'mysql://app:s3cret@db/app'}}\n" +
			"  - {name: c, mysql: {dsn: '', slow_after: 1m}}\n" +
			"  - {name: d, postgres: {query: select 1}}\n", []string{
			`p.yaml:2:31: monitors[0].postgres.dsn: invalid PostgreSQL DSN (e.g. "postgres://user:${DB_PASSWORD}@db.example.com:5432/app" or "host=db.example.com user=app dbname=app")`,
			`p.yaml:3:28: monitors[1].mysql.dsn: invalid MySQL DSN (the MySQL driver does not read URLs; write "app:${DB_PASSWORD}@tcp(db.example.com:3306)/app")`,
			`p.yaml:4:28: monitors[2].mysql.dsn: the DSN is empty`,
			`p.yaml:4:44: monitors[2].mysql.slow_after: slow_after 1m is not shorter than the timeout 10s (an answer slower than the timeout is down, never degraded; set slow_after below timeout)`,
			`p.yaml:5:25: monitors[3].postgres: missing required key "dsn"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.doc), nil)
			got := problemStrings(t, err)
			if !slicesEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("a problem shows a password:\n%v", err)
			}
		})
	}
}

func TestStatusRange(t *testing.T) {
	for in, want := range map[string]StatusRange{"200": {200, 200}, "2xx": {200, 299}, "2XX": {200, 299}, "200-204": {200, 204}, "500 - 599": {500, 599}} {
		var r StatusRange
		if err := r.UnmarshalText([]byte(in)); err != nil || r != want {
			t.Errorf("%q: %v %v", in, r, err)
		}
	}
	for r, want := range map[StatusRange]string{{200, 200}: "200", {200, 299}: "2xx", {200, 204}: "200-204", {500, 599}: "5xx"} {
		if r.String() != want {
			t.Errorf("%v: %q, want %q", r, r.String(), want)
		}
	}
}

func TestDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"14": 14 * 24 * time.Hour, "1.5": 36 * time.Hour, "14d": 14 * 24 * time.Hour, "36h": 36 * time.Hour} {
		var d Days
		if err := d.UnmarshalText([]byte(in)); err != nil || d.Duration != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
}
