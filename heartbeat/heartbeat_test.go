package heartbeat

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func TestURLForms(t *testing.T) {
	e := newEnv(t, t0)
	uuidURL, slugURL := e.svc.URLs("backup")
	if uuidURL != "/ping/"+backupUUID || slugURL != "/ping/"+pingKey+"/backup" {
		t.Fatalf("URLs(backup) = %q, %q", uuidURL, slugURL)
	}
	nightlyUUID, nightlySlug := e.svc.URLs("nightly")
	if !strings.HasPrefix(nightlyUUID, "/ping/") || nightlySlug != "/ping/"+pingKey+"/nightly-export" {
		t.Fatalf("URLs(nightly) = %q, %q", nightlyUUID, nightlySlug)
	}

	type want struct {
		kind    string // stored kind; "" when nothing is stored
		exit    int
		outcome upkeep.State // ingested outcome; "" when nothing is ingested
		code    int
		errText string
	}
	actions := []struct {
		suffix string
		want   want
	}{
		{"", want{kind: sqlite.PingSuccess, outcome: upkeep.StateUp}},
		{"/", want{kind: sqlite.PingSuccess, outcome: upkeep.StateUp}},
		{"/start", want{kind: sqlite.PingStart}},
		{"/fail", want{kind: sqlite.PingFail, outcome: upkeep.StateDown, errText: "the job reported failure"}},
		{"/log", want{kind: sqlite.PingLog}},
		{"/0", want{kind: sqlite.PingExit, outcome: upkeep.StateUp}},
		{"/3", want{kind: sqlite.PingExit, exit: 3, outcome: upkeep.StateDown, code: 3, errText: "the job reported failure (exit status 3)"}},
		{"/255", want{kind: sqlite.PingExit, exit: 255, outcome: upkeep.StateDown, code: 255, errText: "the job reported failure (exit status 255)"}},
		{"/007", want{kind: sqlite.PingExit, exit: 7, outcome: upkeep.StateDown, code: 7, errText: "the job reported failure (exit status 7)"}},
	}
	bases := map[string]string{
		"uuid":       uuidURL,
		"upper uuid": "/ping/" + strings.ToUpper(backupUUID),
		"slug":       slugURL,
	}
	for baseName, base := range bases {
		for _, method := range []string{http.MethodHead, http.MethodGet, http.MethodPost} {
			for _, a := range actions {
				before := len(e.pings("backup"))
				e.clk.Add(time.Second)
				status, body, h := e.do(method, base+a.suffix, "")
				name := baseName + " " + method + " " + a.suffix
				if status != http.StatusOK {
					t.Errorf("%s: status %d %q", name, status, body)
					continue
				}
				if method != http.MethodHead && body != "OK" {
					t.Errorf("%s: body %q", name, body)
				}
				if h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Ping-Body-Limit") != "100000" || h.Get("Access-Control-Allow-Origin") != "*" {
					t.Errorf("%s: headers %v", name, h)
				}
				ps := e.pings("backup")
				if len(ps) != before+1 {
					t.Errorf("%s: %d pings stored, want %d", name, len(ps), before+1)
					continue
				}
				p := ps[len(ps)-1]
				if p.Kind != a.want.kind || p.ExitStatus != a.want.exit || p.Method != method || p.UserAgent != "upkeep-test/1" ||
					p.RemoteAddr != "127.0.0.1" || !p.Time.Equal(e.clk.Now()) {
					t.Errorf("%s: stored %+v", name, p)
				}
				rs := e.in.take()
				if a.want.outcome == "" {
					if len(rs) != 0 {
						t.Errorf("%s: ingested %+v", name, rs)
					}
					continue
				}
				if len(rs) != 1 {
					t.Errorf("%s: ingested %d results", name, len(rs))
					continue
				}
				r := rs[0]
				if r.Monitor != "backup" || r.Location != upkeep.LocalLocation || !r.Time.Equal(p.Time) || r.Outcome != a.want.outcome ||
					r.Code != a.want.code || r.Error != a.want.errText {
					t.Errorf("%s: result %+v", name, r)
				}
			}
		}
	}

	// Malformed and unknown: 4xx, nothing stored, nothing ingested.
	before := len(e.pings("backup"))
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", uuidURL + "/256", 400, "invalid url format"},
		{"POST", slugURL + "/256", 400, "invalid url format"},
		{"GET", uuidURL + "/99999999999999999999999", 400, "invalid url format"},
		{"GET", uuidURL + "?rid=nope", 400, "invalid uuid format"},
		{"GET", uuidURL + "?rid=", 400, "invalid uuid format"},
		{"GET", uuidURL + "/-1", 404, "not found"},
		{"GET", uuidURL + "/START", 404, "not found"},
		{"GET", uuidURL + "/start/now", 404, "not found"},
		{"GET", "/ping/00000000-0000-4000-8000-000000000000", 404, "not found"},
		{"GET", "/ping/00000000-0000-4000-8000-000000000000/fail", 404, "not found"},
		{"GET", "/ping/" + pingKey + "/no-such-slug", 404, "not found"},
		{"GET", "/ping/" + pingKey + "/no-such-slug?create=1", 404, "not found"},
		{"GET", "/ping/wrong-key/backup", 404, "not found"},
		{"GET", "/ping/" + pingKey, 404, "not found"},
		{"GET", "/ping/" + pingKey + "/backup/start/x", 404, "not found"},
		{"GET", "/ping/" + pingKey + "//start", 404, "not found"},
		{"GET", "/ping/", 404, "not found"},
		{"GET", "/ping/" + pingKey + "%2Fbackup", 404, "not found"},
		{"GET", "/ping/" + pingKey + "/backup%2Fstart", 404, "not found"},
		{"PUT", uuidURL, 405, "method not allowed"},
		{"DELETE", uuidURL, 405, "method not allowed"},
		{"GET", uuidURL + "?x=" + strings.Repeat("a", maxURL), 414, "url too long"},
	} {
		status, body, h := e.do(tc.method, tc.path, "")
		if status != tc.status || body != tc.body {
			t.Errorf("%s %.80s = %d %q, want %d %q", tc.method, tc.path, status, body, tc.status, tc.body)
		}
		if tc.status == 405 && h.Get("Allow") != "HEAD, GET, POST" {
			t.Errorf("405 without Allow: %v", h)
		}
	}
	if n := len(e.pings("backup")); n != before {
		t.Errorf("malformed pings stored: %d, want %d", n, before)
	}
	if rs := e.in.take(); len(rs) != 0 {
		t.Errorf("malformed pings ingested: %+v", rs)
	}

	// Escaped characters in a segment are read as themselves.
	e.ping("/ping/" + pingKey + "/back%75p")

	// Other monitors: the slug of its own, and the generated UUID.
	e.ping(nightlySlug)
	e.ping(nightlyUUID + "/start")
	if ps := e.pings("nightly"); len(ps) != 2 || ps[0].Kind != sqlite.PingSuccess || ps[1].Kind != sqlite.PingStart {
		t.Errorf("nightly pings = %+v", ps)
	}
	// The monitor's name is not its slug when it has one of its own.
	if status, _, _ := e.do("GET", "/ping/"+pingKey+"/nightly", ""); status != 404 {
		t.Errorf("ping by name instead of slug = %d", status)
	}
}

