package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestMFAInBrowser turns MFA on at /account/security in a real browser (the
// QR code must render under the pages' Content-Security-Policy), then signs
// in through the TOTP step, and once more with a recovery code.
func TestMFAInBrowser(t *testing.T) {
	b := newHeadless(t)
	dir := t.TempDir()
	const email, password = "trader@example.com", "correct horse battery"
	ariesJSON[userJSON](t, dir, "users", "create", "--email", email, "--password", password)
	srv := startServer(t, dir, "--demo", "--mfa-scopes", "order:execution")
	callback := srv.URL + "/demo/callback"
	app := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Trading Bot", "--redirect-uri", callback, "--scope", "read trade")
	authURL := srv.URL + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ClientID},
		"redirect_uri": {callback}, "scope": {"read trade"}, "state": {"s1"}}.Encode()

	// Without MFA, trading is refused with a pointer to the account page.
	b.do("sign in", chromedp.Navigate(authURL), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), email), chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("button.primary")))
	if loc := waitLocation(b, callback); !strings.Contains(loc, "error=access_denied") || !strings.Contains(loc, "account%2Fsecurity") {
		t.Fatalf("trade without MFA: at %s, want error=access_denied naming /account/security", loc)
	}

	b.do("open security", chromedp.Navigate(srv.URL+"/account/security"), chromedp.WaitVisible(css(`button[type="submit"].primary`)))
	b.screenshot("mfa-security-off")
	b.do("set up", chromedp.Click(css(`form.cc-inline button.primary`)), chromedp.WaitVisible(css(".mfa-qr")))
	width, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelector('.mfa-qr').naturalWidth`))
	if err != nil || width != 200 {
		t.Errorf("QR code image: natural width %d (%v), want 200: the data: PNG must load", width, err)
	}
	b.screenshot("mfa-setup")
	secret := strings.ReplaceAll(b.value("#totp_secret"), " ", "")
	code := func(steps int) string {
		c, err := totp.GenerateCode(secret, time.Now().Add(time.Duration(steps)*30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	b.do("confirm", chromedp.SendKeys(css("#code"), code(0)), chromedp.Click(css(`button.primary`)),
		chromedp.WaitVisible(css(".mfa-codes")))
	b.screenshot("mfa-recovery-codes")
	recovery := strings.Fields(b.text(".mfa-codes"))
	if len(recovery) != 10 {
		t.Fatalf("recovery codes on the page: got %d, want 10", len(recovery))
	}
	b.do("saved", chromedp.Click(css(`a.button.primary`)), chromedp.WaitVisible(css(".badge")))
	if got := b.text(".lead .badge"); got != "On" {
		t.Errorf("status badge: got %q, want On", got)
	}

	// Sign in again: password, then the TOTP step, then consent.
	b.do("sign out", chromedp.Click(css(`.cc-who button.link`)), chromedp.WaitVisible(css("#email")))
	b.do("sign in", chromedp.Navigate(authURL), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), email), chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("button.primary")), chromedp.WaitVisible(css("#code")))
	b.screenshot("mfa-totp-step")
	wrong := mfaAccount{userJSON: userJSON{TOTPSecret: secret}}.wrongCode(t)
	b.do("wrong code", chromedp.SendKeys(css("#code"), wrong), chromedp.Click(css("button.primary")), chromedp.WaitVisible(css("#mfa-error")))
	b.screenshot("mfa-totp-wrong")
	b.do("right code", chromedp.SendKeys(css("#code"), code(1)), chromedp.Click(css("button.primary")),
		chromedp.WaitVisible(css(`button[value="approve"]`)))
	b.do("approve", chromedp.Click(css(`button[value="approve"]`)))
	if loc := waitLocation(b, callback); !strings.HasPrefix(loc, callback) || !strings.Contains(loc, "code=") {
		t.Fatalf("after the TOTP step and consent: at %s, want the callback with a code", loc)
	}

	// And with a recovery code, in place of the app.
	b.do("sign out", chromedp.Navigate(srv.URL+"/account/security"), chromedp.WaitVisible(css(`.cc-who button.link`)),
		chromedp.Click(css(`.cc-who button.link`)), chromedp.WaitVisible(css("#email")))
	b.do("sign in", chromedp.Navigate(authURL), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), email), chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("button.primary")), chromedp.WaitVisible(css("#code")))
	b.do("recovery link", chromedp.Click(css(`a[href$="method=recovery"]`)), chromedp.WaitVisible(css("#recovery_code")))
	b.screenshot("mfa-recovery-step")
	b.do("recovery code", chromedp.SendKeys(css("#recovery_code"), recovery[0]), chromedp.Click(css("button.primary")))
	if loc := waitLocation(b, callback); !strings.HasPrefix(loc, callback) || !strings.Contains(loc, "code=") {
		t.Fatalf("after a recovery code (consent remembered): at %s, want the callback with a code", loc)
	}
}

// waitLocation waits up to five seconds for the tab to reach an address
// starting with prefix, and returns where it is.
func waitLocation(b *headless, prefix string) string {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		loc := b.location()
		if strings.HasPrefix(loc, prefix) || time.Now().After(deadline) {
			return loc
		}
		time.Sleep(50 * time.Millisecond)
	}
}
