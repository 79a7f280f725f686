package statuspage_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/statuspage"
)

var hrefs = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

// TestExport exports the fixture's page to a directory and checks that it is whole: every page,
// feed, document and badge is there, every link between them resolves to a file of the export,
// the JSON parses, and nothing secret is in it.
func TestExport(t *testing.T) {
	f := newFixture(t, nil)
	start := time.Now()
	files, err := f.page.Export(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "site")
	if err := statuspage.WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, fl := range files {
		size += len(fl.Body)
	}
	t.Logf("%d files, %d bytes, rendered and written in %v", len(files), size, time.Since(start))
	incs, err := f.inc.List(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"index.html", "history.rss", "history.atom", "status/groups/0.html", "status/groups/1.html",
		"api/v2/summary.json", "api/v2/status.json", "api/v2/incidents/unresolved.json", "api/v2/scheduled-maintenances/upcoming.json"}
	for _, svc := range []string{"web", "api", "db"} {
		want = append(want, "badge/"+svc+"/status.svg", "badge/"+svc+"/uptime.svg")
		for _, w := range []string{"24h", "7d", "30d", "90d"} {
			want = append(want, "badge/"+svc+"/uptime-"+w+".svg")
		}
	}
	shown := 0
	for _, inc := range incs {
		if len(inc.Services) > 0 { // the incident of the monitor without a service is not public
			want = append(want, fmt.Sprintf("incidents/%d.html", inc.ID))
			shown++
		}
	}
	if shown < 3 {
		t.Fatalf("%d public incidents in the fixture, want at least 3", shown)
	}
	for _, w := range want {
		if _, err := os.Stat(filepath.Join(dir, w)); err != nil {
			t.Errorf("missing %s: %v", w, err)
		}
	}
	// Served and exported from the same renderers: the served badge is the exported one.
	if got, _ := os.ReadFile(filepath.Join(dir, "badge/web/status.svg")); string(got) != f.get(t, "/badge/web/status.svg", 200) {
		t.Errorf("exported badge differs from the served one")
	}

	links := 0
	err = filepath.WalkDir(dir+string(filepath.Separator), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, bad := range []string{secret, "alice-token", "internal.example.com", "api.example.com"} {
			if strings.Contains(string(body), bad) {
				t.Errorf("%s contains %q", rel, bad)
			}
		}
		switch {
		case strings.HasSuffix(p, ".json"):
			if !json.Valid(body) {
				t.Errorf("%s is not JSON", rel)
			}
		case strings.HasSuffix(p, ".html"):
			for _, m := range hrefs.FindAllStringSubmatch(string(body), -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "data:") {
					continue
				}
				if strings.HasPrefix(target, "/") {
					t.Errorf("%s: root-relative link %q does not work from a sub-directory", rel, m[1])
					continue
				}
				links++
				resolved := path.Join(path.Dir(filepath.ToSlash(rel)), target)
				if _, err := os.Stat(filepath.Join(dir, resolved)); err != nil {
					t.Errorf("%s: link %q resolves to nothing", rel, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if links < 20 {
		t.Errorf("only %d links checked", links)
	}
	index, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(index), `href="history.rss"`) || !strings.Contains(string(index), `href="status/groups/0.html"`) && !strings.Contains(string(index), `href="incidents/`) {
		t.Errorf("index.html links not rewritten")
	}
}

// TestExportLogo: a logo file is exported next to index.html and the pages point to it.
func TestExportLogo(t *testing.T) {
	f := newFixture(t, nil)
	logo := filepath.Join(t.TempDir(), "Logo.SVG")
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.page.Apply(parsePolicy(t, testPolicy+"  logo: "+logo+"\n"))
	files, err := f.page.Export(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]statuspage.File{}
	for _, fl := range files {
		byPath[fl.Path] = fl
	}
	if l := byPath["logo.svg"]; l.ContentType != "image/svg+xml" || !strings.Contains(string(l.Body), "<svg") {
		t.Errorf("logo = %+v", l)
	}
	for _, p := range []string{"index.html", "status/groups/1.html"} {
		want := map[string]string{"index.html": `src="logo.svg"`, "status/groups/1.html": `src="../../logo.svg"`}[p]
		if !strings.Contains(string(byPath[p].Body), want) {
			t.Errorf("%s has no %s", p, want)
		}
	}
}

// TestExportAPI: GET /api/v1/status/export (what upkeep status export reads) needs a token and
// answers the files.
func TestExportAPI(t *testing.T) {
	f := newFixture(t, nil)
	const tok = "upk_test_export_token"
	if err := f.db.CreateToken(t.Context(), upkeep.Token{Name: "ci", CreatedAt: now}, upkeep.HashToken(tok)); err != nil {
		t.Fatal(err)
	}
	f.get(t, "/api/v1/status/export", http.StatusUnauthorized)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/api/v1/status/export", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct{ Files []statuspage.File }
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d, %v", res.StatusCode, err)
	}
	found := false
	for _, fl := range ans.Files {
		found = found || fl.Path == "index.html" && strings.Contains(string(fl.Body), "Example status")
	}
	if !found || len(ans.Files) < 20 {
		t.Errorf("%d files, index.html found %v", len(ans.Files), found)
	}
}

// TestWriteDirAtomic: readers of the export while it is replaced again and again see one
// export or the next, never a missing or partial file.
func TestWriteDirAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	export := func(n int) []statuspage.File {
		body := []byte(strings.Repeat(fmt.Sprintf("export %04d\n", n), 5000))
		return []statuspage.File{{Path: "index.html", Body: body}, {Path: "incidents/1.html", Body: body}}
	}
	if err := statuspage.WriteDir(dir, export(0)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				for _, p := range []string{"index.html", "incidents/1.html"} {
					b, err := os.ReadFile(filepath.Join(dir, p))
					if err != nil {
						t.Errorf("reading %s during an export: %v", p, err)
						return
					}
					first := string(b[:12])
					if len(b) != 12*5000 || strings.Count(string(b), first) != 5000 {
						t.Errorf("%s is a mix or partial: %d bytes starting %q", p, len(b), first)
						return
					}
					reads.Add(1)
				}
			}
		})
	}
	for n := 1; n <= 100; n++ {
		if err := statuspage.WriteDir(dir, export(n)); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if b, _ := os.ReadFile(filepath.Join(dir, "index.html")); !strings.HasPrefix(string(b), "export 0100") {
		t.Errorf("last export not in place: %q", b[:12])
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".site.export-*"))
	if len(left) != 2 {
		t.Errorf("%d export directories left, want 2 (the current and the previous, for readers in flight): %v", len(left), left)
	}
	t.Logf("%d reads during 100 exports", reads.Load())
}

