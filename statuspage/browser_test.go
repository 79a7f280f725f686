package statuspage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/upkeep-dev/upkeep/internal/browsertest"
)

// prefersColorScheme emulates the system's colour scheme preference.
func prefersColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

func TestBrowser(t *testing.T) {
	f := newFixture(t, nil)
	ctx, consoleErrors := browsertest.Start(t)
	bodyBg := chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`)

	browsertest.Do(t, ctx, prefersColorScheme("light"), chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".banner")))
	if banner := browsertest.Run(t, ctx, chromedp.Text(chromedp.CSS(".banner"))); !strings.Contains(banner, "Partial System Outage") {
		t.Errorf("banner %q", banner)
	}
	// The bars show what the store holds: 14 days, day 5 with its 30 minutes of downtime.
	days := browsertest.Run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#svc-web .bar li").length`))
	day5 := browsertest.Run(t, ctx, chromedp.TextContent(chromedp.CSS(`#svc-web .bar li:nth-child(9) .tip`)))
	if days != 14 || day5 != "Mar 5, 2026: 97.91% uptime, 30 minutes down, 1 incident: Website is down" {
		t.Errorf("web has %d days; day 5 says %q", days, day5)
	}
	if bg := browsertest.Run(t, ctx, bodyBg); bg != "rgb(255, 255, 255)" {
		t.Errorf("light background %s", bg)
	}
	browsertest.Artifact(t, "statuspage-light.png", browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))

	// Keyboard: Tab from the link of the active incident reaches the first day of the first
	// bar, and focus shows that day's details.
	browsertest.Do(t, ctx, chromedp.Focus(chromedp.CSS(`section[aria-labelledby=active] h3 a`)), chromedp.KeyEvent(kb.Tab))
	focused := browsertest.Run(t, ctx, chromedp.Evaluate[string](`document.activeElement.closest("#svc-web .bar") ? document.activeElement.className : "elsewhere: " + document.activeElement.outerHTML.slice(0, 80)`))
	tip := browsertest.Run(t, ctx, chromedp.Evaluate[string](`document.activeElement.querySelector(".tip").innerText`))
	tipWidth := browsertest.Run(t, ctx, chromedp.Evaluate[float64](`document.activeElement.querySelector(".tip").getBoundingClientRect().width`))
	if focused != "none" || tip != "Feb 25, 2026: no data" {
		t.Errorf("focused %q with text %q", focused, tip)
	}
	if tipWidth < 20 {
		t.Errorf("the focused day's details are hidden (width %v)", tipWidth)
	}
	browsertest.Artifact(t, "statuspage-focus.png", browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))

	// An incident page shows its updates and its report.
	browsertest.Do(t, ctx, chromedp.Navigate(f.srv.URL+"/incidents/4"))
	incident := browsertest.Run(t, ctx, chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Slow logins", "Logins take a minute.", "Logins are fast again.", "A full session table."} {
		if !strings.Contains(incident, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}

	// Dark: the system preference with theme auto, and theme dark whatever the preference.
	browsertest.Do(t, ctx, prefersColorScheme("dark"), chromedp.Navigate(f.srv.URL+"/"))
	if bg := browsertest.Run(t, ctx, bodyBg); bg != "rgb(13, 17, 23)" {
		t.Errorf("dark preference: background %s", bg)
	}
	browsertest.Artifact(t, "statuspage-dark.png", browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))
	f.pol.StatusPage.Theme = "dark"
	f.page.Apply(f.pol)
	browsertest.Do(t, ctx, prefersColorScheme("light"), chromedp.Navigate(f.srv.URL+"/"))
	if bg := browsertest.Run(t, ctx, bodyBg); bg != "rgb(13, 17, 23)" {
		t.Errorf("theme dark: background %s", bg)
	}

	// Mobile: nothing is wider than a phone's screen.
	browsertest.Do(t, ctx, chromedp.EmulateViewport(375, 800), chromedp.Navigate(f.srv.URL+"/"))
	if browsertest.Run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
		t.Error("the page is wider than a 375px screen")
	}
	browsertest.Artifact(t, "statuspage-mobile.png", browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
