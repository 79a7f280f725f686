package main

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upkeep-dev/upkeep/internal/browsertest"
)

// TestSubscribeInBrowser runs the e-mail subscription flow as a visitor does, in Chromium
// against the real binary and an in-process SMTP server: from the status page to the form,
// the confirmation mail's link and its button, a notice when a monitor of the service fails,
// and the unsubscribe link, after which no notice comes. bob, subscribed beside alice, shows
// that the later notices were sent.
func TestSubscribeInBrowser(t *testing.T) {
	target, broken := failingTarget(t, "down")
	mb, s, token := serveMonitoredSubscriptions(t, target.URL)
	ctx, consoleErrors := browsertest.Start(t)
	text := func(sel string) string { return browsertest.Run(t, ctx, chromedp.Text(chromedp.CSS(sel))) }
	screenshot := func(name string) {
		browsertest.Artifact(t, name, browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))
	}
	mails := func(addr string) int { return len(mb.inbox(addr)) }
	waitMail := func(what, addr string, n int) *mail.Message {
		t.Helper()
		waitFor(t, what, 60*time.Second, func() bool { return mails(addr) >= n })
		return mb.inbox(addr)[n-1]
	}

	// The status page links to the form; alice chooses api and submits.
	browsertest.Do(t, ctx, chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`a[href="/subscribe"]`)))
	browsertest.ClickAndLoad(t, ctx, `a[href="/subscribe"]`)
	browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#email"), "alice@example.com"), chromedp.Click(chromedp.CSS("#svc-api")))
	screenshot("subscribe-form.png")
	browsertest.ClickAndLoad(t, ctx, `button[type=submit]`)
	if h := text("h1"); h != "Check your inbox" {
		t.Fatalf("after submitting the form: %q", h)
	}

	// The confirmation mail's link shows a button; pressing it subscribes.
	link := linkRe.FindString(textOf(t, waitMail("the confirmation mail", "alice@example.com", 1)))
	if link == "" {
		t.Fatal("no confirmation link in the mail")
	}
	browsertest.Do(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("form button")))
	if h := text("h1"); h != "Confirm your subscription" {
		t.Fatalf("the confirmation link shows %q", h)
	}
	browsertest.ClickAndLoad(t, ctx, "form button")
	if h := text("h1"); h != "You are subscribed" {
		t.Fatalf("after confirming: %q", h)
	}
	screenshot("subscribe-confirmed.png")

	// bob subscribes to api too, without a browser.
	if code, body := postForm(t, s.url+"/subscribe", url.Values{"email": {"bob@example.com"}, "services": {"api"}}); code != http.StatusAccepted {
		t.Fatalf("subscribe bob: %d %s", code, body)
	}
	if code, body := postForm(t, linkRe.FindString(textOf(t, waitMail("bob's confirmation", "bob@example.com", 1))), nil); code != http.StatusOK {
		t.Fatalf("confirm bob: %d %s", code, body)
	}

	// api's monitor fails: the incident reaches alice.
	broken.Store(true)
	notice := waitMail("the incident notice", "alice@example.com", 2)
	subject, body := notice.Header.Get("Subject"), textOf(t, notice)
	if !strings.Contains(subject, "Incident") || !strings.Contains(body, "We are investigating a problem.") {
		t.Errorf("incident mail %q:\n%s", subject, body)
	}
	unsub := strings.Trim(notice.Header.Get("List-Unsubscribe"), "<>")
	if unsub == "" || !strings.Contains(body, unsub) {
		t.Fatalf("the notice has no unsubscribe link in its text and header (%q):\n%s", unsub, body)
	}

	// alice follows the unsubscribe link and presses the button.
	browsertest.Do(t, ctx, chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.CSS("form button")))
	browsertest.ClickAndLoad(t, ctx, "form button")
	if h := text("h1"); h != "You are unsubscribed" {
		t.Fatalf("after unsubscribing: %q", h)
	}
	screenshot("subscribe-unsubscribed.png")

	// The recovery and a second failure reach bob, not alice.
	waitMail("bob's incident notice", "bob@example.com", 2)
	broken.Store(false)
	waitMail("bob's resolution notice", "bob@example.com", 3)
	broken.Store(true)
	waitMail("bob's second incident notice", "bob@example.com", 4)
	waitFor(t, "the outbox to drain", 60*time.Second, func() bool { return outboxDrained(t, s, token) })
	if n := mails("alice@example.com"); n != 2 {
		t.Errorf("alice got %d mails, want 2 (the confirmation and the first notice): unsubscribing did not stop the notices", n)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
