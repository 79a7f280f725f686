package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressState is how far one transfer (a destination's snapshot, a restore) has got.
type progressState struct {
	Label        string
	Files, Bytes int64
	Total        int64 // bytes expected; 0 when unknown
	// Estimated says Total is a guess (a backup's previous run), not a known size.
	Estimated bool
	Elapsed   time.Duration
}

// rate is the bytes per second so far, 0 before anything has been timed.
func (s progressState) rate() float64 {
	if s.Elapsed < time.Millisecond {
		return 0
	}
	return float64(s.Bytes) / s.Elapsed.Seconds()
}

// eta is the time left at the rate so far; ok is false when it cannot be told (no total, no
// rate yet, or more read than the total).
func (s progressState) eta() (left time.Duration, ok bool) {
	r := s.rate()
	if s.Total <= 0 || r <= 0 || s.Bytes >= s.Total {
		return 0, false
	}
	return time.Duration(float64(s.Total-s.Bytes) / r * float64(time.Second)).Round(time.Second), true
}

// progressLine renders s as one terminal line of at most width columns: label, a bar and the
// percentage when the total is known, bytes, files, rate and ETA. An estimated total is marked
// with "~" and named as the last run's size.
func progressLine(s progressState, width int) string {
	var b strings.Builder
	if s.Total > 0 {
		fmt.Fprintf(&b, "%s/%s%s", bytesText(s.Bytes), approx(s.Estimated), bytesText(s.Total))
	} else {
		b.WriteString(bytesText(s.Bytes))
	}
	fmt.Fprintf(&b, "  %d files", s.Files)
	if r := s.rate(); r > 0 {
		fmt.Fprintf(&b, "  %s/s", bytesText(int64(r)))
	}
	if left, ok := s.eta(); ok {
		fmt.Fprintf(&b, "  ETA %s%s", approx(s.Estimated), clockText(left))
		if s.Estimated {
			b.WriteString(" (by the last run's size)")
		}
	}
	figures := b.String()
	if s.Total <= 0 {
		return fit(s.Label+"  "+figures, width)
	}
	frac := min(float64(s.Bytes)/float64(s.Total), 1)
	pct := fmt.Sprintf("%3.0f%%", frac*100)
	// The bar takes what the rest leaves, within 10 to 30 columns; no room, no bar.
	barWidth := min(width-len(s.Label)-len(pct)-len(figures)-8, 30)
	if barWidth < 10 {
		return fit(s.Label+"  "+pct+"  "+figures, width)
	}
	filled := int(frac * float64(barWidth))
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	if filled > 0 && filled < barWidth {
		bar = strings.Repeat("=", filled-1) + ">" + strings.Repeat(" ", barWidth-filled)
	}
	return fit(s.Label+"  ["+bar+"] "+pct+"  "+figures, width)
}

func approx(estimated bool) string {
	if estimated {
		return "~"
	}
	return ""
}

// clockText writes a duration as m:ss, or h:mm:ss from an hour on.
func clockText(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// fit cuts line to width columns (runes; the lines are ASCII but for the label).
func fit(line string, width int) string {
	if width <= 0 {
		return line
	}
	r := []rune(line)
	if len(r) <= width {
		return line
	}
	return string(r[:width])
}

// meter shows progress: on a terminal one line redrawn in place at most every drawEvery, else
// a plain line per label at most every plainEvery. It is safe for concurrent use (kopia reports
// a restore's progress from its workers).
type meter struct {
	w     io.Writer
	tty   bool
	width int
	now   func() time.Time

	mu        sync.Mutex
	drawn     bool // a progress line is on the terminal's current line
	lastDraw  time.Time
	lastPlain map[string]time.Time
}

const (
	drawEvery  = 100 * time.Millisecond
	plainEvery = time.Second
)

// newMeter returns a meter on w, drawing in place when w is a terminal.
func newMeter(w io.Writer) *meter {
	m := &meter{w: w, now: time.Now, width: 80, lastPlain: map[string]time.Time{}}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		m.tty = true
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			m.width = width - 1 // writing the last column wraps on some terminals
		}
	}
	return m
}

// show reports s. plain is the line written when w is not a terminal; not before something
// has been read.
func (m *meter) show(s progressState, plain string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.tty {
		if s.Files == 0 && s.Bytes == 0 {
			return // nothing to tell yet
		}
		if now.Sub(m.lastPlain[s.Label]) >= plainEvery {
			m.lastPlain[s.Label] = now
			fmt.Fprintln(m.w, plain)
		}
		return
	}
	if now.Sub(m.lastDraw) < drawEvery {
		return
	}
	m.lastDraw = now
	fmt.Fprint(m.w, "\r\x1b[K"+progressLine(s, m.width))
	m.drawn = true
}

// println writes line, first clearing the progress line from the terminal.
func (m *meter) println(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearLocked()
	fmt.Fprintln(m.w, line)
}

// clear removes the progress line from the terminal, if one is drawn.
func (m *meter) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearLocked()
}

func (m *meter) clearLocked() {
	if m.drawn {
		fmt.Fprint(m.w, "\r\x1b[K")
		m.drawn = false
		m.lastDraw = time.Time{}
	}
}
