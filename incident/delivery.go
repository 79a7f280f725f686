package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// Event is a notification as a channel receives it (the notify package's Event has the same
// fields; serve converts).
type Event struct {
	Kind     string // EventDown, EventDegraded, EventRecovered, ...
	Key      string // idempotency key: a receiver that sees it twice drops the repeat
	At       time.Time
	Incident EventIncident
	Monitor  string
	State    string
	Cause    string
	Step     int
}

// EventIncident is the incident as a notification tells it.
type EventIncident struct {
	ID         int64
	Title      string
	Status     string
	Impact     string
	Services   []string
	Monitors   []string
	StartedAt  time.Time
	ResolvedAt time.Time
	URL        string
	AckURL     string
	Message    string
	// Window is the ID of the maintenance window a maintenance notice is about (ID is then 0).
	Window string
}

// Sender hands an event to one channel.
type Sender interface {
	Send(ctx context.Context, ev Event) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, ev Event) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, ev Event) error { return f(ctx, ev) }

// DeliveryConfig configures the delivery workers.
type DeliveryConfig struct {
	// Senders returns the sender of a channel, false if the policy has no such channel.
	Senders func(channel string) (Sender, bool)
	// IsPermanent reports whether a send error must not be retried; errors wrapping
	// ErrPermanent always are.
	IsPermanent func(error) bool
	// RetryAfter returns how long the provider asked to wait before trying again (an HTTP 429
	// or 503 with Retry-After), or 0; nil means providers never ask. A retry never comes
	// sooner than that, up to MaxRetryAfter.
	RetryAfter func(error) time.Duration
	// MaxAttempts is how often a notification is tried before it is marked failed (default 12:
	// with the backoff below, about 50 minutes of trying).
	MaxAttempts int
	// Rate and Burst limit each channel (default 10 per second, bursts of 50).
	Rate  float64
	Burst int
	// Limits returns a channel's own rate and burst (the policy's channels.<name>.rate and
	// burst); a zero value means the default above. It is asked before every send, so a reload
	// takes effect at once. Nil: every channel has the default.
	Limits func(channel string) (rate float64, burst int)
	// Parallel is how many notifications of one channel may be sent at once (default
	// DefaultParallel); the notifications of one incident always go one after the other, in
	// order. A crash may find up to Parallel notifications per channel sent but not yet
	// marked sent: they are sent again after the restart.
	Parallel int
	// SendTimeout bounds one attempt (default 30s).
	SendTimeout time.Duration
	// Jitter returns a number in [0, 1) (default math/rand/v2); tests fix it.
	Jitter func() float64
}

// Backoff bounds: attempt n waits between half and all of min(backoffBase * 2^(n-1), backoffMax).
const (
	backoffBase = 5 * time.Second
	backoffMax  = 10 * time.Minute
)

// DefaultParallel is how many notifications of one channel are sent at once by default: with
// one, 1,000 pages of a mass outage waited for each other's SMTP session and store write, and
// a receiver taking 50 ms made the last wait 50 s.
const DefaultParallel = 8

// MaxRetryAfter caps the wait a provider may ask for: a Retry-After of a day (a misconfigured
// or hostile answer) must not park a page for a day. Beyond it the notification is tried
// after MaxRetryAfter, and the provider's own rate limit answers again if it still applies.
const MaxRetryAfter = time.Hour

// RetryWait returns the wait before attempt+1, after attempt attempts failed, for a jitter j
// in [0, 1) and the wait the provider asked for (0 if none): the backoff, or the provider's
// wait if that is longer, capped at MaxRetryAfter.
func RetryWait(attempt int, j float64, asked time.Duration) time.Duration {
	return max(Backoff(attempt, j), min(asked, MaxRetryAfter))
}

// Backoff returns the wait before attempt+1, after attempt attempts failed, for a jitter j in
// [0, 1): "equal jitter", so retries of many notifications spread out but never come sooner
// than half the nominal wait.
func Backoff(attempt int, j float64) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d/2 + time.Duration(j*float64(d/2))
}

// Delivery sends the outbox's pending notifications: a few workers (lanes) per channel, so a
// slow or failing channel delays only itself, a slow receiver does not hold every page of a mass
// outage behind one connection, and nothing here runs on the engine's goroutines. A channel's
// lanes share its rate limit; an incident's notifications always take the same lane.
type Delivery struct {
	m   *Manager
	cfg DeliveryConfig
	log *slog.Logger

	wake chan struct{}

	mu       sync.Mutex
	inflight map[int64]bool
	queues   map[string][]chan upkeep.Notification // per channel, its lanes
	// pass counts the reads of the outbox; finished holds, for a notification whose attempt
	// ended, the pass current then. A read that began before the attempt's outcome was stored
	// may still show it pending: that pass must not send it again.
	pass     uint64
	finished map[int64]uint64
}

