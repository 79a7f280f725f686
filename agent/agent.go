// Package agent runs the active monitors of the server's policy from another location and
// sends their results to the server (POST /api/v1/results, docs/agents.md).
//
// Results are collected into batches (every BatchEvery, or 1,000 results), and every batch is
// written to the spool on disk before it is sent; it leaves the spool only when the server
// has answered for it. So a batch survives a server that is down, a lost answer and a kill -9
// of the agent, and is sent until the server has it. Sending a batch again never doubles
// anything: the server identifies a result by its monitor, location and time, and counts the
// repeat as a duplicate. A kill -9 loses only the results not yet batched (at most BatchEvery).
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/check"
	"github.com/upkeep-dev/upkeep/policy"
)

// Config holds what an agent needs.
type Config struct {
	Server   string // the server's base URL
	Token    string // an API token of the server
	Location string // the agent's name in the policy's agents
	Policy   *policy.Policy
	Spool    *Spool
	Logger   *slog.Logger
	// BatchEvery is how often results are batched and sent (default 10 s).
	BatchEvery time.Duration
	// HTTPClient sends the batches (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	Version    string
}

// maxBatch is the most results in one batch, the server's limit.
const maxBatch = 1000

// Run checks and sends until ctx ends; the results checked by then are spooled before it
// returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.BatchEvery <= 0 {
		cfg.BatchEvery = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Server = strings.TrimRight(cfg.Server, "/")
	results := make(chan upkeep.Result, 4096)
	wake := make(chan struct{}, 1)

	var checks sync.WaitGroup
	n := 0
	for _, m := range cfg.Policy.Monitors {
		if m.Passive() || m.Paused {
			continue
		}
		c, err := check.New(m, check.Options{PublicURL: cfg.Policy.Server.PublicURL, Version: cfg.Version})
		if err != nil {
			return fmt.Errorf("monitor %s: %w", m.Name, err)
		}
		n++
		checks.Add(1)
		go func() {
			defer checks.Done()
			runMonitor(ctx, m, c, cfg.Location, results)
		}()
	}
	cfg.Logger.Info("agent started", "location", cfg.Location, "monitors", n, "server", cfg.Server)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		send(ctx, cfg, wake)
	}()
	batch(ctx, cfg, results, wake)
	checks.Wait()
	wg.Wait()
	return ctx.Err()
}

// runMonitor checks m every interval, at a phase fixed by its name, until ctx ends.
func runMonitor(ctx context.Context, m policy.Monitor, c check.Checker, location string, out chan<- upkeep.Result) {
	defer check.Close(c)
	every := m.Every.Duration
	h := fnv.New64a()
	_, _ = h.Write([]byte(m.Name))
	next := time.Now().Truncate(every).Add(time.Duration(h.Sum64() % uint64(every)))
	if next.Before(time.Now()) {
		next = next.Add(every)
	}
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		r := c.Check(ctx)
		if ctx.Err() != nil {
			return // cut short by the shutdown: not a result
		}
		r.Monitor, r.Location, r.Time = m.Name, location, start
		select {
		case out <- r:
		case <-ctx.Done():
			return
		}
		next = next.Add(every)
		for !next.After(time.Now()) {
			next = next.Add(every) // a slot missed while checking: skipped, not run late
		}
		timer.Reset(time.Until(next))
	}
}

type wireBatch struct {
	Location string       `json:"location"`
	Results  []wireResult `json:"results"`
}

type wireResult struct {
	Monitor   string  `json:"monitor"`
	Time      string  `json:"time"`
	Outcome   string  `json:"outcome"`
	LatencyMS float64 `json:"latency_ms"`
	Status    int     `json:"status,omitempty"`
	Error     string  `json:"error,omitempty"`
	Key       string  `json:"key"`
}

// batch collects results and spools a batch every BatchEvery, or when it is full, and once
// more when ctx ends.
func batch(ctx context.Context, cfg Config, in <-chan upkeep.Result, wake chan<- struct{}) {
	tick := time.NewTicker(cfg.BatchEvery)
	defer tick.Stop()
	var pending []wireResult
	flush := func() {
		if len(pending) == 0 {
			return
		}
		body, err := json.Marshal(wireBatch{Location: cfg.Location, Results: pending})
		if err == nil {
			err = cfg.Spool.Put(body)
		}
		if err != nil {
			cfg.Logger.Error("agent: spooling a batch failed; its results are lost", "results", len(pending), "err", err)
		}
		pending = nil
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	add := func(r upkeep.Result) {
		t := time.UnixMilli(r.Time.UnixMilli()).UTC()
		pending = append(pending, wireResult{
			Monitor: r.Monitor, Time: t.Format(time.RFC3339Nano), Outcome: string(r.Outcome),
			LatencyMS: float64(r.Latency.Microseconds()) / 1000, Status: r.Code, Error: r.Error,
			Key: fmt.Sprintf("%s/%s/%d", cfg.Location, r.Monitor, t.UnixMilli()),
		})
		if len(pending) >= maxBatch {
			flush()
		}
	}
	for {
		select {
		case r := <-in:
			add(r)
		case <-tick.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case r := <-in:
					add(r)
				default:
					flush()
					return
				}
			}
		}
	}
}

// send sends spooled batches, oldest first, until ctx ends.
func send(ctx context.Context, cfg Config, wake <-chan struct{}) {
	backoff := time.Second
	for {
		names, err := cfg.Spool.Pending()
		if err != nil {
			cfg.Logger.Error("agent: reading the spool", "err", err)
		}
		failed := false
		for _, name := range names {
			if ctx.Err() != nil {
				return
			}
			if err := sendOne(ctx, cfg, name); err != nil {
				cfg.Logger.Warn("agent: sending a batch failed; will retry", "batch", name, "err", err, "retry_in", backoff)
				failed = true
				break
			}
			backoff = time.Second
		}
		wait := time.Minute
		if failed {
			wait = backoff
			backoff = min(2*backoff, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

type answer struct {
	Accepted  int    `json:"accepted"`
	Duplicate int    `json:"duplicate"`
	Rejected  int    `json:"rejected"`
	Error     string `json:"error"`
	Detail    string `json:"detail"`
	Problems  []struct {
		Error string `json:"error"`
	} `json:"problems"`
}

// sendOne sends one spooled batch; nil means the server has answered for it (taken, or refused
// for good) and it left the spool.
func sendOne(ctx context.Context, cfg Config, name string) error {
	body, err := cfg.Spool.Read(name)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Server+"/api/v1/results", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	req.Header.Set("User-Agent", "Upkeep-agent/"+cfg.Version)
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var a answer
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a)
	switch {
	case resp.StatusCode == http.StatusOK:
		if a.Rejected > 0 && len(a.Problems) > 0 {
			cfg.Logger.Warn("agent: the server refused results of a batch", "batch", name, "rejected", a.Rejected, "first", a.Problems[0].Error)
		}
		cfg.Logger.Debug("agent: batch sent", "batch", name, "accepted", a.Accepted, "duplicate", a.Duplicate)
		return cfg.Spool.Done(name)
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusRequestEntityTooLarge:
		cfg.Logger.Error("agent: the server refused a batch; it is set aside", "batch", name, "status", resp.StatusCode, "detail", a.Detail)
		return cfg.Spool.Refused(name)
	default:
		return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, a.Error, a.Detail)
	}
}