func TestNoPingKey(t *testing.T) {
	e := newEnv(t, t0)
	e.pol = parsePolicy(t, strings.Replace(testPolicy, `server: {ping_key: "${PING_KEY}"}`, "", 1), "")
	if err := e.svc.Apply(context.Background(), e.pol); err != nil {
		t.Fatal(err)
	}
	uuidURL, slugURL := e.svc.URLs("backup")
	if uuidURL != "/ping/"+backupUUID || slugURL != "" {
		t.Errorf("URLs without a ping key = %q, %q", uuidURL, slugURL)
	}
	for _, path := range []string{"/ping//backup", "/ping/" + pingKey + "/backup"} {
		if status, _, _ := e.do("GET", path, ""); status != 404 {
			t.Errorf("GET %s without a ping key = %d", path, status)
		}
	}
	e.ping(uuidURL)
	if u, s := e.svc.URLs("nope"); u != "" || s != "" {
		t.Errorf("URLs of an unknown monitor = %q, %q", u, s)
	}
}

func TestRunPairing(t *testing.T) {
	e := newEnv(t, t0)
	const a, b, c = "0c8d6a53-8b0b-4f5f-9f0e-1b7e4e0c1a01", "0c8d6a53-8b0b-4f5f-9f0e-1b7e4e0c1a02", "0C8D6A53-8B0B-4F5F-9F0E-1B7E4E0C1A03"
	base, _ := e.svc.URLs("backup")
	step := func(d time.Duration, path string) upkeep.Result {
		t.Helper()
		e.clk.Set(t0.Add(d))
		e.ping(path)
		rs := e.in.take()
		if len(rs) > 1 {
			t.Fatalf("%s: %d results", path, len(rs))
		}
		if len(rs) == 0 {
			return upkeep.Result{}
		}
		return rs[0]
	}
	step(0, base+"/start?rid="+a)
	step(time.Second, base+"/start?rid="+b)
	if r := step(10*time.Second, base+"?rid="+a); r.Latency != 10*time.Second || r.Outcome != upkeep.StateUp {
		t.Errorf("success of run a: %+v", r)
	}
	if r := step(20*time.Second, base+"/3?rid="+b); r.Latency != 19*time.Second || r.Outcome != upkeep.StateDown || r.Code != 3 {
		t.Errorf("exit 3 of run b: %+v", r)
	}
	// Run b is paired already: a second completion has no duration.
	if r := step(21*time.Second, base+"/fail?rid="+b); r.Latency != 0 || r.Outcome != upkeep.StateDown {
		t.Errorf("second completion of run b: %+v", r)
	}
	// Without run ids: the adjacent start.
	step(30*time.Second, base+"/start")
	if r := step(45*time.Second, base); r.Latency != 15*time.Second {
		t.Errorf("success after a start: %+v", r)
	}
	if r := step(50*time.Second, base); r.Latency != 0 {
		t.Errorf("success without a start: %+v", r)
	}
	// A start with a run id is also ended by a completion without one; run ids are read in
	// any case.
	step(time.Minute, base+"/start?rid="+c)
	if r := step(time.Minute+2500*time.Millisecond, base+"/log"); r != (upkeep.Result{}) {
		t.Errorf("a log ping was ingested: %+v", r)
	}
	if r := step(2*time.Minute, base+"/0"); r.Latency != time.Minute || r.Outcome != upkeep.StateUp {
		t.Errorf("exit 0 after a start with a run id: %+v", r)
	}
	// A start left over from before the last completion is not paired without a run id.
	step(3*time.Minute, base+"/start?rid="+a)
	step(4*time.Minute, base+"?rid="+b)
	if r := step(5*time.Minute, base); r.Latency != 0 {
		t.Errorf("success pairing an old start: %+v", r)
	}
	// ... but is with its run id, after a restart too.
	e.restart()
	if r := step(6*time.Minute, base+"?rid="+a); r.Latency != 3*time.Minute {
		t.Errorf("success of an old run by its id after a restart: %+v", r)
	}

	ps := e.pings("backup")
	var durations []time.Duration
	for _, p := range ps {
		if p.Completion() {
			durations = append(durations, p.Duration())
		}
	}
	want := []time.Duration{10 * time.Second, 19 * time.Second, 0, 15 * time.Second, 0, time.Minute, 0, 0, 3 * time.Minute}
	if len(durations) != len(want) {
		t.Fatalf("durations %v, want %v", durations, want)
	}
	for i := range want {
		if durations[i] != want[i] {
			t.Errorf("durations %v, want %v", durations, want)
			break
		}
	}
	if ps[0].RID != a || ps[len(ps)-1].RID != a {
		t.Errorf("run ids stored: %q, %q", ps[0].RID, ps[len(ps)-1].RID)
	}
	if got := ps[8]; got.RID != strings.ToLower(c) {
		t.Errorf("run id stored as %q, want lower case", got.RID)
	}
}

