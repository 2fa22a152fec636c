package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// portalArtifacts is where TestPortalInBrowser leaves its screenshots:
// $ARIES_TEST_ARTIFACTS, or a temporary folder; the test prints which.
func portalArtifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARIES_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the portal: %s", dir)
	return dir
}

// TestPortalInBrowser walks the developer portal in Chromium against
// `aries serve`: the landing page and its three ways in, a documentation
// page, the API reference, and the token page sending a client-credentials
// request and a revocation for an app the developer registered, with the
// secret typed in and never shown.
func TestPortalInBrowser(t *testing.T) {
	b := newHeadless(t)
	b.shots = portalArtifacts(t)
	dir := t.TempDir()
	const email, password = "dev@example.com", "correct horse battery"
	ariesJSON[userJSON](t, dir, "users", "create", "--email", email, "--password", password)
	srv := startServer(t, dir, "--demo", "--metrics-addr", "")

	// The landing page: sign in, the Client Center and the docs, one click each.
	b.do("open /", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(css(".portal-home")))
	for _, link := range []string{`a[href="/login?return_to=%2Fclients"]`, `.portal-cards a[href="/clients"]`, `.portal-cards a[href="/docs"]`} {
		if count(b, link) == 0 {
			t.Errorf("the landing page has no %s", link)
		}
	}
	b.screenshot("portal-home")

	// A documentation page, reached from the landing page.
	b.do("open the docs", chromedp.Click(css(`.portal-cards a[href="/docs/quickstart"]`)), chromedp.WaitVisible(css(".portal-article h1")))
	if h := b.text(".portal-article h1"); h != "Quick Start" {
		t.Errorf("the Quick Start's heading is %q", h)
	}
	if cur := b.text(`.portal-toc a[aria-current="page"]`); cur != "Quick Start" {
		t.Errorf("the table of contents marks %q as the current page", cur)
	}
	b.screenshot("portal-quickstart")
	b.do("follow a link between pages", chromedp.Click(css(`.portal-article a[href="/docs/first-party"]`)), chromedp.WaitVisible(css(".portal-article h1")))
	if h := b.text(".portal-article h1"); h != "First-party sign-in with MFA" {
		t.Errorf("the link led to %q", h)
	}

	// The API reference, rendered from /openapi.json.
	b.do("open the API reference", chromedp.Navigate(srv.URL+"/docs/api"), chromedp.WaitVisible(css("#token")))
	if h := b.text("#token h3"); !strings.Contains(h, "POST") || !strings.Contains(h, "/v1/oauth2/token") {
		t.Errorf("the token endpoint's heading is %q", h)
	}
	if n := count(b, ".portal-op"); n < 30 {
		t.Errorf("the reference shows %d operations, want every public endpoint", n)
	}
	b.screenshot("portal-api-reference")

	// The token page needs a signed-in developer and one of their apps.
	b.do("open the token page signed out", chromedp.Navigate(srv.URL+"/docs/try"), chromedp.WaitVisible(css("#email")))
	b.do("sign in",
		chromedp.SendKeys(css("#email"), email),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(css(".portal-try")),
	)
	b.do("register an app in the Client Center", chromedp.Navigate(srv.URL+"/clients/new"), chromedp.WaitVisible(css("#redirect_uris")),
		chromedp.SendKeys(css("#name"), "Portal Bot"),
		chromedp.SendKeys(css("#redirect_uris"), srv.URL+"/demo/callback"),
		chromedp.Click(css(`input[name="scope"][value="market:information"]`)),
		chromedp.Click(css(`form[action="/clients"] button[type="submit"]`)),
		chromedp.WaitVisible(css("#client_secret")),
	)
	clientID, secret := b.value("#client_id"), b.value("#client_secret")

	b.do("choose the app", chromedp.Navigate(srv.URL+"/docs/try"), chromedp.WaitVisible(css("#client_id")),
		chromedp.SetValue(css("#client_id"), clientID),
		chromedp.Click(css(`.portal-pick button`)),
		chromedp.WaitVisible(css(".portal-tabs")),
	)
	b.screenshot("portal-try-code-exchange")
	b.do("choose client credentials",
		chromedp.Click(css(`.portal-tabs a[href*="shape=client_credentials"]`)),
		chromedp.WaitVisible(css("#scope")),
		chromedp.SendKeys(css("#client_secret"), secret),
		chromedp.SendKeys(css("#scope"), "market:information"),
	)
	b.screenshot("portal-try-client-credentials-form")
	b.do("send client credentials",
		chromedp.Click(css(`form[method="post"][action="/docs/try"] button[type="submit"]`)),
		chromedp.WaitVisible(css("#try-status")),
	)
	if status := b.text("#try-status"); status != "200 OK" {
		t.Errorf("client credentials from the page: %q\n%s", status, b.text("#try-body"))
	}
	var answer struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(b.text("#try-body")), &answer); err != nil || answer.AccessToken == "" || answer.Scope != "market:information" {
		t.Errorf("the page shows %q (%v), want a token for market:information", b.text("#try-body"), err)
	}
	if curl := b.text("#try-curl"); !strings.Contains(curl, clientID+":$CLIENT_SECRET") || !strings.Contains(curl, "grant_type=client_credentials") {
		t.Errorf("the request as curl is %q", curl)
	}
	if html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(css("html"))); strings.Contains(html, secret) {
		t.Error("the token page shows the client secret")
	}
	if typed := b.value("#client_secret"); typed != "" {
		t.Error("the secret field is filled in again after the request")
	}
	b.screenshot("portal-try-client-credentials")

	// Revoke the token just issued, from the same page.
	b.do("revoke it",
		chromedp.Click(css(`.portal-tabs a[href*="shape=revoke"]`)),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#client_secret"), secret),
		chromedp.SendKeys(css("#token"), answer.AccessToken),
		chromedp.Click(css(`form[method="post"][action="/docs/try"] button[type="submit"]`)),
		chromedp.WaitVisible(css("#try-status")),
	)
	if status := b.text("#try-status"); status != "200 OK" {
		t.Errorf("revocation from the page: %q", status)
	}
	b.screenshot("portal-try-revoke")
	if got := introspectAs(t, srv.URL, clientID, secret, answer.AccessToken); got.Active {
		t.Error("the token revoked from the page is still active")
	}
}

// count is the number of elements sel matches now.
func count(b *headless, sel string) int {
	b.t.Helper()
	quoted, _ := json.Marshal(sel)
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int]("document.querySelectorAll("+string(quoted)+").length"))
	if err != nil {
		b.t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}
