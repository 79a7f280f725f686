package subscription

import (
	"sync"
	"time"
)

// limiter allows n events per key in a fixed window of length per. It lives in memory: a
// restart forgets the counts, which at worst lets a few more requests through once.
type limiter struct {
	n   int
	per time.Duration

	mu      sync.Mutex
	windows map[string]window
}

type window struct {
	start time.Time
	count int
}

func newLimiter(n int, per time.Duration) *limiter {
	return &limiter{n: n, per: per, windows: map[string]window{}}
}

// allow counts an event for key at now and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.windows) > 10000 { // forget the windows that are over, so the map stays small
		for k, w := range l.windows {
			if now.Sub(w.start) >= l.per {
				delete(l.windows, k)
			}
		}
	}
	w := l.windows[key]
	if now.Sub(w.start) >= l.per {
		w = window{start: now}
	}
	w.count++
	l.windows[key] = w
	return w.count <= l.n
}
