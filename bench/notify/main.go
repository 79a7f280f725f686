// Command notify benchmarks notification latency under a mass outage: N services, one HTTP
// monitor each, all of whose targets start failing at the same moment, so that N incidents open
// at once and each pages an e-mail channel (a real SMTP server in this process,
// github.com/emersion/go-smtp) and a webhook channel (a local HTTP receiver that verifies the
// HMAC signature). It runs Upkeep's real engine, store (a temporary directory), incident manager
// and delivery workers:
//
//	go run ./bench/notify -n 1000
//	go run ./bench/notify -n 1000 -slow 50ms        # receivers that take 50 ms per message
//	go run ./bench/notify -n 1000 -rate 0           # the production rate limit (10/s per channel)
//	go run ./bench/notify -n 1000 -parallel 1       # one send at a time per channel
//
// For every notification it measures the time from the transition's At (the confirming result)
// to the moment the delivery worker calls Send ("handed"), and to the moment the peer has the
// whole message ("received"), and prints p50/p99/max of both, per channel, with the throughput
// and any duplicate or missing deliveries.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/check"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/notify"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		os.Exit(1)
	}
}

const hookSecret = "bench-webhook-secret"

func run() error {
	n := flag.Int("n", 1000, "number of services (one monitor, one incident each)")
	slow := flag.Duration("slow", 0, "how long each receiver takes per message (SMTP DATA, webhook answer)")
	rate := flag.Float64("rate", 1e6, "per-channel rate limit, notifications per second (0: the delivery default)")
	burst := flag.Int("burst", 0, "per-channel burst (0: the delivery default, or -n when -rate is given)")
	parallel := flag.Int("parallel", 0, "notifications of one channel sent at once (0: the delivery default)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up waiting for the notifications after this long")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the outage (from the targets failing to the last message) to this file")
	flag.Parse()
	if *burst == 0 && *rate > 0 {
		*burst = *n
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	m := newMeasure()

	// Peers: the targets, the SMTP server and the webhook receiver.
	var failing atomic.Bool
	targets, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	if err != nil {
		return err
	}
	defer targets.Close()
	smtpAddr, stopSMTP, err := startSMTP(m, *slow)
	if err != nil {
		return err
	}
	defer stopSMTP()
	hook, err := serve(webhookReceiver(m, *slow))
	if err != nil {
		return err
	}
	defer hook.Close()

	p, err := benchPolicy(*n, targets.Addr().String(), smtpAddr, hook.Addr().String())
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "upkeep-bench-notify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, dir, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	eng := engine.New(engine.Config{Store: db, Factory: factory{}, Logger: logger})
	mgr := incident.NewManager(incident.Config{Store: db, Logger: logger})
	senders, err := channelSenders(p, m)
	if err != nil {
		return err
	}
	cfg := incident.DeliveryConfig{
		Senders:     func(c string) (incident.Sender, bool) { s, ok := senders[c]; return s, ok },
		IsPermanent: func(err error) bool { return errors.Is(err, notify.ErrPermanent) },
		RetryAfter:  notify.RetryAfter,
		Rate:        *rate,
		Burst:       *burst,
		Parallel:    *parallel,
	}
	delivery := incident.NewDelivery(mgr, cfg)
	if err := eng.Apply(ctx, p); err != nil {
		return err
	}
	mgr.Apply(p)

	// The benchmark's own subscription: it sees every transition, as the manager does.
	transitions, unsubscribe := eng.Subscribe(4 * *n)
	defer unsubscribe()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = eng.Run(runCtx) }()
	go func() { defer wg.Done(); _ = mgr.Run(runCtx, eng) }()
	go func() { defer wg.Done(); _ = delivery.Run(runCtx) }()
	defer wg.Wait()
	defer stop()

	// Wait until every monitor is up, then make every target fail at once. On a loaded machine a
	// check may time out at the start: that monitor goes down (and pages) and up again first;
	// only what happens after the targets fail is measured.
	states := map[string]upkeep.State{}
	for up := 0; up < *n; {
		select {
		case t := <-transitions:
			if states[t.Monitor] == upkeep.StateUp {
				up--
			}
			states[t.Monitor] = t.To
			if t.To == upkeep.StateUp {
				up++
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The pages and recovery notices of such monitors go out before the outage begins.
	for {
		pending, err := db.PendingNotifications(ctx, 1)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if open, err := db.Incidents(ctx, "open", 1); err != nil || len(open) > 0 {
		return fmt.Errorf("an incident is still open before the outage (%v): run again", err)
	}
	fmt.Printf("services %d, monitors every %s, receivers slow by %s, rate limit %s, parallel %d (0: default)\n", *n, p.Monitors[0].Every.Duration, *slow, rateString(cfg), *parallel)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	failAt := time.Now()
	cpu0 := cpuTime()
	m.armed.Store(true)
	failing.Store(true)

	want := 2 * *n
	deadline := time.After(*timeout)
	down := 0
	for m.receivedCount() < want || down < *n {
		select {
		case t := <-transitions:
			if t.To == upkeep.StateDown {
				m.confirmed(t.Monitor, t.At, time.Now())
				down++
			}
		case <-m.progress:
		case <-deadline:
			fmt.Printf("timed out after %s: %d of %d monitors down, %d of %d notifications received\n", *timeout, down, *n, m.receivedCount(), want)
			if err := m.outbox(ctx, db, failAt, want); err != nil {
				return err
			}
			return m.report(failAt, want)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	cpu, wall := cpuTime()-cpu0, time.Since(failAt)
	fmt.Printf("cpu (this process: engine, checks, incidents, delivery and both receivers): %.2f s in %.2f s (%.0f%% of one core), %.2f ms per notification; load average %s\n",
		cpu.Seconds(), wall.Seconds(), 100*cpu.Seconds()/wall.Seconds(), cpu.Seconds()*1000/float64(want), loadAvg())
	// Give a duplicate a moment to show up before counting.
	time.Sleep(2 * time.Second)
	if err := m.outbox(ctx, db, failAt, want); err != nil {
		return err
	}
	return m.report(failAt, want)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg returns the 1-minute load average of the machine, which these numbers depend on.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func rateString(cfg incident.DeliveryConfig) string {
	if cfg.Rate == 0 {
		return "the default"
	}
	return fmt.Sprintf("%g/s, burst %d", cfg.Rate, cfg.Burst)
}

// benchPolicy builds the policy: n services with a monitor each, every 1 s (so that the n
// transitions fall within one second), and one escalation step paging both channels.
func benchPolicy(n int, target, smtpAddr, hook string) (*policy.Policy, error) {
	host, port, _ := net.SplitHostPort(smtpAddr)
	var b strings.Builder
	fmt.Fprintf(&b, "server: {public_url: \"http://127.0.0.1:8080\"}\n")
	fmt.Fprintf(&b, "channels:\n")
	fmt.Fprintf(&b, "  mail: {email: {to: [ops@example.com], smtp: {host: %q, port: %s, tls: none, from: \"Upkeep <upkeep@example.com>\"}}}\n", host, port)
	fmt.Fprintf(&b, "  hook: {webhook: {url: \"http://%s/hook\", secret: %q}}\n", hook, hookSecret)
	fmt.Fprintf(&b, "escalations:\n  - {name: default, steps: [{after: 0s, notify: [mail, hook]}]}\n")
	fmt.Fprintf(&b, "services:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: s%05d}\n", i)
	}
	fmt.Fprintf(&b, "monitors:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: m%05d, service: s%05d, every: 1s, timeout: 900ms, http: {url: \"http://%s/t/%d\"}}\n", i, i, target, i)
	}
	return policy.Parse("bench.yaml", []byte(b.String()), nil)
}

type factory struct{}

func (factory) Checker(m policy.Monitor) (engine.Checker, error) {
	return check.New(m, check.Options{})
}
func (factory) Evaluator(policy.Monitor) (engine.Evaluator, error) {
	return nil, errors.New("no passive monitors in this benchmark")
}

// channelSenders builds the policy's senders as serve does, each wrapped to record when the
// delivery worker hands it a notification.
func channelSenders(p *policy.Policy, m *measure) (map[string]incident.Sender, error) {
	out := map[string]incident.Sender{}
	for name, c := range p.Channels {
		s, err := notify.New(name, c, notify.Options{Version: "bench"})
		if err != nil {
			return nil, err
		}
		out[name] = incident.SenderFunc(func(ctx context.Context, ev incident.Event) error {
			m.handed(name, ev.Kind, ev.Monitor, time.Now())
			return s.Send(ctx, notify.Event{
				Kind: ev.Kind, Key: ev.Key, At: ev.At, Monitor: ev.Monitor, State: ev.State, Cause: ev.Cause, Step: ev.Step,
				Incident: notify.Incident{
					ID: strconv.FormatInt(ev.Incident.ID, 10), Title: ev.Incident.Title, Status: ev.Incident.Status,
					Impact: ev.Incident.Impact, Services: ev.Incident.Services, Monitors: ev.Incident.Monitors,
					StartedAt: ev.Incident.StartedAt, ResolvedAt: ev.Incident.ResolvedAt, URL: ev.Incident.URL,
					AckURL: ev.Incident.AckURL, Message: ev.Incident.Message,
				},
			})
		})
	}
	return out, nil
}

// measure keeps the times of every monitor's confirmation and of its notifications.
type measure struct {
	mu        sync.Mutex
	at        map[string]time.Time // monitor -> transition At
	published map[string]time.Time // monitor -> when the engine published the transition
	hand      map[string][]time.Time
	recv      map[string][]time.Time // "channel monitor" -> times received
	enqueued  map[string]time.Time   // monitor -> when the incident manager put its first page in the outbox
	received  int
	badSig    int
	progress  chan struct{}
	armed     atomic.Bool // the targets fail from now on
}

func newMeasure() *measure {
	return &measure{at: map[string]time.Time{}, enqueued: map[string]time.Time{}, published: map[string]time.Time{}, hand: map[string][]time.Time{},
		recv: map[string][]time.Time{}, progress: make(chan struct{}, 1)}
}

func (m *measure) confirmed(monitor string, at, published time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.at[monitor], m.published[monitor] = at, published
}

func (m *measure) handed(channel, kind, monitor string, t time.Time) {
	if !m.armed.Load() || kind != notify.EventDown {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := channel + " " + monitor
	m.hand[k] = append(m.hand[k], t)
}

// got records that the peer has channel's notification of kind about monitor, if it is one
// of the outage's pages.
func (m *measure) got(channel, kind, monitor string, t time.Time) {
	if !m.armed.Load() || kind != notify.EventDown {
		return
	}
	m.mu.Lock()
	k := channel + " " + monitor
	m.recv[k] = append(m.recv[k], t)
	m.received++
	m.mu.Unlock()
	select {
	case m.progress <- struct{}{}:
	default:
	}
}

// outbox reads when each notification was enqueued.
func (m *measure) outbox(ctx context.Context, db *sqlite.DB, failAt time.Time, want int) error {
	ns, err := db.Notifications(ctx, "", 2*want)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range ns {
		if n.Event != notify.EventDown || n.CreatedAt.Before(failAt.Truncate(time.Millisecond)) {
			continue
		}
		if t, ok := m.enqueued[n.Payload.Monitor]; !ok || n.CreatedAt.Before(t) {
			m.enqueued[n.Payload.Monitor] = n.CreatedAt
		}
	}
	return nil
}

func (m *measure) receivedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.received
}

func (m *measure) report(failAt time.Time, want int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first, last time.Time
	for _, ts := range m.recv {
		for _, t := range ts {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	var pub, enq []time.Duration
	for mon, t := range m.published {
		pub = append(pub, t.Sub(m.at[mon]))
		if e, ok := m.enqueued[mon]; ok {
			enq = append(enq, e.Sub(m.at[mon]))
		}
	}
	fmt.Printf("transitions: %d; At -> published by the engine: %s\n", len(m.at), stats(pub))
	fmt.Printf("At -> first page in the outbox (ms precision): %s\n", stats(enq))
	for _, channel := range []string{"mail", "hook"} {
		var handed, received []time.Duration
		dups, missing := 0, 0
		for mon, at := range m.at {
			k := channel + " " + mon
			if h := m.hand[k]; len(h) > 0 {
				handed = append(handed, h[0].Sub(at))
			}
			r := m.recv[k]
			switch {
			case len(r) == 0:
				missing++
			default:
				received = append(received, r[0].Sub(at))
				dups += len(r) - 1
			}
		}
		fmt.Printf("%s: At -> handed %s\n", channel, stats(handed))
		fmt.Printf("%s: At -> received %s; duplicates %d, missing %d\n", channel, stats(received), dups, missing)
	}
	if m.received > 0 {
		span := last.Sub(failAt)
		fmt.Printf("all: %d of %d notifications received, last %s after the targets failed; %.0f notifications/s from the first to the last\n",
			m.received, want, span.Round(time.Millisecond), float64(m.received)/max(last.Sub(first).Seconds(), 1e-3))
	}
	if m.badSig > 0 {
		return fmt.Errorf("%d webhook requests had a bad signature", m.badSig)
	}
	return nil
}

// stats formats p50/p99/max of ds.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	r := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s, p99 %s, max %s (n=%d)", r(pct(0.5)), r(pct(0.99)), r(ds[len(ds)-1]), len(ds))
}

// webhookReceiver answers webhooks, after verifying their signature, once slow has passed.
func webhookReceiver(m *measure, slow time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		if !notify.Verify(hookSecret, r.Header, body, now, 5*time.Minute) {
			m.mu.Lock()
			m.badSig++
			m.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		time.Sleep(slow)
		var p struct {
			Event   string `json:"event"`
			Monitor string `json:"monitor"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.got("hook", p.Event, p.Monitor, now)
		w.WriteHeader(http.StatusNoContent)
	})
}

func serve(h http.Handler) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln, nil
}

// startSMTP runs an SMTP server that records each message's monitor when its data has arrived.
func startSMTP(m *measure, slow time.Duration) (string, func(), error) {
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{m: m, slow: slow}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 30*time.Second, 30*time.Second
	s.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = s.Serve(ln) }()
	return ln.Addr().String(), func() { _ = s.Close() }, nil
}

type smtpSession struct {
	m    *measure
	slow time.Duration
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }

func (s *smtpSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, msg.Body); err != nil {
		return err
	}
	now := time.Now()
	time.Sleep(s.slow)
	s.m.got("mail", msg.Header.Get("X-Upkeep-Event"), msg.Header.Get("X-Upkeep-Monitor"), now)
	return nil
}
