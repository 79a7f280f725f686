package policy

// The settings of the active check kinds. Each kind checks its own settings (kindSettings);
// package check runs them.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/invopop/jsonschema"
	"github.com/jackc/pgx/v5/pgconn"
)

// HTTPCheck requests a URL and checks the answer.
type HTTPCheck struct {
	URL               string            `yaml:"url" jsonschema:"required,description=The URL to request: an absolute http or https URL\\, or a path such as /healthz\\, which is resolved against server.public_url (so a policy can watch Upkeep itself)."`
	Method            string            `yaml:"method" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=PATCH,enum=DELETE,enum=OPTIONS,default=GET,description=The request method."`
	Headers           map[string]Secret `yaml:"headers" jsonschema:"description=Request headers\\, e.g. {Authorization: \"Bearer ${API_TOKEN}\"}. Their values are treated as secrets: never shown."`
	Body              string            `yaml:"body" jsonschema:"description=The request body (set a Content-Type header to go with it)."`
	ExpectStatus      []StatusRange     `yaml:"expect_status" jsonschema:"description=The status codes that count as up: codes (200)\\, classes (\"2xx\") or ranges (\"200-299\"). Default: 2xx; 2xx and 3xx when redirects are not followed."`
	BodyContains      string            `yaml:"body_contains" jsonschema:"description=Text the body must contain (in its first MiB)."`
	BodyRegex         Regexp            `yaml:"body_regex" jsonschema:"description=A regular expression (Go RE2 syntax) the body must match (in its first MiB)."`
	JSON              *JSONMatch        `yaml:"json" jsonschema:"description=A value the JSON body must hold."`
	FollowRedirects   *bool             `yaml:"follow_redirects" jsonschema:"description=Follow redirects (at most 10) and check the final answer. Default: true."`
	TLSVerify         *bool             `yaml:"tls_verify" jsonschema:"description=Verify the server's certificate (chain and name). Default: true. With false an expired certificate still warns."`
	ClientCert        string            `yaml:"client_cert" jsonschema:"description=File with a PEM client certificate to present (with client_key)."`
	ClientKey         string            `yaml:"client_key" jsonschema:"description=File with the PEM private key of client_cert."`
	SlowAfter         Duration          `yaml:"slow_after" jsonschema:"description=An answer slower than this is degraded (not down). Less than the monitor's timeout. Default: never."`
	CertExpiryWarning Days              `yaml:"cert_expiry_warning" jsonschema:"default=14d,description=For https: a certificate that expires sooner than this is degraded. Days (14) or a duration (\"14d\")."`
}

// JSONMatch looks up a value in a JSON body.
type JSONMatch struct {
	Path   string  `yaml:"path" jsonschema:"required,description=Where the value is\\, as a GJSON path (github.com/tidwall/gjson)\\, e.g. status or checks.0.ok."`
	Equals *string `yaml:"equals" jsonschema:"oneof_type=string;number;boolean,description=The value it must have: a string\\, number or boolean (numbers compare as numbers\\, so 1 equals 1.0). Without it the path must only exist."`
}

func (c *HTTPCheck) check(d *decoder, path string, m *Monitor) {
	urlPath := path + ".url"
	if d.isSet(urlPath) {
		if msg, hint := checkURL(c.URL); msg != "" {
			d.add(d.posAt(urlPath), urlPath, fmt.Sprintf("invalid URL %s: %s", d.show(urlPath, c.URL), msg), hint)
		}
	}
	for name, value := range c.Headers {
		hpath := joinPath(path+".headers", name)
		switch {
		case !isToken(name):
			d.add(d.posAt(hpath), hpath, fmt.Sprintf("invalid header name %s", quote(name)), "letters, digits and !#$%&'*+-.^_`|~ only")
		case strings.ContainsAny(value.Reveal(), "\r\n\x00"):
			d.add(d.posAt(hpath), hpath, fmt.Sprintf("the value of header %s has a line break", quote(name)), "a header value is one line")
		}
	}
	if c.FollowRedirects == nil {
		c.FollowRedirects = ptr(true)
	}
	if c.TLSVerify == nil {
		c.TLSVerify = ptr(true)
	}
	if len(c.ExpectStatus) == 0 {
		c.ExpectStatus = []StatusRange{{200, 299}}
		if !*c.FollowRedirects {
			c.ExpectStatus = append(c.ExpectStatus, StatusRange{300, 399})
		}
	}
	if c.JSON != nil && strings.TrimSpace(c.JSON.Path) == "" && !d.hasProblem(path+".json.path") {
		d.add(d.posAt(path+".json.path"), path+".json.path", "the JSON path is empty", `e.g. "status" or "checks.0.ok"`)
	}
	switch cert, key := path+".client_cert", path+".client_key"; {
	case c.ClientCert != "" && c.ClientKey == "":
		d.add(d.posAt(cert), cert, "client_cert needs client_key", "add the file with the certificate's private key")
	case c.ClientKey != "" && c.ClientCert == "":
		d.add(d.posAt(key), key, "client_key needs client_cert", "add the file with the certificate")
	}
	d.checkSlowAfter(path, c.SlowAfter, m)
	d.checkExpiryWarning(path, c.CertExpiryWarning)
}

