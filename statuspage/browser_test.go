package statuspage_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/upkeep-dev/upkeep/internal/testenv"
)

// browser starts a Chromium for the test and returns a context to drive it, and a function
// that returns the console errors, warnings and uncaught exceptions seen so far.
func browser(t *testing.T) (context.Context, func() []string) {
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
	ctx, cancelGuard := context.WithTimeout(ctx, 2*time.Minute)
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

// prefersColorScheme emulates the system's colour scheme preference.
func prefersColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, as ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, as...); err != nil {
		t.Fatal(err)
	}
}

// artifact writes a test artifact to $UPKEEP_TEST_ARTIFACTS, or the test's temporary directory.
func artifact(t *testing.T, name string, data []byte) {
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

func TestBrowser(t *testing.T) {
	f := newFixture(t, nil)
	ctx, consoleErrors := browser(t)
	bodyBg := chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`)

	do(t, ctx, prefersColorScheme("light"), chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".banner")))
	if banner := run(t, ctx, chromedp.Text(chromedp.CSS(".banner"))); !strings.Contains(banner, "Partial System Outage") {
		t.Errorf("banner %q", banner)
	}
	// The bars show what the store holds: 14 days, day 5 with its 30 minutes of downtime.
	days := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#svc-web .bar li").length`))
	day5 := run(t, ctx, chromedp.TextContent(chromedp.CSS(`#svc-web .bar li:nth-child(9) .tip`)))
	if days != 14 || day5 != "Mar 5, 2026: 97.91% uptime, 30 minutes down, 1 incident: Website is down" {
		t.Errorf("web has %d days; day 5 says %q", days, day5)
	}
	if bg := run(t, ctx, bodyBg); bg != "rgb(255, 255, 255)" {
		t.Errorf("light background %s", bg)
	}
	artifact(t, "statuspage-light.png", run(t, ctx, chromedp.FullScreenshot(100)))

	// Keyboard: Tab from the link of the active incident reaches the first day of the first
	// bar, and focus shows that day's details.
	do(t, ctx, chromedp.Focus(chromedp.CSS(`section[aria-labelledby=active] h3 a`)), chromedp.KeyEvent(kb.Tab))
	focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.closest("#svc-web .bar") ? document.activeElement.className : "elsewhere: " + document.activeElement.outerHTML.slice(0, 80)`))
	tip := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.querySelector(".tip").innerText`))
	tipWidth := run(t, ctx, chromedp.Evaluate[float64](`document.activeElement.querySelector(".tip").getBoundingClientRect().width`))
	if focused != "none" || tip != "Feb 25, 2026: no data" {
		t.Errorf("focused %q with text %q", focused, tip)
	}
	if tipWidth < 20 {
		t.Errorf("the focused day's details are hidden (width %v)", tipWidth)
	}
	artifact(t, "statuspage-focus.png", run(t, ctx, chromedp.FullScreenshot(100)))

	// An incident page shows its updates and its report.
	do(t, ctx, chromedp.Navigate(f.srv.URL+"/incidents/4"))
	incident := run(t, ctx, chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Slow logins", "Logins take a minute.", "Logins are fast again.", "A full session table."} {
		if !strings.Contains(incident, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}

	// Dark: the system preference with theme auto, and theme dark whatever the preference.
	do(t, ctx, prefersColorScheme("dark"), chromedp.Navigate(f.srv.URL+"/"))
	if bg := run(t, ctx, bodyBg); bg != "rgb(13, 17, 23)" {
		t.Errorf("dark preference: background %s", bg)
	}
	artifact(t, "statuspage-dark.png", run(t, ctx, chromedp.FullScreenshot(100)))
	f.pol.StatusPage.Theme = "dark"
	f.page.Apply(f.pol)
	do(t, ctx, prefersColorScheme("light"), chromedp.Navigate(f.srv.URL+"/"))
	if bg := run(t, ctx, bodyBg); bg != "rgb(13, 17, 23)" {
		t.Errorf("theme dark: background %s", bg)
	}

	// Mobile: nothing is wider than a phone's screen.
	do(t, ctx, chromedp.EmulateViewport(375, 800), chromedp.Navigate(f.srv.URL+"/"))
	if run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
		t.Error("the page is wider than a 375px screen")
	}
	artifact(t, "statuspage-mobile.png", run(t, ctx, chromedp.FullScreenshot(100)))

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
