// Command statuspage benchmarks the status page: it generates a store with many services,
// monitors and days of history (transitions, outages, incidents, daily rollups) in a temporary
// directory, serves the real HTTP handler with the real status page over it, and loads it with
// wrk from a second process:
//
//	go run ./bench/statuspage -services 500 -monitors 2000 -days 400 -for 30s
//
// It prints the time to build and render the page cold (history of every service) and warm
// (after an incident change: snapshot and render only), the page's size, and wrk's throughput
// and latency percentiles for / and /api/v2/summary.json. wrk must be installed (Debian
// package wrk).
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/httpapi"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/statuspage"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "statuspage:", err)
		os.Exit(1)
	}
}

func run() error {
	services := flag.Int("services", 500, "number of services")
	monitors := flag.Int("monitors", 2000, "number of monitors (spread evenly over the services)")
	days := flag.Int("days", 400, "days of generated history")
	outageEvery := flag.Int("outage-every", 60, "mean days between outages of a monitor")
	dur := flag.Duration("for", 30*time.Second, "how long wrk loads each path")
	conns := flag.Int("connections", 64, "wrk connections")
	threads := flag.Int("threads", 2, "wrk threads")
	keep := flag.Bool("keep", false, "keep the temporary data directory")
	flag.Parse()
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "upkeep-bench-statuspage-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "data"), nil)
	if err != nil {
		return err
	}
	defer db.Close()

	pol, names := benchPolicy(*services, *monitors)
	now := time.Now()
	fmt.Printf("generating %d services, %d monitors, %d days of history in %s ...\n", *services, *monitors, *days, dir)
	t0 := time.Now()
	nTrans, err := generate(ctx, db, names, now, *days, *outageEvery)
	if err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	eng := engine.New(engine.Config{Store: db, Logger: logger})
	if err := eng.Apply(ctx, pol); err != nil {
		return err
	}
	inc := incident.NewManager(incident.Config{Store: db, Logger: logger})
	inc.Apply(pol)
	if err := inc.CatchUp(ctx); err != nil {
		return err
	}
	open, err := inc.List(ctx, "", 1)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d transitions, %d daily rollups and the incidents in %s\n", nTrans, len(names)**days, time.Since(t0).Round(time.Millisecond))

	page := statuspage.New(statuspage.Config{Monitoring: eng, Rollups: db, Incidents: inc, Logger: logger})
	page.Apply(pol)
	handler := httpapi.New(httpapi.Config{Store: db, Runtime: runtime_{pol}, StatusPage: page, Logger: logger})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	cold, size, err := timedGet(base + "/")
	if err != nil {
		return err
	}
	_, gz, err := timedGetGzip(base + "/")
	if err != nil {
		return err
	}
	// An incident change makes the cache out of date: the next request builds a snapshot
	// (states, incidents) and renders it, reusing the uptime history.
	if len(open) > 0 {
		if _, err := inc.PostUpdate(ctx, open[0].ID, incident.UpdateRequest{Message: "benchmark update"}); err != nil {
			return err
		}
	}
	warm, _, err := timedGet(base + "/")
	if err != nil {
		return err
	}
	fmt.Printf("page: %d bytes (%d gzip); cold build and render %s; after an incident change %s\n",
		size, gz, cold.Round(time.Millisecond), warm.Round(time.Millisecond))

	for _, path := range []string{"/", "/status/groups/0", "/api/v2/summary.json"} {
		out, err := exec.Command("wrk", "-t", fmt.Sprint(*threads), "-c", fmt.Sprint(*conns), "-d", dur.String(), "--latency",
			"-H", "Accept-Encoding: gzip", base+path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("wrk: %w: %s", err, out)
		}
		fmt.Printf("\nwrk -t%d -c%d -d%s --latency -H 'Accept-Encoding: gzip' %s\n", *threads, *conns, dur, path)
		for _, re := range []string{`(?m)^\s+50%\s+\S+`, `(?m)^\s+90%\s+\S+`, `(?m)^\s+99%\s+\S+`, `(?m)^Requests/sec:\s+\S+`, `(?m)^Transfer/sec:\s+\S+`, `(?m)^\s+\d+ requests in .*$`, `(?m)^\s+Non-2xx.*$`} {
			if m := regexp.MustCompile(re).Find(out); m != nil {
				fmt.Println("  " + string(regexp.MustCompile(`\s+`).ReplaceAll(m, []byte(" "))))
			}
		}
	}
	fmt.Printf("\nmachine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	return nil
}

type runtime_ struct{ p *policy.Policy }

func (r runtime_) Policy() *policy.Policy       { return r.p }
func (r runtime_) LoadedAt() time.Time          { return time.Now() }
func (r runtime_) Reload(context.Context) error { return nil }

// benchPolicy has the services in groups of 50, their monitors, and a status page with
// response times.
func benchPolicy(services, monitors int) (*policy.Policy, []string) {
	p := &policy.Policy{File: "bench", Server: policy.Server{PublicURL: "http://localhost:8080"}}
	sp := &policy.StatusPage{Title: "Benchmark status", Theme: "auto", HistoryDays: 90, ShowResponseTimes: true}
	for i := range services {
		name := fmt.Sprintf("svc-%03d", i)
		p.Services = append(p.Services, policy.Service{Name: name, Title: fmt.Sprintf("Service %d", i)})
		if i%50 == 0 {
			sp.Groups = append(sp.Groups, policy.StatusGroup{Name: fmt.Sprintf("Group %d", i/50+1)})
		}
		g := &sp.Groups[len(sp.Groups)-1]
		g.Services = append(g.Services, name)
	}
	p.StatusPage = sp
	var names []string
	for i := range monitors {
		name := fmt.Sprintf("mon-%04d", i)
		names = append(names, name)
		p.Monitors = append(p.Monitors, policy.Monitor{Name: name, Service: fmt.Sprintf("svc-%03d", i%services),
			IncidentOn: "down", Every: policy.Duration{Duration: time.Hour}})
	}
	return p, names
}

// generate writes one session over the whole history, each monitor's transitions (up from
// the first day, outages of 2 to 120 minutes about every outageEvery days) and one daily
// rollup per monitor and day.
func generate(ctx context.Context, db *sqlite.DB, names []string, now time.Time, days, outageEvery int) (int, error) {
	start := now.Add(-time.Duration(days) * 24 * time.Hour)
	ids, err := db.MonitorIDs(ctx, names)
	if err != nil {
		return 0, err
	}
	s, err := db.StartSession(ctx, start)
	if err != nil {
		return 0, err
	}
	if err := db.EndSession(ctx, s, now.Add(24*time.Hour)); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []upkeep.Transition
	for _, m := range names {
		ts = append(ts, upkeep.Transition{Monitor: m, From: upkeep.StateUnknown, To: upkeep.StateUp, At: start, Cause: "ok"})
		at := start
		for {
			at = at.Add(time.Duration(rng.ExpFloat64() * float64(outageEvery) * 24 * float64(time.Hour)))
			end := at.Add(time.Duration(2+rng.IntN(119)) * time.Minute)
			if !end.Before(now) {
				break
			}
			ts = append(ts, upkeep.Transition{Monitor: m, From: upkeep.StateUp, To: upkeep.StateDown, At: at, Cause: "timeout"},
				upkeep.Transition{Monitor: m, From: upkeep.StateDown, To: upkeep.StateUp, At: end, Cause: "ok"})
			at = end
		}
	}
	for i := 0; i < len(ts); i += 5000 {
		if err := db.RecordMonitoring(ctx, nil, ts[i:min(i+5000, len(ts))]); err != nil {
			return 0, err
		}
	}
	first := start.UTC().Truncate(24 * time.Hour)
	for i := 0; i < len(names); i += 100 {
		err := db.Write(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.Prepare(`INSERT OR REPLACE INTO rollups (monitor, span, start, checks, failures, degraded, latency_p50, latency_p95, latency_max)
				VALUES (?, 'd', ?, 1440, 0, 0, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, m := range names[i:min(i+100, len(names))] {
				for d := range days {
					p50 := 50_000 + rng.Int64N(100_000) // microseconds
					if _, err := stmt.Exec(ids[m], first.AddDate(0, 0, d).UnixMilli(), p50, p50*3, p50*5); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return len(ts), nil
}

func timedGet(url string) (time.Duration, int, error) {
	t := time.Now()
	res, err := http.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, 0, err
	}
	if res.StatusCode != 200 {
		return 0, 0, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return time.Since(t), len(b), nil
}

func timedGetGzip(url string) (time.Duration, int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	t := time.Now()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return time.Since(t), len(b), err
}
