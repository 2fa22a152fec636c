package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium. Without it the browser tests skip
// on a developer's machine and fail in CI, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it with apt-get install chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// screenshotDir is where the browser tests leave a PNG of every page they
// visit: $ARIES_ARTIFACTS/screenshots, or artifacts/screenshots at the
// repository root (git-ignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ARIES_ARTIFACTS")
	if base == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Fatal("no go.mod above the test's directory")
			}
			dir = parent
		}
		base = filepath.Join(dir, "artifacts")
	}
	dir := filepath.Join(base, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// headless is one Chromium tab driven through the DevTools protocol.
type headless struct {
	t       *testing.T
	ctx     context.Context
	shots   string
	counter int
}

func newHeadless(t *testing.T) *headless {
	t.Helper()
	return startHeadless(t)
}

// startHeadless starts Chromium with the options every browser test uses
// plus extra.
func startHeadless(t *testing.T, extra ...chromedp.ExecAllocatorOption) *headless {
	t.Helper()
	path := chromiumPath(t)
	// The flags keep Chromium off the network: this machine reaches
	// nothing but loopback, and background fetches would only fail.
	opts := append(append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	), extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return &headless{t: t, ctx: ctx, shots: screenshotDir(t)}
}

// do runs actions; a failure ends the test with the page's address.
func (b *headless) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

func (b *headless) value(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (b *headless) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (b *headless) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// screenshot saves the whole page as NN-name.png.
func (b *headless) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.counter++
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.counter, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// TestClientCenterInBrowser is the Client Center walk-through of the Aries
// API documentation ("Create an OAuth client in Client Center") in a
// real browser against `aries serve`: sign in, register an app, read its
// secret once, use it, connect the app to the account and remove it again,
// regenerate the secret, see the old one refused, delete the app.
func TestClientCenterInBrowser(t *testing.T) {
	b := newHeadless(t)
	dir := t.TempDir()
	const email, password = "dev@example.com", "correct horse battery"
	ariesJSON[userJSON](t, dir, "users", "create", "--email", email, "--password", password)
	const traderRedirect = "https://trader.example/cb"
	trader := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Day Trader",
		"--redirect-uri", traderRedirect, "--scope", "read trade")
	srv := startServer(t, dir, "--demo")
	callback := srv.URL + "/demo/callback"
	const appName = "Trading Bot"

	// Signed out, /clients leads to the hosted sign-in and back.
	b.do("open /clients", chromedp.Navigate(srv.URL+"/clients"), chromedp.WaitVisible(css("#email")))
	if loc := b.location(); !strings.Contains(loc, "/login?return_to=%2Fclients") {
		t.Errorf("signed out, /clients went to %s, want the sign-in page", loc)
	}
	b.screenshot("sign-in")
	b.do("sign in",
		chromedp.SendKeys(css("#email"), email),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(css(`a[href="/clients/new"]`)),
	)
	b.screenshot("clients-empty")

	// Register a confidential app.
	b.do("open the registration form", chromedp.Click(css(`a[href="/clients/new"]`)), chromedp.WaitVisible(css("#redirect_uris")))
	b.do("fill in the form with a plain-http redirect URI",
		chromedp.SendKeys(css("#name"), appName),
		chromedp.SendKeys(css("#redirect_uris"), "http://bot.example/callback"),
		chromedp.Click(css(`input[name="scope"][value="user:information"]`)),
		chromedp.Click(css(`input[name="scope"][value="market:information"]`)),
		chromedp.Click(css(`form[action="/clients"] button[type="submit"]`)),
		chromedp.WaitVisible(css("#form-errors")),
	)
	if msg := b.text("#form-errors"); !strings.Contains(msg, "http is allowed only on 127.0.0.1, [::1] or localhost; use https") {
		t.Errorf("the form's error is %q, want the redirect URI rule", msg)
	}
	if name := b.value("#name"); name != appName {
		t.Errorf("after the refusal the name field holds %q, want %q", name, appName)
	}
	b.screenshot("new-app-refused")
	b.do("correct the redirect URI", chromedp.SetValue(css("#redirect_uris"), callback))
	b.screenshot("new-app")
	b.do("register", chromedp.Click(css(`form[action="/clients"] button[type="submit"]`)), chromedp.WaitVisible(css("#client_secret")))
	clientID, firstSecret := b.value("#client_id"), b.value("#client_secret")
	if !strings.HasPrefix(clientID, "aries_ci_") || !strings.HasPrefix(firstSecret, "aries_cs_") {
		t.Fatalf("secret page shows client_id %q and secret %q", clientID, firstSecret)
	}
	if warning := b.text(".cc-warning"); !strings.Contains(warning, "shown only this once") {
		t.Errorf("the secret page's warning is %q", warning)
	}
	// The copy button is hidden until /assets/copy.js runs, so seeing it
	// shows the page's CSP lets the embedded script (and only it) run.
	b.do("copy the secret", chromedp.WaitVisible(css(`button[data-copy="client_secret"]`)), chromedp.Click(css(`button[data-copy="client_secret"]`)))
	// The clipboard answers asynchronously.
	status := ""
	for deadline := time.Now().Add(5 * time.Second); status == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		status = b.text("#copy-status")
	}
	if status == "" {
		t.Errorf("the copy button reported nothing")
	}
	b.screenshot("secret-shown-once")

	// The secret works at the token endpoint.
	creds := func(sec string) tokenResult {
		return srv.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}, clientID, sec)
	}
	wantTokens(t, creds(firstSecret), false)

	// Neither the list nor the app's page ever shows the secret again.
	b.do("open the list", chromedp.Navigate(srv.URL+"/clients"), chromedp.WaitVisible(css(".cc-table")))
	if list := b.text(".cc-table"); !strings.Contains(list, appName) || !strings.Contains(list, clientID) || strings.Contains(list, firstSecret) {
		t.Errorf("the list shows %q, want the app and its client id, without the secret", list)
	}
	b.screenshot("clients")
	b.do("open the app", chromedp.Click(css(`a[href="/clients/`+clientID+`"]`)), chromedp.WaitVisible(css("#settings-heading")))
	if html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(css("html"))); strings.Contains(html, firstSecret) {
		t.Errorf("the app's page shows the secret again")
	}
	b.screenshot("app")

	// A user (the developer, here) connects the app to their account.
	authURL := srv.URL + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {callback}, "scope": {"user:information"}, "state": {"s1"}}.Encode()
	b.do("authorize the app", chromedp.Navigate(authURL), chromedp.WaitVisible(css(`button[value="approve"]`)))
	b.screenshot("consent")
	b.do("approve", chromedp.Click(css(`button[value="approve"]`)), chromedp.WaitVisible(css("body")))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(b.location(), callback) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	back, err := url.Parse(b.location())
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("after approval the browser is at %s, want the callback with a code", b.location())
	}
	tokens := srv.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {callback}}, clientID, firstSecret)
	wantTokens(t, tokens, true)
	if got := introspectAs(t, srv.URL, clientID, firstSecret, tokens.RefreshToken); !got.Active {
		t.Fatalf("the new refresh token is inactive")
	}

	// Connected apps: the user removes the app's access.
	b.do("open connected apps", chromedp.Navigate(srv.URL+"/account/apps"), chromedp.WaitVisible(css(".cc-app")))
	if listed := b.text(".cc-app"); !strings.Contains(listed, appName) || !strings.Contains(listed, "View user profile and personal details") {
		t.Errorf("connected apps shows %q, want the app and its scope's description", listed)
	}
	b.screenshot("connected-apps")
	b.do("remove access",
		chromedp.Click(css(`form[action="/account/apps/`+clientID+`/revoke"] button`)),
		chromedp.WaitVisible(css(".cc-notice")),
	)
	b.screenshot("access-removed")
	if got := introspectAs(t, srv.URL, clientID, firstSecret, tokens.RefreshToken); got.Active {
		t.Errorf("after removing access, introspection says the refresh token is active")
	}
	if got := introspectAs(t, srv.URL, clientID, firstSecret, tokens.AccessToken); got.Active {
		t.Errorf("after removing access, introspection says the access token is active")
	}
	wantError(t, srv.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}}, clientID, firstSecret),
		http.StatusBadRequest, "invalid_grant")

	// Regenerate the secret: the old one is refused at once.
	b.do("open the app again", chromedp.Navigate(srv.URL+"/clients/"+clientID), chromedp.WaitVisible(css("#credentials-heading")))
	b.do("regenerate",
		chromedp.Click(css(`form[action="/clients/`+clientID+`/secret"] button`)),
		chromedp.WaitVisible(css("#client_secret")),
	)
	newSecret := b.value("#client_secret")
	if newSecret == firstSecret || !strings.HasPrefix(newSecret, "aries_cs_") {
		t.Fatalf("regenerated secret %q", newSecret)
	}
	b.screenshot("secret-regenerated")
	wantError(t, creds(firstSecret), http.StatusUnauthorized, "invalid_client")
	wantTokens(t, creds(newSecret), false)

	// Delete, with the name typed as confirmation.
	b.do("open delete", chromedp.Navigate(srv.URL+"/clients/"+clientID+"/delete"), chromedp.WaitVisible(css("#confirm")))
	b.do("confirm", chromedp.SendKeys(css("#confirm"), appName))
	b.screenshot("delete-confirm")
	b.do("delete",
		chromedp.Click(css(`form[action="/clients/`+clientID+`/delete"] button[type="submit"]`)),
		chromedp.WaitVisible(css(".cc-notice")),
	)
	b.screenshot("deleted")
	if list := b.text(".cc"); strings.Contains(list, clientID) {
		t.Errorf("the deleted app is still listed")
	}
	wantError(t, creds(newSecret), http.StatusUnauthorized, "invalid_client")

	// An app asking for "read trade" on a laptop-sized window: the two
	// scopes that change something (the profile, orders) are plainly
	// stated apart, the eight read-only ones fold into one line, and the
	// decision needs no scrolling
	// (docs/security.md#the-consent-page-says-what-a-token-can-do).
	traderURL := srv.URL + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {trader.ClientID},
		"redirect_uri": {traderRedirect}, "scope": {"read trade"}, "state": {"s2"}}.Encode()
	b.do("ask for read trade at 1280x800", chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(traderURL), chromedp.WaitVisible(css(`button[value="approve"]`)))
	b.screenshot("consent-read-trade")
	for _, button := range []string{"approve", "deny"} {
		js := `(() => { const r = document.querySelector('button[value="` + button + `"]').getBoundingClientRect();
			return r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth; })()`
		inView, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("measuring the %s button: %v", button, err)
		}
		if !inView {
			t.Errorf("on a 1280x800 window the %s button is not in view without scrolling", button)
		}
	}
	if actions := b.text(".consent-scopes"); !strings.Contains(actions, "can place, change and cancel orders") ||
		!strings.Contains(actions, "can change your profile") || !strings.Contains(actions, "8 read-only permissions") {
		t.Errorf("the consent page's scopes read %q, want the two write actions and one line of 8 read-only scopes", actions)
	}
	folded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!document.querySelector('.scope-read details').open`))
	if err != nil || !folded {
		t.Errorf("the read-only scopes are not folded (%v)", err)
	}

	// Narrow screens get the same pages, stacked.
	b.do("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(srv.URL+"/clients/new"), chromedp.WaitVisible(css("#name")))
	b.screenshot("new-app-narrow")
}

// introspectAs asks the introspection endpoint about tok with the client's
// own credentials.
func introspectAs(t *testing.T, base, clientID, clientSecret, tok string) introspection {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: %d %s", resp.StatusCode, body)
	}
	var in introspection
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	return in
}