// NewDelivery returns the delivery workers of m's outbox; m wakes them when it enqueues.
func NewDelivery(m *Manager, cfg DeliveryConfig) *Delivery {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 50
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Senders == nil {
		cfg.Senders = func(string) (Sender, bool) { return nil, false }
	}
	d := &Delivery{m: m, cfg: cfg, log: m.log, wake: make(chan struct{}, 1),
		inflight: map[int64]bool{}, queues: map[string][]chan upkeep.Notification{}, finished: map[int64]uint64{}}
	m.notify = d.Wake
	return d
}

// Wake makes the workers look at the outbox now.
func (d *Delivery) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends pending notifications until ctx ends. Notifications left pending (not sent, or
// sent but not yet marked) are sent by the next Run, after a restart.
func (d *Delivery) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := d.m.clock.NewTimer(time.Minute)
	defer timer.Stop()
	for {
		wait := time.Minute // a safety net; wake-ups and retry times come first
		pass := d.newPass()
		pending, err := d.m.store.PendingNotifications(ctx, 5000)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.log.Error("outbox: reading pending notifications failed", "err", err)
			wait = 5 * time.Second
		}
		d.m.metrics.pending.Set(float64(len(pending)))
		now := d.m.clock.Now()
		for _, n := range pending {
			if at := n.NextAttemptAt; at.After(now) {
				wait = min(wait, at.Sub(now))
				continue
			}
			if !d.dispatch(ctx, &wg, n, pass) {
				wait = min(wait, 100*time.Millisecond) // its channel's queue is full: soon
			}
		}
		timer.Stop()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-timer.C():
		}
	}
}

// newPass starts a read of the outbox and forgets the attempts that ended before it.
func (d *Delivery) newPass() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pass++
	for id, p := range d.finished {
		if p < d.pass {
			delete(d.finished, id)
		}
	}
	return d.pass
}

// dispatch hands n, as read by pass, to its channel's worker unless it is in flight already or
// its attempt ended during or after that read (the read may be stale: the next one decides);
// false if the worker's queue is full.
func (d *Delivery) dispatch(ctx context.Context, wg *sync.WaitGroup, n upkeep.Notification, pass uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inflight[n.ID] {
		return true
	}
	if p, ok := d.finished[n.ID]; ok && p >= pass {
		return true
	}
	lanes, ok := d.queues[n.Channel]
	if !ok {
		lanes = make([]chan upkeep.Notification, d.cfg.Parallel)
		rate, burst := d.limits(n.Channel)
		lim := &limiter{b: bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}}
		for i := range lanes {
			q := make(chan upkeep.Notification, 256)
			lanes[i] = q
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.worker(ctx, q, lim)
			}()
		}
		d.queues[n.Channel] = lanes
	}
	select {
	case lanes[uint64(n.Incident)%uint64(len(lanes))] <- n:
		d.inflight[n.ID] = true
		return true
	default:
		return false
	}
}

// limits returns the rate and burst of a channel: its own, or the defaults.
func (d *Delivery) limits(channel string) (float64, int) {
	rate, burst := d.cfg.Rate, d.cfg.Burst
	if d.cfg.Limits != nil {
		r, b := d.cfg.Limits(channel)
		if r > 0 {
			rate = r
		}
		if b > 0 {
			burst = b
		}
	}
	return rate, burst
}

// limiter is what the lanes of one channel share: its rate limit, and the time until which
// the provider asked it to wait.
type limiter struct {
	mu    sync.Mutex
	b     bucket
	until time.Time
}

// reserve takes a token under the channel's current rate and burst and returns how long to
// wait before using it.
func (l *limiter) reserve(now time.Time, rate float64, burst int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.rate, l.b.burst = rate, float64(burst)
	return max(l.b.take(now), l.until.Sub(now))
}

// pause makes the channel wait until t.
func (l *limiter) pause(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.until) {
		l.until = t
	}
}

// worker sends the notifications of one lane of a channel, one after the other.
func (d *Delivery) worker(ctx context.Context, q chan upkeep.Notification, lim *limiter) {
	timer := d.m.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-q:
			rate, burst := d.limits(n.Channel)
			if w := lim.reserve(d.m.clock.Now(), rate, burst); w > 0 {
				timer.Stop()
				timer.Reset(w)
				select {
				case <-ctx.Done():
					return
				case <-timer.C():
				}
			}
			retry, asked := d.deliver(ctx, n)
			if asked > 0 {
				// The provider asked the channel, not just this notification, to wait: the
				// next ones would be refused the same way.
				lim.pause(d.m.clock.Now().Add(min(asked, MaxRetryAfter)))
			}
			d.mu.Lock()
			delete(d.inflight, n.ID)
			d.finished[n.ID] = d.pass
			d.mu.Unlock()
			if retry {
				// Its next attempt may come before the loop's next read of the outbox. (After a
				// send there is nothing new to read: waking the loop after every send made it
				// re-read the whole outbox once per notification, quadratic in a mass outage.)
				d.Wake()
			}
		}
	}
}