// checkURL returns what is wrong with an http check's URL, and a hint, or "".
func checkURL(s string) (msg, hint string) {
	const urlHint = `an absolute http or https URL, or a path on Upkeep itself such as "/healthz"`
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		if _, err := url.ParseRequestURI(s); err != nil {
			return "not a path", urlHint
		}
		return "", ""
	}
	u, err := url.Parse(s)
	switch {
	case s == "":
		return "empty", urlHint
	case err != nil:
		return "not a URL", urlHint
	case u.Scheme == "":
		return "no scheme", `start it with "https://" or "http://", or with "/" for a path on Upkeep itself`
	case u.Scheme != "http" && u.Scheme != "https":
		return "the scheme must be http or https", urlHint
	case u.Host == "" || u.Opaque != "":
		return "no host", urlHint
	case u.User != nil:
		return "user information is not allowed", `send credentials in a header: headers: {Authorization: "Basic ${CREDENTIALS}"}`
	}
	return "", ""
}

// isToken reports whether s is an HTTP token (a valid header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

// TCPCheck connects to host:port, optionally sends something and expects an answer.
type TCPCheck struct {
	Address   string   `yaml:"address" jsonschema:"required,description=Where to connect: host:port\\, e.g. mail.example.com:25."`
	Send      string   `yaml:"send" jsonschema:"description=Text to send once connected (use a double-quoted YAML string for \\r\\n)."`
	Expect    string   `yaml:"expect" jsonschema:"description=Text that must arrive (within the first 64 KiB) before the timeout\\, e.g. \"220 \" for SMTP."`
	SlowAfter Duration `yaml:"slow_after" jsonschema:"description=A check slower than this is degraded (not down). Less than the monitor's timeout. Default: never."`
}

func (c *TCPCheck) check(d *decoder, path string, m *Monitor) {
	d.checkAddress(path+".address", c.Address, "mail.example.com:25")
	d.checkSlowAfter(path, c.SlowAfter, m)
}

// DNSCheck resolves a name and checks the records.
type DNSCheck struct {
	Name      string   `yaml:"name" jsonschema:"required,description=The name to look up\\, e.g. example.com. For type PTR an IP address may be given instead of its in-addr.arpa name."`
	Type      string   `yaml:"type" jsonschema:"enum=A,enum=AAAA,enum=CNAME,enum=MX,enum=TXT,enum=NS,enum=SRV,enum=CAA,enum=PTR,default=A,description=The record type."`
	Server    string   `yaml:"server" jsonschema:"description=The DNS server to ask: host:port (host alone means port 53). Default: the first nameserver of /etc/resolv.conf."`
	Expect    []string `yaml:"expect" jsonschema:"description=Values that must all be among the answers (an address\\, a host name\\, \"10 mail.example.com\" for MX\\, the text of a TXT record). Empty: any answer will do."`
	SlowAfter Duration `yaml:"slow_after" jsonschema:"description=An answer slower than this is degraded (not down). Less than the monitor's timeout. Default: never."`
}