func TestBody(t *testing.T) {
	e := newEnv(t, t0)
	base, _ := e.svc.URLs("backup")
	for _, tc := range []struct {
		name      string
		size      int
		truncated bool
	}{
		{"small", 10, false},
		{"at the limit", MaxBody, false},
		{"one more", MaxBody + 1, true},
		{"large", 3 * MaxBody, true},
	} {
		body := bytes.Repeat([]byte("0123456789\n"), tc.size/11+1)[:tc.size]
		e.clk.Add(time.Second)
		status, text, _ := e.do(http.MethodPost, base+"/log", string(body))
		if status != 200 || text != "OK" {
			t.Fatalf("%s: %d %q", tc.name, status, text)
		}
		ps := e.pings("backup")
		p := ps[len(ps)-1]
		if p.BodySize != int64(tc.size) || p.Truncated != tc.truncated {
			t.Errorf("%s: size %d truncated %v", tc.name, p.BodySize, p.Truncated)
		}
		kept, err := e.db.PingBody(context.Background(), "backup", p.Time)
		if err != nil {
			t.Fatal(err)
		}
		if want := body[:min(tc.size, MaxBody)]; !bytes.Equal(kept, want) {
			t.Errorf("%s: kept %d bytes, want the first %d", tc.name, len(kept), len(want))
		}
	}
	// A body larger than what is read at all is still a ping: the answer closes the connection.
	body, size, truncated, complete := readBody(bytes.NewReader(make([]byte, maxRead+1)))
	if len(body) != MaxBody || size != maxRead || !truncated || complete {
		t.Errorf("readBody of a huge body = %d, %d, %v, %v", len(body), size, truncated, complete)
	}
	if body, size, truncated, complete := readBody(http.NoBody); body != nil || size != 0 || truncated || !complete {
		t.Errorf("readBody(NoBody) = %v, %d, %v, %v", body, size, truncated, complete)
	}
}

