package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     progressState
		width int
		want  string
	}{
		{"known total", progressState{Label: "onsite", Files: 120, Bytes: 50e6, Total: 200e6, Elapsed: 10 * time.Second}, 100,
			"onsite  [======>                       ]  25%  50.0 MB/200.0 MB  120 files  5.0 MB/s  ETA 0:30"},
		{"estimated total names its source", progressState{Label: "db", Files: 2, Bytes: 10e6, Total: 40e6, Estimated: true, Elapsed: 5 * time.Second}, 120,
			"db  [======>                       ]  25%  10.0 MB/~40.0 MB  2 files  2.0 MB/s  ETA ~0:15 (by the last run's size)"},
		{"unknown total: no bar, no ETA", progressState{Label: "db", Files: 1, Bytes: 3e6, Elapsed: 2 * time.Second}, 100,
			"db  3.0 MB  1 files  1.5 MB/s"},
		{"past the estimate: full bar, no ETA", progressState{Label: "db", Files: 1, Bytes: 50e6, Total: 40e6, Estimated: true, Elapsed: 10 * time.Second}, 100,
			"db  [==============================] 100%  50.0 MB/~40.0 MB  1 files  5.0 MB/s"},
		{"nothing timed yet: no rate", progressState{Label: "restoring", Total: 1e9}, 100,
			"restoring  [                              ]   0%  0 B/1.0 GB  0 files"},
		{"hours", progressState{Label: "x", Bytes: 1e9, Total: 5e9, Elapsed: time.Hour}, 100,
			"x  [=====>                        ]  20%  1.0 GB/5.0 GB  0 files  277.8 kB/s  ETA 4:00:00"},
		{"narrow terminal drops the bar", progressState{Label: "onsite", Files: 120, Bytes: 50e6, Total: 200e6, Elapsed: 10 * time.Second}, 64,
			"onsite   25%  50.0 MB/200.0 MB  120 files  5.0 MB/s  ETA 0:30"},
		{"very narrow terminal cuts the line", progressState{Label: "onsite", Files: 120, Bytes: 50e6, Total: 200e6, Elapsed: 10 * time.Second}, 20,
			"onsite   25%  50.0 M"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := progressLine(tc.s, tc.width); got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
			if got := progressLine(tc.s, tc.width); len(got) > tc.width {
				t.Errorf("%d columns, wider than %d", len(got), tc.width)
			}
		})
	}
}

// TestMeterTerminal: on a terminal the line is redrawn in place at most every 100 ms and cleared
// before other output; elsewhere a plain line per label and second, with no control characters.
func TestMeterTerminal(t *testing.T) {
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	m := &meter{w: &out, tty: true, width: 100, now: func() time.Time { return now }, lastPlain: map[string]time.Time{}}
	s := progressState{Label: "onsite", Bytes: 1e6, Total: 4e6, Elapsed: time.Second}
	m.show(s, "plain")
	now = now.Add(50 * time.Millisecond)
	s.Bytes = 2e6
	m.show(s, "plain") // too soon: not drawn
	now = now.Add(50 * time.Millisecond)
	s.Bytes = 3e6
	m.show(s, "plain")
	m.println("onsite: snapshot 1234")
	want := "\r\x1b[K" + progressLine(progressState{Label: "onsite", Bytes: 1e6, Total: 4e6, Elapsed: time.Second}, 100) +
		"\r\x1b[K" + progressLine(s, 100) + "\r\x1b[K" + "onsite: snapshot 1234\n"
	if out.String() != want {
		t.Errorf("terminal output\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	m.clear() // nothing drawn since: nothing to clear
	if out.Len() != 0 {
		t.Errorf("clear with no line drawn wrote %q", out.String())
	}

	out.Reset()
	m = &meter{w: &out, width: 100, now: func() time.Time { return now }, lastPlain: map[string]time.Time{}}
	m.show(progressState{Label: "a", Files: 1}, "a 1")
	m.show(progressState{Label: "b", Files: 1}, "b 1")
	now = now.Add(500 * time.Millisecond)
	m.show(progressState{Label: "a", Files: 1}, "a 2")
	now = now.Add(500 * time.Millisecond)
	m.show(progressState{Label: "a", Files: 1}, "a 3")
	m.println("done")
	m.clear()
	if got := out.String(); got != "a 1\nb 1\na 3\ndone\n" || strings.ContainsAny(got, "\r\x1b") {
		t.Errorf("plain output %q", got)
	}
}
