package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/maintenance"
)

// windowsStub accepts every window it is given and remembers the last one.
type windowsStub struct{ last maintenance.NewWindow }

func (s *windowsStub) List(context.Context, string, int) ([]upkeep.Window, error) { return nil, nil }
func (s *windowsStub) Get(context.Context, string) (upkeep.Window, error) {
	return upkeep.Window{}, nil
}
func (s *windowsStub) End(context.Context, string) (upkeep.Window, error) {
	return upkeep.Window{}, nil
}
func (s *windowsStub) Create(_ context.Context, w maintenance.NewWindow) (upkeep.Window, error) {
	s.last = w
	return upkeep.Window{ID: "1", Source: upkeep.WindowAdHoc, Title: w.Title, Start: w.Start, End: w.End}, nil
}

var mnow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func postWindow(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/maintenance", strings.NewReader(body)))
	return rec
}

func TestMaintenanceCreateBody(t *testing.T) {
	stub := &windowsStub{}
	h := handleMaintenanceCreate(stub, func() time.Time { return mnow })
	for _, tc := range []struct {
		body string
		code int
		want string // in the body
	}{
		{`{"title": "x", "services": ["db"], "start": "2026-12-01 02:00", "end": "2026-12-01 04:00", "tz": "Europe/Berlin"}`, 201, `"start": "2026-12-01T01:00:00Z"`},
		{`{"title": "x", "services": ["db"], "duration": "90m"}`, 201, `"end": "2026-11-23T13:30:00Z"`},
		{`{"title": "x", "services": ["db"], "start": "2026-12-01T02:00:00Z", "duration": "1h"}`, 201, `"end": "2026-12-01T03:00:00Z"`},
		{`{"title": "x", "end": "soon"}`, 400, `end: \"soon\" is not a time`},
		{`{"title": "x", "end": "2026-12-01 04:00", "duration": "1h"}`, 400, "give end or duration, not both"},
		{`{"title": "x", "duration": "0s"}`, 400, `duration: \"0s\" is not a positive duration`},
		{`{"title": "x", "duration": "1h", "tz": "Mars/Base"}`, 400, "tz: "},
		{`{"title": "x", "duration": "1h", "notify_before": "a while"}`, 400, "notify_before: "},
		{`{"title": "x", "colour": "red"}`, 400, `unknown field \"colour\"`},
		{`[1, 2]`, 400, "invalid JSON body"},
	} {
		rec := postWindow(h, tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s\nwant %d with %s", tc.body, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
	if rec := postWindow(h, `{"title": "x", "monitors": ["m"], "duration": "1h", "notify": ["ops"], "notify_before": "0s"}`); rec.Code != 201 ||
		stub.last.NotifyBefore == nil || *stub.last.NotifyBefore != 0 || stub.last.Notify[0] != "ops" {
		t.Errorf("notify_before 0s: %d %+v", rec.Code, stub.last)
	}
}

// FuzzMaintenanceCreate: whatever the body, the answer is 201 or a JSON 400, never a panic or a
// 500, and an accepted window ends after it starts or was refused by the scheduler's checks.
func FuzzMaintenanceCreate(f *testing.F) {
	for _, s := range []string{
		`{"title": "x", "services": ["db"], "start": "2026-12-01 02:00", "end": "2026-12-01 04:00", "tz": "Europe/Berlin"}`,
		`{"title": "x", "duration": "90m", "notify_before": "2h"}`, `{"start": "2026-12-01T02:00:00+01:00"}`, `{}`, `null`, `{"tz": "Local"}`,
	} {
		f.Add(s)
	}
	h := handleMaintenanceCreate(&windowsStub{}, func() time.Time { return mnow })
	f.Fuzz(func(t *testing.T, body string) {
		rec := postWindow(h, body)
		if rec.Code != 201 && rec.Code != 400 {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body.String())
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%q: answer is not JSON: %s", body, rec.Body.String())
		}
	})
}