func TestSameMillisecond(t *testing.T) {
	e := newEnv(t, t0) // the clock stands still
	base, slug := e.svc.URLs("backup")
	for _, p := range []string{base, base + "/start", slug + "/log", base + "/1"} {
		e.ping(p)
	}
	ps := e.pings("backup")
	if len(ps) != 4 {
		t.Fatalf("%d pings stored", len(ps))
	}
	for i, p := range ps {
		if want := t0.Add(time.Duration(i) * time.Millisecond); !p.Time.Equal(want) {
			t.Errorf("ping %d at %v, want %v", i, p.Time, want)
		}
	}
	rs := e.in.take()
	if len(rs) != 2 || !rs[0].Time.Equal(t0) || !rs[1].Time.Equal(t0.Add(3*time.Millisecond)) {
		t.Errorf("results %+v", rs)
	}
	// Still distinct after a restart, with the clock still where it was.
	e.restart()
	e.ping(base)
	if ps := e.pings("backup"); !ps[len(ps)-1].Time.Equal(t0.Add(4 * time.Millisecond)) {
		t.Errorf("ping after restart at %v", ps[len(ps)-1].Time)
	}
}

func TestStoreFailure(t *testing.T) {
	e := newEnv(t, t0)
	base, _ := e.svc.URLs("backup")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	status, body, h := e.do(http.MethodGet, base, "")
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || body == "" {
		t.Errorf("ping with the store closed = %d %q %v", status, body, h)
	}
	if rs := e.in.take(); len(rs) != 0 {
		t.Errorf("a ping that was not stored was ingested: %+v", rs)
	}
	// Malformed input is still 4xx.
	if status, _, _ := e.do(http.MethodGet, base+"/256", ""); status != http.StatusBadRequest {
		t.Errorf("malformed ping with the store closed = %d", status)
	}
	if err := e.svc.Apply(context.Background(), e.pol); err == nil {
		t.Error("Apply with the store closed succeeded")
	}
	e.db = nil
}