func (c *DNSCheck) check(d *decoder, path string, m *Monitor) {
	namePath := path + ".name"
	switch {
	case !d.isSet(namePath), c.Type == "PTR" && isIP(c.Name):
	case isIP(c.Name):
		d.add(d.posAt(namePath), namePath, fmt.Sprintf("%s is an IP address, not a name", d.show(namePath, c.Name)),
			"to look up the name of an address, set type: PTR")
	case !validDomain(c.Name):
		d.add(d.posAt(namePath), namePath, fmt.Sprintf("invalid DNS name %s", d.show(namePath, c.Name)),
			"labels of letters, digits, \"-\" and \"_\", separated by dots, at most 253 characters")
	}
	if c.Server != "" {
		if _, _, err := net.SplitHostPort(c.Server); err != nil {
			c.Server = net.JoinHostPort(strings.Trim(c.Server, "[]"), "53")
		}
		d.checkAddress(path+".server", c.Server, "1.1.1.1:53")
	}
	for i, v := range c.Expect {
		if strings.TrimSpace(v) == "" {
			p := fmt.Sprintf("%s.expect[%d]", path, i)
			d.add(d.posAt(p), p, "an expected value is empty", "remove it, or write the value the answer must hold")
		}
	}
	d.checkSlowAfter(path, c.SlowAfter, m)
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validDomain reports whether s is a DNS name: dot-separated labels of at most 63 characters
// of letters, digits, "-" and "_" (as in _sip._tcp.example.com), 253 characters in all.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// TLSCheck connects to host:port and checks the certificate the server presents.
type TLSCheck struct {
	Address           string `yaml:"address" jsonschema:"required,description=Where to connect: host:port\\, e.g. example.com:443."`
	ServerName        string `yaml:"server_name" jsonschema:"description=The name the certificate must be valid for (also sent as SNI). Default: the host of address."`
	CertExpiryWarning Days   `yaml:"cert_expiry_warning" jsonschema:"default=14d,description=A certificate that expires sooner than this is degraded. Days (14) or a duration (\"14d\")."`
}

func (c *TLSCheck) check(d *decoder, path string, m *Monitor) {
	d.checkAddress(path+".address", c.Address, "example.com:443")
	snPath := path + ".server_name"
	if c.ServerName != "" && !isIP(c.ServerName) && !validDomain(c.ServerName) {
		d.add(d.posAt(snPath), snPath, fmt.Sprintf("invalid server name %s", d.show(snPath, c.ServerName)), "a host name such as example.com")
	}
	if c.ServerName == "" && !d.hasProblem(path+".address") {
		host, _, _ := net.SplitHostPort(c.Address)
		c.ServerName = host
	}
	d.checkExpiryWarning(path, c.CertExpiryWarning)
}

// PingCheck sends ICMP echo requests.
type PingCheck struct {
	Host      string   `yaml:"host" jsonschema:"required,description=The host name or IP address to ping."`
	Count     int      `yaml:"count" jsonschema:"minimum=1,maximum=100,description=How many echo requests to send\\, two per second. Default: 3."`
	MaxLoss   Percent  `yaml:"max_loss" jsonschema:"description=The share of lost packets that is still tolerated: a loss up to this is degraded\\, more is down. No answer at all is always down. Default: 50%; 0% makes any loss down."`
	SlowAfter Duration `yaml:"slow_after" jsonschema:"description=An average round trip slower than this is degraded. Default: never."`
}

// PingInterval is the time between two echo requests of a ping check.
const PingInterval = 500 * time.Millisecond

func (c *PingCheck) check(d *decoder, path string, m *Monitor) {
	hostPath, countPath, lossPath := path+".host", path+".count", path+".max_loss"
	if d.isSet(hostPath) && !isIP(c.Host) && !validDomain(c.Host) {
		d.add(d.posAt(hostPath), hostPath, fmt.Sprintf("invalid host %s", d.show(hostPath, c.Host)), "a host name or an IP address")
	}
	if _, set := d.nodes[countPath]; !set {
		c.Count = 3
	} else if !d.hasProblem(countPath) {
		switch {
		case c.Count < 1 || c.Count > 100:
			d.add(d.posAt(countPath), countPath, fmt.Sprintf("count %d is out of range", c.Count), "between 1 and 100")
		case m.Timeout.Duration > 0 && time.Duration(c.Count-1)*PingInterval >= m.Timeout.Duration:
			d.add(d.posAt(countPath), countPath, fmt.Sprintf("%d pings take %s, not less than the timeout %s", c.Count, Duration{time.Duration(c.Count-1) * PingInterval}, m.Timeout),
				fmt.Sprintf("pings go out every %s; send fewer or raise the timeout", Duration{PingInterval}))
		}
	}
	if _, set := d.nodes[lossPath]; !set {
		c.MaxLoss = 50
	} else if c.MaxLoss >= 100 && !d.hasProblem(lossPath) {
		d.add(d.posAt(lossPath), lossPath, "max_loss 100% would never be down", `below 100%, e.g. "50%"`)
	}
	d.checkSlowAfter(path, c.SlowAfter, m)
}

// SQLCheck runs a query on a database server; the first column of the first row must be true
// or non-zero.
type SQLCheck struct {
	DSN       Secret   `yaml:"dsn" jsonschema:"required,description=How to connect (it holds a password: use ${VAR}). PostgreSQL: postgres://user:pass@host:5432/db or host=... user=... dbname=...; MySQL: user:pass@tcp(host:3306)/db."`
	Query     string   `yaml:"query" jsonschema:"default=select 1,description=The query to run; the first column of its first row must be true or non-zero."`
	SlowAfter Duration `yaml:"slow_after" jsonschema:"description=A check slower than this is degraded (not down). Less than the monitor's timeout. Default: never."`
}

func (c *SQLCheck) check(d *decoder, path string, m *Monitor) {
	dsnPath := path + ".dsn"
	kind := path[strings.LastIndex(path, ".")+1:]
	if d.isSet(dsnPath) {
		dsn := c.DSN.Reveal()
		switch {
		case strings.TrimSpace(dsn) == "":
			d.add(d.posAt(dsnPath), dsnPath, "the DSN is empty", "")
		case kind == KindPostgres:
			if _, err := pgconn.ParseConfig(dsn); err != nil {
				// The error quotes the DSN, password and all: say only that it is wrong.
				d.add(d.posAt(dsnPath), dsnPath, "invalid PostgreSQL DSN",
					`e.g. "postgres://user:${DB_PASSWORD}@db.example.com:5432/app" or "host=db.example.com user=app dbname=app"`)
			}
		case kind == KindMySQL:
			if _, err := mysql.ParseDSN(dsn); err != nil {
				hint := `e.g. "app:${DB_PASSWORD}@tcp(db.example.com:3306)/app"`
				if strings.Contains(dsn, "://") {
					hint = `the MySQL driver does not read URLs; write ` + hint[5:]
				}
				d.add(d.posAt(dsnPath), dsnPath, "invalid MySQL DSN", hint)
			}
		}
	}
	d.checkSlowAfter(path, c.SlowAfter, m)
}

// isSet reports whether the value at path was written and read without a problem: a required
// key that is missing, or a value that could not be read, is reported already.
func (d *decoder) isSet(path string) bool {
	_, ok := d.nodes[path]
	return ok && !d.hasProblem(path)
}

// checkAddress reports an address that is not host:port with a numeric port.
func (d *decoder) checkAddress(path, addr, example string) {
	if !d.isSet(path) {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n uint64
		n, err = strconv.ParseUint(port, 10, 16)
		if err == nil && (n == 0 || host == "") {
			err = errors.New("no host or port")
		}
	}
	if err != nil {
		d.add(d.posAt(path), path, fmt.Sprintf("invalid address %s", d.show(path, addr)),
			fmt.Sprintf("host:port with a port from 1 to 65535, e.g. %q", example))
	}
}

// checkSlowAfter reports a slow_after that the timeout makes pointless.
func (d *decoder) checkSlowAfter(path string, slow Duration, m *Monitor) {
	slowPath := path + ".slow_after"
	timeoutPath := path[:strings.LastIndex(path, ".")] + ".timeout"
	if slow.Duration <= 0 || d.hasProblem(slowPath) || d.hasProblem(timeoutPath) || m.Timeout.Duration <= 0 {
		return
	}
	if slow.Duration >= m.Timeout.Duration {
		d.add(d.posAt(slowPath), slowPath, fmt.Sprintf("slow_after %s is not shorter than the timeout %s", slow, m.Timeout),
			"an answer slower than the timeout is down, never degraded; set slow_after below timeout")
	}
}

func (d *decoder) checkExpiryWarning(path string, w Days) {
	p := path + ".cert_expiry_warning"
	if w.Duration > 398*24*time.Hour && !d.hasProblem(p) {
		d.add(d.posAt(p), p, fmt.Sprintf("cert_expiry_warning %s is longer than any certificate lives", Duration(w)),
			`public certificates last at most 398 days; e.g. "14d"`)
	}
}

// StatusRange is a range of HTTP status codes, written as a code (200), a class ("2xx") or a
// range ("200-299").
type StatusRange struct {
	Min, Max int
}

const statusHint = `a status code (200), a class ("2xx") or a range ("200-299"), between 100 and 599`

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *StatusRange) UnmarshalText(text []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(text)))
	bad := &valueError{what: "status", value: string(text), hint: statusHint}
	code := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && len(s) == 3 && n >= 100 && n <= 599
	}
	switch lo, hi, isRange := strings.Cut(s, "-"); {
	case len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5':
		c := int(s[0]-'0') * 100
		*r = StatusRange{c, c + 99}
	case isRange:
		a, ok1 := code(strings.TrimSpace(lo))
		b, ok2 := code(strings.TrimSpace(hi))
		if !ok1 || !ok2 {
			return bad
		}
		if a > b {
			return &valueError{what: "status", value: string(text), hint: "the range is backwards; write the lower code first"}
		}
		*r = StatusRange{a, b}
	default:
		c, ok := code(s)
		if !ok {
			return bad
		}
		*r = StatusRange{c, c}
	}
	return nil
}

