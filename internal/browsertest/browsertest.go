// Package browsertest drives the Chromium named by the test environment (testenv.Chromium) with
// chromedp, for tests of pages in a real browser.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upkeep-dev/upkeep/internal/testenv"
)

// Start starts a Chromium for the test and returns a context to drive it, and a function that
// returns the console errors, warnings and uncaught exceptions seen so far. Without a Chromium
// the test is skipped (failed under UPKEEP_TEST_REQUIRE_ALL=1).
func Start(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path, flags := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.WindowSize(1280, 900)}
	for _, f := range flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	// A guard against a hung browser or a selector that never matches, not a timing assertion.
	ctx, cancelGuard := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelGuard)
	var mu sync.Mutex
	var errs []string
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), errs...) }
}

// Run runs an action that returns a value, failing the test on an error.
func Run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Do runs actions, failing the test on an error.
func Do(t *testing.T, ctx context.Context, as ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, as...); err != nil {
		t.Fatal(err)
	}
}

// Artifact writes a test artifact (a screenshot) to $UPKEEP_TEST_ARTIFACTS, or the test's
// temporary directory.
func Artifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("UPKEEP_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artifact: %s", p)
}

// ClickAndLoad clicks the element sel (a link or a submit button) and waits until the page it
// leads to has loaded; a page that only looks like the next one (the same heading) is not taken
// for it.
func ClickAndLoad(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	Run(t, ctx, chromedp.Evaluate[bool](`window.upkeepOldPage = true`))
	Do(t, ctx, chromedp.Click(chromedp.CSS(sel)))
	for {
		// Evaluating fails while the old page goes away: asked again until the new one is there.
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.upkeepOldPage && document.readyState === "complete"`))
		if loaded {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("clicking %s: no new page loaded: %v", sel, err)
		}
		time.Sleep(20 * time.Millisecond) // pacing, not a timing assertion
	}
}
