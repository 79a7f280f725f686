// Command monitors benchmarks the monitoring engine: it serves N HTTP targets from a child
// process (so that serving them is not counted), runs the real engine with the real SQLite store
// in a temporary directory and real HTTP checks (package check) against them, and prints what
// the targets in docs/benchmarks.md are about:
//
//	go run ./bench/monitors -n 10000 -every 60s -for 3m
//
// time until every monitor has run once, scheduling lag p50/p99/max (from each check's slot to
// its start), CPU seconds per 1,000 checks and the share of one core (getrusage of this process:
// engine, checks, store), RSS and RSS per monitor, and store bytes per result and per monitor
// per day (the database file after a checkpoint, less the same store with no results).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/check"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "monitors:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 10000, "number of monitors (and HTTP targets)")
	every := flag.Duration("every", 60*time.Second, "check interval")
	dur := flag.Duration("for", 3*time.Minute, "how long to run")
	concurrency := flag.Int("concurrency", 0, "cap on concurrent checks (0: automatic)")
	checker := flag.String("checker", "check", `"check": the real http check (package check, one transport per monitor); "minimal": a GET through one shared client without keep-alive, to separate the engine's own cost`)
	memprofile := flag.String("memprofile", "", "write a heap profile (pprof) to this file at the end of the run, while every checker is still alive")
	serve := flag.Bool("serve", false, "internal: serve the targets and print the address")
	flag.Parse()
	if *serve {
		return serveTargets(*n)
	}

	addrs, stopTargets, err := startTargets(*n/5000 + 1)
	if err != nil {
		return err
	}
	defer stopTargets()

	dir, err := os.MkdirTemp("", "upkeep-bench-monitors-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := sqlite.Open(ctx, dir, logger)
	if err != nil {
		return err
	}

	p := &policy.Policy{}
	timeout := min(10*time.Second, *every/2)
	for i := range *n {
		p.Monitors = append(p.Monitors, policy.Monitor{
			Name:    fmt.Sprintf("m%06d", i),
			Every:   policy.Duration{Duration: *every},
			Timeout: policy.Duration{Duration: timeout},
			HTTP:    &policy.HTTPCheck{URL: fmt.Sprintf("http://%s/t/%d", addrs[i%len(addrs)], i), Method: "GET"},
		})
	}
	// Register the monitors first so that the baseline size includes them.
	names := make([]string, *n)
	for i, m := range p.Monitors {
		names[i] = m.Name
	}
	if _, err := db.MonitorIDs(ctx, names); err != nil {
		return err
	}

	rec := newRecorder(*n)
	var f engine.Factory = factory{}
	if *checker == "minimal" {
		f = minimalFactory{client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	}
	e := engine.New(engine.Config{
		Store: db, Factory: f, Logger: logger, Concurrency: *concurrency,
		OnCheckStart: rec.observe,
	})
	if err := e.Apply(ctx, p); err != nil {
		return err
	}
	cpu0 := cpuTime()
	start := time.Now()
	rec.start = start
	runCtx, stop := context.WithTimeout(ctx, *dur)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- e.Run(runCtx) }()

	var rssPeak int64
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case err := <-errc:
			if err != nil {
				return err
			}
			break loop
		case <-tick.C:
			rssPeak = max(rssPeak, rss())
		}
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	rssEnd := rss()
	rssPeak = max(rssPeak, rssEnd)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	goroutines := runtime.NumGoroutine()
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
	}
	runtime.KeepAlive(e) // its monitors and checkers count in the heap above, as they do while it runs
	if err := db.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		return err
	}

	// Baseline: an empty store with the same monitors, to subtract fixed overhead.
	base, err := baselineSize(*n, names)
	if err != nil {
		return err
	}

	lags, first, checks := rec.results()
	slices.Sort(lags)
	pct := func(p float64) time.Duration {
		if len(lags) == 0 {
			return 0
		}
		return lags[min(len(lags)-1, int(p*float64(len(lags))))]
	}
	allRan := "not all monitors ran"
	if first > 0 {
		allRan = first.Round(time.Millisecond).String()
	}
	perDay := float64(24*time.Hour) / float64(*every)
	bytesPerResult := float64(fi.Size()-base) / float64(max(checks, 1))
	fmt.Printf("checker %s\n", *checker)
	fmt.Printf("monitors %d, every %s, ran %s, checks %d (%.1f/s)\n", *n, *every, wall.Round(time.Second), checks, float64(checks)/wall.Seconds())
	fmt.Printf("every monitor ran once after: %s (interval %s)\n", allRan, *every)
	fmt.Printf("lag: p50 %s, p99 %s, max %s\n", pct(0.50), pct(0.99), lags[len(lags)-1])
	fmt.Printf("cpu: %.2f s total, %.3f s per 1,000 checks, %.1f%% of one core\n", cpu.Seconds(), cpu.Seconds()*1000/float64(max(checks, 1)), 100*cpu.Seconds()/wall.Seconds())
	fmt.Printf("rss: %.1f MB at end, %.1f MB peak, %.1f KB per monitor (peak)\n", mb(rssEnd), mb(rssPeak), float64(rssPeak)/1024/float64(*n))
	fmt.Printf("go heap at end (after GC): %.1f MB in use, %.2f KB per monitor; stacks %.1f MB; %d goroutines\n",
		mb(int64(ms.HeapInuse)), float64(ms.HeapInuse)/1024/float64(*n), mb(int64(ms.StackInuse)), goroutines)
	fmt.Printf("store: %.1f bytes per result, %.1f KB per monitor per day at this interval (%.0f results/day)\n", bytesPerResult, bytesPerResult*perDay/1024, perDay)
	return nil
}

