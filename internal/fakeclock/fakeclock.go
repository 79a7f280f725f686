// Package fakeclock is an engine.Clock for tests: it moves only when the test advances it, so
// no test sleeps or depends on how fast the machine is. (engine's own tests keep their copy in
// clock_test.go: they are in package engine, which this package imports, so they cannot use it.)
package fakeclock

import (
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep/engine"
)

// Clock is a fake engine.Clock.
type Clock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers map[*timer]struct{}
}

// New returns a clock standing at t.
func New(t time.Time) *Clock {
	c := &Clock{now: t, timers: map[*timer]struct{}{}}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock has been advanced by d.
func (c *Clock) NewTimer(d time.Duration) engine.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t := range c.timers {
		if !t.at.After(c.now) {
			delete(c.timers, t)
			t.ch <- c.now
		}
	}
	c.cond.Broadcast()
}

// BlockUntil waits until n timers are armed.
func (c *Clock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.cond.Wait()
	}
}

type timer struct {
	c  *Clock
	ch chan time.Time
	at time.Time
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	delete(t.c.timers, t)
	t.drain()
	t.c.cond.Broadcast()
	return active
}

func (t *timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	t.drain()
	t.at = t.c.now.Add(d)
	if d <= 0 {
		delete(t.c.timers, t)
		t.ch <- t.c.now
	} else {
		t.c.timers[t] = struct{}{}
	}
	t.c.cond.Broadcast()
	return active
}

func (t *timer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
