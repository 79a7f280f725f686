package heartbeat

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// Limits on what a ping may send.
const (
	// MaxBody is how much of a request body is kept as the run's log, in bytes: 100 kB, as
	// Healthchecks.io keeps. The response header Ping-Body-Limit says so.
	MaxBody = 100_000
	// maxRead is how much of a request body is read at all (the rest is counted as far as
	// this, then the connection is closed): reading a client's body to the end lets it see the
	// answer instead of a reset connection.
	maxRead = 10 << 20
	// maxURL bounds the length of the path and query of a ping URL.
	maxURL = 2048
	// maxHeader bounds the user agent kept.
	maxHeader = 512
)

// Handler answers the ping URLs. Mount it at /ping/ without stripping the prefix; it is public
// (the UUID or ping key is the credential).
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.servePing) }

// ping is a parsed ping request.
type ping struct {
	m      *monitor
	kind   string
	exit   int
	rid    string
	status int    // an error status to answer with instead; 0 when the ping is valid
	reason string // the body of that answer
}

func (s *Service) servePing(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodHead, http.MethodGet, http.MethodPost:
	default:
		h.Set("Allow", "HEAD, GET, POST")
		reply(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if len(r.URL.EscapedPath())+len(r.URL.RawQuery) > maxURL {
		reply(w, http.StatusRequestURITooLong, "url too long")
		return
	}
	p := s.parse(r)
	if p.status != 0 {
		reply(w, p.status, p.reason)
		return
	}

	body, size, truncated, complete := readBody(r.Body)
	if !complete {
		h.Set("Connection", "close") // the rest of the body is not read
	}
	if err := s.record(r, p, body, size, truncated); err != nil {
		s.log.Error("heartbeat ping not stored; answered 503 so that the job's client retries", "monitor", p.m.name, "err", err)
		h.Set("Retry-After", "5")
		reply(w, http.StatusServiceUnavailable, "could not store the ping, try again")
		return
	}
	h.Set("Ping-Body-Limit", strconv.Itoa(MaxBody))
	reply(w, http.StatusOK, "OK")
}

func reply(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// parse finds the monitor and the kind of ping a request is.
func (s *Service) parse(r *http.Request) ping {
	notFound := ping{status: http.StatusNotFound, reason: "not found"}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/ping/")
	if !ok {
		return notFound
	}
	rest = strings.TrimSuffix(rest, "/") // Healthchecks.io accepts /ping/<uuid>/ too
	raw := strings.Split(rest, "/")
	if len(raw) > 3 {
		return notFound
	}
	segs := make([]string, len(raw))
	for i, seg := range raw {
		v, err := url.PathUnescape(seg)
		if err != nil || v == "" {
			return notFound
		}
		segs[i] = v
	}

	s.mu.RLock()
	var m *monitor
	var action string
	if u, isUUID := policy.CanonicalUUID(segs[0]); isUUID && len(segs) <= 2 {
		if m = s.byUUID[u]; m != nil && len(segs) == 2 {
			action = segs[1]
		}
	}
	if m == nil && len(segs) >= 2 && s.pingKey != "" &&
		subtle.ConstantTimeCompare([]byte(segs[0]), []byte(s.pingKey)) == 1 {
		if m = s.bySlug[segs[1]]; m != nil && len(segs) == 3 {
			action = segs[2]
		}
	}
	s.mu.RUnlock()
	if m == nil {
		return notFound
	}

	p := ping{m: m}
	switch action {
	case "":
		p.kind = sqlite.PingSuccess
	case sqlite.PingStart, sqlite.PingFail, sqlite.PingLog:
		p.kind = action
	default:
		if strings.Trim(action, "0123456789") != "" {
			return notFound
		}
		n, err := strconv.Atoi(action)
		if err != nil || n > 255 {
			return ping{status: http.StatusBadRequest, reason: "invalid url format"}
		}
		p.kind, p.exit = sqlite.PingExit, n
	}
	if rids, ok := r.URL.Query()["rid"]; ok {
		rid, valid := "", len(rids) > 0
		if valid {
			rid, valid = policy.CanonicalUUID(rids[0])
		}
		if !valid {
			return ping{status: http.StatusBadRequest, reason: "invalid uuid format"}
		}
		p.rid = rid
	}
	return p
}

// readBody reads up to maxRead bytes of body and keeps the first MaxBody. It returns what it
// kept, how many bytes it read, whether that was more than it kept, and whether it read the
// body to its end.
func readBody(body io.Reader) (kept []byte, size int64, truncated, complete bool) {
	if body == nil || body == http.NoBody {
		return nil, 0, false, true
	}
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 32*1024)
	for size < maxRead {
		n, err := body.Read(chunk[:min(int64(len(chunk)), maxRead-size)])
		if room := MaxBody - len(buf); room > 0 {
			buf = append(buf, chunk[:min(n, room)]...)
		}
		size += int64(n)
		if err != nil {
			// A body cut short by the client still counts: the ping is what it is.
			return buf, size, size > int64(len(buf)), true
		}
	}
	return buf, size, true, false
}

// record stores the ping durably, updates the monitor's state and hands the result to the
// engine, in that order, under the monitor's lock, so that pings of a monitor are stored, seen
// and ingested in the order of their times.
func (s *Service) record(r *http.Request, p ping, body []byte, size int64, truncated bool) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()

	at := time.UnixMilli(s.now().UnixMilli()).UTC()
	if !at.After(m.last) {
		at = m.last.Add(time.Millisecond) // (monitor, time) stays unique
	}
	rec := sqlite.Ping{Time: at, Kind: p.kind, ExitStatus: p.exit, RID: p.rid, Method: r.Method,
		RemoteAddr: remoteHost(r.RemoteAddr), UserAgent: clip(r.UserAgent(), maxHeader),
		Body: body, BodySize: size, Truncated: truncated}

	paired := -1 // index in m.unpaired of the start this completion ends
	if rec.Completion() {
		paired = m.pairing(p.rid)
		if paired >= 0 {
			rec.StartedAt = m.unpaired[paired].at
		}
	}
	if err := s.db.AddPing(r.Context(), m.name, rec); err != nil {
		if errors.Is(err, sqlite.ErrUnknownMonitor) {
			return fmt.Errorf("monitor %q is not in the store: %w", m.name, err)
		}
		return err
	}

	m.last = at
	switch {
	case p.kind == sqlite.PingStart:
		m.start = at
		if len(m.unpaired) == maxUnpaired {
			m.unpaired = append(m.unpaired[:0], m.unpaired[1:]...)
		}
		m.unpaired = append(m.unpaired, run{at: at, rid: p.rid})
	case rec.Completion():
		m.completion = at
		if paired >= 0 {
			m.unpaired = append(m.unpaired[:paired], m.unpaired[paired+1:]...)
		}
	}
	s.log.Debug("heartbeat ping", "monitor", m.name, "kind", p.kind, "exit_status", p.exit, "rid", p.rid,
		"duration", rec.Duration(), "body_bytes", size, "remote", rec.RemoteAddr)

	if !rec.Completion() || s.in == nil {
		return nil
	}
	res := upkeep.Result{Monitor: m.name, Location: upkeep.LocalLocation, Time: at, Latency: rec.Duration(), Outcome: upkeep.StateUp}
	switch {
	case p.kind == sqlite.PingFail:
		res.Outcome, res.Error = upkeep.StateDown, "the job reported failure"
	case p.kind == sqlite.PingExit && p.exit != 0:
		res.Outcome, res.Error, res.Code = upkeep.StateDown, fmt.Sprintf("the job reported failure (exit status %d)", p.exit), p.exit
	}
	s.in.Ingest(res)
	return nil
}

// pairing returns the index in m.unpaired of the start a completion with run id rid ends, or -1:
// with a run id, the newest start with that id; without, the newest start if no completion came
// after it (Healthchecks.io pairs adjacent start and completion the same way).
func (m *monitor) pairing(rid string) int {
	if rid != "" {
		for i := len(m.unpaired) - 1; i >= 0; i-- {
			if m.unpaired[i].rid == rid {
				return i
			}
		}
		return -1
	}
	if i := len(m.unpaired) - 1; i >= 0 && m.unpaired[i].at.After(m.completion) {
		return i
	}
	return -1
}

// remoteHost returns the IP address of a request's remote address.
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return clip(addr, maxHeader)
}

// clip shortens s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// escapeSegment escapes s as one path segment.
func escapeSegment(s string) string { return url.PathEscape(s) }