// recorder keeps every check's lag and when each monitor first ran.
type recorder struct {
	mu     sync.Mutex
	start  time.Time
	lags   []time.Duration
	ran    map[string]bool
	n      int
	allRan time.Duration
}

func newRecorder(n int) *recorder {
	return &recorder{ran: make(map[string]bool, n), n: n, lags: make([]time.Duration, 0, 1<<20)}
}

func (r *recorder) observe(name string, slot, started time.Time) {
	r.mu.Lock()
	r.lags = append(r.lags, started.Sub(slot))
	if !r.ran[name] {
		r.ran[name] = true
		if len(r.ran) == r.n {
			r.allRan = started.Sub(r.start)
		}
	}
	r.mu.Unlock()
}

func (r *recorder) results() ([]time.Duration, time.Duration, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lags), r.allRan, len(r.lags)
}

type factory struct{}

func (factory) Checker(m policy.Monitor) (engine.Checker, error) {
	return check.New(m, check.Options{})
}
func (factory) Evaluator(policy.Monitor) (engine.Evaluator, error) {
	return nil, errors.New("no passive monitors in this benchmark")
}

// minimalFactory makes plain GET checks through one shared client.
type minimalFactory struct{ client *http.Client }

func (f minimalFactory) Checker(m policy.Monitor) (engine.Checker, error) {
	return minimalChecker{f.client, m.HTTP.URL}, nil
}
func (minimalFactory) Evaluator(policy.Monitor) (engine.Evaluator, error) {
	return nil, errors.New("no passive monitors in this benchmark")
}

type minimalChecker struct {
	client *http.Client
	url    string
}

func (c minimalChecker) Check(ctx context.Context) upkeep.Result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return upkeep.Result{Outcome: upkeep.StateDown, Error: err.Error()}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return upkeep.Result{Outcome: upkeep.StateDown, Error: err.Error(), Latency: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := upkeep.Result{Outcome: upkeep.StateUp, Code: resp.StatusCode, Latency: time.Since(start)}
	if resp.StatusCode != http.StatusOK {
		r.Outcome, r.Error = upkeep.StateDown, resp.Status
	}
	return r
}

func baselineSize(n int, names []string) (int64, error) {
	dir, err := os.MkdirTemp("", "upkeep-bench-base-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(context.Background(), dir, nil)
	if err != nil {
		return 0, err
	}
	if _, err := db.MonitorIDs(context.Background(), names); err != nil {
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		return 0, err
	}
	_ = n
	return fi.Size(), nil
}

// startTargets runs this program again with -serve and reads the addresses it listens on:
// several ports, so that short connections (the minimal checker) do not run out of ephemeral
// ports on the client side.
func startTargets(ports int) ([]string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, "-serve", "-n", strconv.Itoa(ports))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, nil, fmt.Errorf("target server: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.Split(strings.TrimSpace(line), ","), func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}, nil
}

// serveTargets answers 200 "ok" on every path of ports listeners until killed.
func serveTargets(ports int) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	var addrs []string
	errc := make(chan error, ports)
	for range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
	}
	fmt.Println(strings.Join(addrs, ","))
	return <-errc
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss returns the resident set size from /proc/self/status, in bytes.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
