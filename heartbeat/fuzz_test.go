package heartbeat

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// FuzzHandler sends arbitrary requests (method, target, body) to the ping handler on a real
// store: whatever arrives, the answer is never a 5xx and the handler never panics.
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ method, target, body string }{
		{"GET", "/ping/" + backupUUID, ""},
		{"POST", "/ping/" + backupUUID + "/fail", "it broke"},
		{"HEAD", "/ping/" + backupUUID + "/start?rid=0c8d6a53-8b0b-4f5f-9f0e-1b7e4e0c1a01", ""},
		{"GET", "/ping/" + backupUUID + "?rid=0c8d6a53-8b0b-4f5f-9f0e-1b7e4e0c1a01", ""},
		{"GET", "/ping/" + backupUUID + "/256", ""},
		{"GET", "/ping/" + backupUUID + "/3", ""},
		{"POST", "/ping/" + pingKey + "/backup/log", "line\n"},
		{"GET", "/ping/" + pingKey + "/nightly-export/0?create=1", ""},
		{"PUT", "/ping/x", ""},
		{"GET", "/ping/%2e%2e/%2e%2e", ""},
		{"GET", "/ping/" + backupUUID + "/start?rid=%zz", ""},
		{"OPTIONS", "*", ""},
	} {
		f.Add(seed.method, seed.target, []byte(seed.body))
	}
	dir := filepath.Join(f.TempDir(), "data")
	db, err := sqlite.Open(context.Background(), dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	clk := &clock{t: t0}
	svc := New(db, &ingester{}, nil, clk.Now)
	if err := svc.Apply(context.Background(), parsePolicy(f, testPolicy, pingKey)); err != nil {
		f.Fatal(err)
	}
	h := svc.Handler()

	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		// Build the request the way net/http's server does from the wire, so that the fuzzer
		// explores what a client can actually send.
		var raw bytes.Buffer
		raw.WriteString(method + " " + target + " HTTP/1.1\r\nHost: upkeep\r\n")
		raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return // not a request the server would hand to a handler
		}
		req.RemoteAddr = "192.0.2.1:1234"
		clk.Add(time.Millisecond)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %q", method, target, rec.Code, rec.Body.String())
		}
		if rec.Code != 200 && !strings.Contains(rec.Header().Get("Content-Type"), "text/plain") {
			t.Fatalf("%s %q: %d without a text answer", method, target, rec.Code)
		}
	})
}