// TestWriteDirRelative: a relative path (as in the policy) keeps its current export.
func TestWriteDirRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	for n := range 3 {
		if err := statuspage.WriteDir("site", []statuspage.File{{Path: "index.html", Body: fmt.Appendf(nil, "%d", n)}}); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile("site/index.html"); err != nil || string(b) != fmt.Sprint(n) {
			t.Fatalf("export %d: %q, %v", n, b, err)
		}
	}
}

// TestWriteDirAfterCrash: an export interrupted by a crash (a new directory half written, not
// yet linked) leaves the previous export served, and the next export removes it.
func TestWriteDirAfterCrash(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "site")
	if err := statuspage.WriteDir(dir, []statuspage.File{{Path: "index.html", Body: []byte("first")}}); err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(parent, ".site.export-crashed")
	if err := os.MkdirAll(filepath.Join(half, "incidents"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "index.html")); err != nil || string(b) != "first" {
		t.Fatalf("after the crash: %q, %v", b, err)
	}
	if err := statuspage.WriteDir(dir, []statuspage.File{{Path: "index.html", Body: []byte("second")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("the crashed export's directory is still there: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "index.html")); string(b) != "second" {
		t.Errorf("index.html = %q", b)
	}
}

// TestWriteDirRefuses: a directory with files that Upkeep did not write is never replaced, a
// file path never leaves the export.
func TestWriteDirRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := statuspage.WriteDir(dir, []statuspage.File{{Path: "index.html"}})
	if err == nil || !strings.Contains(err.Error(), "directory with files in it") {
		t.Errorf("non-empty directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep.txt")); err != nil {
		t.Error(err)
	}
	err = statuspage.WriteDir(filepath.Join(t.TempDir(), "site"), []statuspage.File{{Path: "../escape.html"}})
	if err == nil || !strings.Contains(err.Error(), "invalid file path") {
		t.Errorf("escaping path: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := statuspage.WriteDir(empty, []statuspage.File{{Path: "index.html", Body: []byte("hi")}}); err != nil {
		t.Errorf("empty directory: %v", err)
	}
}

// versioned is the engine with a version the test moves, as a transition would.
type versioned struct {
	statuspage.Monitoring
	v atomic.Uint64
}

func (m *versioned) Version() uint64 { return m.v.Load() }

// TestPublisher: the export is published at once, then every export.every, and with on_change
// 10 seconds at most after a change; a failure is counted and retried 30 seconds later.
func TestPublisher(t *testing.T) {
	var mon *versioned
	f := newFixture(t, func(m statuspage.Monitoring) statuspage.Monitoring { mon = &versioned{Monitoring: m}; return mon })
	dir := filepath.Join(t.TempDir(), "site")
	f.page.Apply(parsePolicy(t, testPolicy+"  export: {to: {path: "+dir+"}, every: 5m}\n"))
	reg := prometheus.NewRegistry()
	pub := statuspage.NewPublisher(f.page, reg)
	ctx := t.Context()
	at := func(d time.Duration) time.Time { return now.Add(d) }

	steps := []struct {
		at     time.Duration
		change bool
		want   bool
	}{
		{0, false, true},                              // first export at once
		{time.Second, false, false},                   // nothing changed
		{2 * time.Second, true, false},                // a change, within 10 s of the last export
		{9 * time.Second, false, false},               // still debounced
		{10 * time.Second, false, true},               // published 10 s after the last export
		{11 * time.Second, false, false},              // nothing new since
		{15 * time.Second, true, false},               // debounced
		{20 * time.Second, false, true},               // published
		{5 * time.Minute, false, false},               // 4m40s since
		{5*time.Minute + 20*time.Second, false, true}, // every 5m
	}
	for _, s := range steps {
		if s.change {
			mon.v.Add(1)
		}
		if got := pub.Step(ctx, at(s.at)); got != s.want {
			t.Fatalf("at +%v (change %v): published %v, want %v", s.at, s.change, got, s.want)
		}
	}
	if n := counter(t, reg, "upkeep_status_exports_total"); n != 4 {
		t.Errorf("%v exports counted, want 4", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Fatal(err)
	}

	// on_change: false publishes only on schedule.
	f.page.Apply(parsePolicy(t, testPolicy+"  export: {to: {path: "+dir+"}, every: 5m, on_change: false}\n"))
	mon.v.Add(1)
	if pub.Step(ctx, at(6*time.Minute)) {
		t.Error("published on a change with on_change: false")
	}

	// A destination that fails: counted, logged, retried after 30 s, never blocking.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "other"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.page.Apply(parsePolicy(t, testPolicy+"  export: {to: {path: "+bad+"}}\n"))
	if !pub.Step(ctx, at(7*time.Minute)) {
		t.Fatal("a new destination is not published at once")
	}
	if pub.Step(ctx, at(7*time.Minute+20*time.Second)) {
		t.Error("retried before 30 s")
	}
	if !pub.Step(ctx, at(7*time.Minute+30*time.Second)) {
		t.Error("not retried after 30 s")
	}
	if n := counter(t, reg, "upkeep_status_export_errors_total"); n != 2 {
		t.Errorf("%v errors counted, want 2", n)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