// Contains reports whether code is in the range.
func (r StatusRange) Contains(code int) bool { return code >= r.Min && code <= r.Max }

// String gives the range as written: "200", "2xx" or "200-204".
func (r StatusRange) String() string {
	switch {
	case r.Min == r.Max:
		return strconv.Itoa(r.Min)
	case r.Min%100 == 0 && r.Max == r.Min+99:
		return strconv.Itoa(r.Min/100) + "xx"
	}
	return strconv.Itoa(r.Min) + "-" + strconv.Itoa(r.Max)
}

// MarshalText implements encoding.TextMarshaler.
func (r StatusRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// JSONSchema describes a status range: a code or a string.
func (StatusRange) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "100", Maximum: "599"},
			{Type: "string", Pattern: `^([1-5]xx|[1-5][0-9][0-9](-[1-5][0-9][0-9])?|.*\$\{.*)$`},
		},
		Description: `An HTTP status code (200), a class ("2xx") or a range ("200-299").`,
		Examples:    []any{200, "2xx", "200-299"},
	}
}

func (StatusRange) kindName() string { return "a status code" }

// Regexp is a regular expression in Go's RE2 syntax, compiled when the policy is loaded so that
// a broken one is a problem in the policy, not a failing check.
type Regexp struct {
	*regexp.Regexp
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Regexp) UnmarshalText(text []byte) error {
	re, err := regexp.Compile(string(text))
	if err != nil {
		hint := "Go regular expression syntax (RE2)"
		var se *syntax.Error
		if errors.As(err, &se) {
			hint = se.Code.String() + "; " + hint
		}
		return &valueError{what: "regular expression", value: string(text), hint: hint}
	}
	r.Regexp = re
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (r Regexp) MarshalText() ([]byte, error) {
	if r.Regexp == nil {
		return nil, nil
	}
	return []byte(r.Regexp.String()), nil
}

// JSONSchema describes a Regexp.
func (Regexp) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Format: "regex", Description: "A regular expression (Go RE2 syntax)."}
}