func TestStableUUID(t *testing.T) {
	e := newEnv(t, t0)
	nightly, _ := e.svc.URLs("nightly")
	hourly, _ := e.svc.URLs("hourly")
	if nightly == hourly || len(nightly) != len("/ping/")+36 {
		t.Fatalf("generated URLs %q, %q", nightly, hourly)
	}
	for range 2 {
		if err := e.svc.Apply(context.Background(), e.pol); err != nil {
			t.Fatal(err)
		}
		if u, _ := e.svc.URLs("nightly"); u != nightly {
			t.Errorf("after Apply: %q, want %q", u, nightly)
		}
	}
	e.restart()
	if u, _ := e.svc.URLs("nightly"); u != nightly {
		t.Errorf("after reopening the store: %q, want %q", u, nightly)
	}
	if u, _ := e.svc.URLs("hourly"); u != hourly {
		t.Errorf("after reopening the store: %q, want %q", u, hourly)
	}
	e.ping(nightly)

	// A reload without the monitor: its URL is not found; with it again: the same URL works.
	without := parsePolicy(t, `monitors: [{name: backup, heartbeat: {period: 1h}}]`, pingKey)
	if err := e.svc.Apply(context.Background(), without); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.do("GET", nightly, ""); status != 404 {
		t.Errorf("ping of a removed monitor = %d", status)
	}
	// backup lost its policy UUID but keeps it.
	if u, _ := e.svc.URLs("backup"); u != "/ping/"+backupUUID {
		t.Errorf("backup without a policy UUID: %q", u)
	}
	if err := e.svc.Apply(context.Background(), e.pol); err != nil {
		t.Fatal(err)
	}
	e.ping(nightly)
}

func TestEvaluatorErrors(t *testing.T) {
	e := newEnv(t, t0)
	p := parsePolicy(t, `monitors: [{name: web, tcp: {address: "127.0.0.1:1"}}]`, "")
	if _, err := e.svc.Evaluator(p.Monitors[0]); err == nil {
		t.Error("Evaluator of a tcp monitor succeeded")
	}
	// A monitor the service has not applied reports nothing.
	p = parsePolicy(t, `monitors: [{name: other, heartbeat: {period: 1m}}]`, "")
	ev, err := e.svc.Evaluator(p.Monitors[0])
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := ev.Evaluate(t0.AddDate(1, 0, 0)); ok {
		t.Errorf("unapplied monitor reported %+v", r)
	}
	// Settings the policy would refuse.
	bad := p.Monitors[0]
	hb := *bad.Heartbeat
	bad.Heartbeat = &hb
	hb.Period.Duration = 0
	if _, err := e.svc.Evaluator(bad); err == nil {
		t.Error("Evaluator without a schedule succeeded")
	}
	hb.Cron, hb.TZ = "0 6 * * *", "Nowhere/Else"
	if _, err := e.svc.Evaluator(bad); err == nil {
		t.Error("Evaluator with an unknown zone succeeded")
	}
	hb.TZ, hb.Cron = "UTC", "bad"
	if _, err := e.svc.Evaluator(bad); err == nil {
		t.Error("Evaluator with a bad cron expression succeeded")
	}
	hb.Cron, hb.Grace.Duration = "0 6 * * *", 0
	if _, err := e.svc.Evaluator(bad); err == nil {
		t.Error("Evaluator without grace succeeded")
	}
}