// Flush sends, one after the other and without rate limits, every pending notification that
// is due now; it is the delivery loop without goroutines, for tests and tools.
func (d *Delivery) Flush(ctx context.Context) error {
	pending, err := d.m.store.PendingNotifications(ctx, 5000)
	if err != nil {
		return err
	}
	now := d.m.clock.Now()
	for _, n := range pending {
		if !n.NextAttemptAt.After(now) {
			d.deliver(ctx, n)
		}
	}
	return nil
}

// deliver makes one attempt to send n and records its outcome. It reports whether n is to be
// tried again and how long the provider asked to wait before that, if it did. The outcome is
// stored before it returns: a lane sends its next notification only then, so that a crash
// finds at most one notification per lane sent but not marked (the at-least-once window).
func (d *Delivery) deliver(ctx context.Context, n upkeep.Notification) (retry bool, asked time.Duration) {
	attempts := n.Attempts + 1
	log := d.log.With("key", n.Key, "channel", n.Channel, "event", n.Event, "incident", n.Incident, "attempt", attempts)
	fail := func(err error) {
		now := d.m.clock.Now()
		d.m.metrics.delivered.WithLabelValues(n.Channel, "failed").Inc()
		log.Error("notification failed; not retrying", "err", err)
		if merr := d.m.store.MarkFailed(ctx, n.ID, now, attempts, err.Error()); merr != nil {
			log.Error("outbox: recording a failed notification", "err", merr)
		}
	}
	s, ok := d.cfg.Senders(n.Channel)
	if !ok {
		fail(fmt.Errorf("%w: channel %q is not defined in the policy", ErrPermanent, n.Channel))
		return false, 0
	}
	ev, err := d.event(ctx, n)
	if err != nil {
		log.Error("outbox: building the notification", "err", err)
		return false, 0
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	err = s.Send(sctx, ev)
	cancel()
	now := d.m.clock.Now()
	switch {
	case err == nil:
		d.m.metrics.delivered.WithLabelValues(n.Channel, "sent").Inc()
		d.m.metrics.delay.Observe(max(now.Sub(n.CreatedAt), 0).Seconds())
		log.Info("notification sent")
		// A crash before this write is the at-least-once window: the notification stays
		// pending and is sent again, with the same key, after the restart.
		if merr := d.m.store.MarkSent(context.WithoutCancel(ctx), n.ID, now, attempts); merr != nil {
			log.Error("outbox: recording a sent notification; it may be sent again", "err", merr)
		}
	case ctx.Err() != nil:
		// Shutting down: the attempt does not count; the notification stays pending.
	case errors.Is(err, ErrPermanent) || (d.cfg.IsPermanent != nil && d.cfg.IsPermanent(err)) || attempts >= d.cfg.MaxAttempts:
		fail(err)
	default:
		if d.cfg.RetryAfter != nil {
			asked = d.cfg.RetryAfter(err)
		}
		next := now.Add(RetryWait(attempts, d.cfg.Jitter(), asked))
		d.m.metrics.delivered.WithLabelValues(n.Channel, "retry").Inc()
		if asked > 0 {
			log = log.With("retry_after", asked)
		}
		log.Warn("notification not sent; will retry", "err", err, "retry_at", next)
		if merr := d.m.store.MarkRetry(ctx, n.ID, attempts, next, err.Error()); merr != nil {
			log.Error("outbox: recording a retry", "err", merr)
		}
		return true, asked
	}
	return false, 0
}

func (d *Delivery) event(ctx context.Context, n upkeep.Notification) (Event, error) {
	p := n.Payload
	var u, ack string
	if n.Incident != 0 {
		var err error
		if u, ack, err = d.m.URLs(ctx, n.Incident, n.CreatedAt); err != nil {
			return Event{}, err
		}
	} else if p.Window != "" {
		// A maintenance notice: it links to the window; there is nothing to acknowledge.
		u = strings.TrimRight(d.m.policy().Server.PublicURL, "/") + "/api/v1/maintenance/" + url.PathEscape(p.Window)
	}
	return Event{
		Kind: n.Event, Key: n.Key, At: p.At, Monitor: p.Monitor, State: p.State, Cause: p.Cause, Step: n.Step,
		Incident: EventIncident{
			ID: n.Incident, Title: p.Title, Status: string(p.Status), Impact: string(p.Impact),
			Services: p.Services, Monitors: p.Monitors, StartedAt: p.StartedAt, ResolvedAt: p.ResolvedAt,
			URL: u, AckURL: ack, Message: p.Message, Window: p.Window,
		},
	}, nil
}

// bucket is a token bucket: rate tokens a second, at most burst saved up.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// take takes a token and returns how long to wait before using it.
func (b *bucket) take(now time.Time) time.Duration {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