func (Regexp) kindName() string { return "a regular expression" }

// Days is a span of time written as a number of days (14) or as a duration ("14d", "36h").
type Days struct {
	time.Duration
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Days) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if isDecimal(s) {
		whole, frac, _ := strings.Cut(s, ".")
		v, ok := scaleDecimal(whole, frac, 24*time.Hour)
		if !ok {
			return &valueError{what: "number of days", value: s, hint: "too long"}
		}
		d.Duration = v
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return &valueError{what: "number of days or duration", value: s, hint: `e.g. 14 or "14d"`}
	}
	d.Duration = v.Duration
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Days) MarshalText() ([]byte, error) { return Duration(d).MarshalText() }

// String gives the span as a duration, e.g. "14d".
func (d Days) String() string { return Duration(d).String() }

// JSONSchema describes Days.
func (Days) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{
			{Type: "number", Minimum: "0"},
			{Type: "string", Pattern: `^(([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w)?)+|.*\$\{.*)$`},
		},
		Description: `A number of days (14) or a duration ("14d", "36h").`,
		Examples:    []any{14, "14d"},
	}
}

func (Days) kindName() string { return "a number of days or a duration" }

// compile-time: the methods must match the kindSettings interface.
var _ = []kindSettings{(*HTTPCheck)(nil), (*TCPCheck)(nil), (*DNSCheck)(nil), (*TLSCheck)(nil), (*PingCheck)(nil), (*SQLCheck)(nil)}
