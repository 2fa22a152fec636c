package clientcenter

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/store"
)

var secretOnPage = regexp.MustCompile(`aries_cs_[A-Za-z0-9_-]+`)
var clientIDOnPage = regexp.MustCompile(`id="client_id" type="text" readonly value="(aries_ci_[A-Za-z0-9_-]+)"`)

func newClientForm(name, typ, uris string, scopes ...string) url.Values {
	return url.Values{"name": {name}, "type": {typ}, "redirect_uris": {uris}, "scope": scopes}
}

func TestPagesNeedSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.anonymous()
	b.get("/login") // a CSRF cookie, so the POSTs below get past the token check
	tests := []struct {
		method, path string
		wantStatus   int
		wantLocation string
	}{
		{"GET", "/clients", http.StatusFound, "/login?return_to=%2Fclients"},
		{"GET", "/clients/new", http.StatusFound, "/login?return_to=%2Fclients%2Fnew"},
		{"GET", "/clients/aries_ci_x?notice=saved", http.StatusFound, "/login?return_to=%2Fclients%2Faries_ci_x%3Fnotice%3Dsaved"},
		{"GET", "/account/apps", http.StatusFound, "/login?return_to=%2Faccount%2Fapps"},
		{"POST", "/clients", http.StatusSeeOther, "/login?return_to=%2Fclients"},
		{"POST", "/account/apps/aries_ci_x/revoke", http.StatusSeeOther, "/login?return_to=%2Faccount%2Fapps"},
	}
	for _, tt := range tests {
		var resp *http.Response
		if tt.method == "GET" {
			resp, _ = b.get(tt.path)
		} else {
			resp, _ = b.post(tt.path, newClientForm("App", "confidential", "https://app.example/cb", "read"))
		}
		if resp.StatusCode != tt.wantStatus || location(resp) != tt.wantLocation {
			t.Errorf("%s %s: %d to %q, want %d to %q", tt.method, tt.path, resp.StatusCode, location(resp), tt.wantStatus, tt.wantLocation)
		}
	}
	if cs, _ := e.st.Clients(context.Background(), ""); len(cs) != 0 {
		t.Errorf("a signed-out POST created %d clients, want 0", len(cs))
	}
}

func TestPostsNeedCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.dev)
	c, _ := e.createClient(e.dev, "Mine")
	for _, path := range []string{"/clients", "/clients/" + c.ID, "/clients/" + c.ID + "/secret",
		"/clients/" + c.ID + "/disable", "/clients/" + c.ID + "/delete", "/account/apps/" + c.ID + "/revoke"} {
		form := newClientForm("Other", "confidential", "https://app.example/cb", "read")
		form.Set("confirm", "Mine")
		form.Set("csrf_token", strings.Repeat("A", 43))
		resp, _ := b.post(path, form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: status %d, want 403", path, resp.StatusCode)
		}
	}
	got := e.client(c.ID)
	if got.Name != "Mine" || got.Disabled || got.SecretHash != c.SecretHash {
		t.Errorf("client changed by forged POSTs: %+v", got)
	}
	if cs, _ := e.st.Clients(context.Background(), ""); len(cs) != 1 {
		t.Errorf("%d clients after forged POSTs, want 1", len(cs))
	}
}

func TestCreateShowsSecretOnce(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.dev)
	resp, page := b.post("/clients", newClientForm("Acme Trader", "confidential",
		"https://app.example/callback?tenant=7\r\n  http://127.0.0.1:8765/cb  \r\n\r\nhttps://app.example/callback?tenant=7\r\ncom.example.app:/oauth",
		"user:information", "order:execution", "read"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create: status %d, want 200 with the secret\n%s", resp.StatusCode, page)
	}
	sec := secretOnPage.FindString(page)
	m := clientIDOnPage.FindStringSubmatch(page)
	if sec == "" || m == nil {
		t.Fatalf("the secret page shows no secret or no client id:\n%s", page)
	}
	if !strings.Contains(page, "shown only this once") || !strings.Contains(page, `data-copy="client_secret"`) {
		t.Errorf("the secret page lacks the once-only warning or the copy button")
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("secret page Cache-Control = %q, want no-store", got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("secret page CSP = %q, want script-src 'self' (copy.js) and frame-ancestors 'none'", csp)
	}

	c := e.client(m[1])
	want := store.Client{
		ID: m[1], Name: "Acme Trader", Type: store.Confidential, OwnerID: e.dev.ID,
		RedirectURIs: []string{"https://app.example/callback?tenant=7", "http://127.0.0.1:8765/cb", "com.example.app:/oauth"},
		Scopes: []string{"user:information", "account:information", "order:execution", "order:information",
			"position:information", "market:information", "calendar:information", "options:information",
			"analytics:information", "market:supplemental"},
		IDTokenSignedResponseAlg: "RS256", // the default (docs/oidc.md)
	}
	got := c
	got.SecretHash, got.CreatedAt, got.UpdatedAt = "", want.CreatedAt, want.UpdatedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored client (-want +got):\n%s", diff)
	}
	if !e.hasher.Verify(sec, c.SecretHash) {
		t.Errorf("the shown secret does not match the stored hash")
	}
	if strings.Contains(c.SecretHash, sec) {
		t.Errorf("the secret is stored in clear")
	}

	for _, path := range []string{"/clients", "/clients/" + c.ID} {
		resp, page := b.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		if strings.Contains(page, sec) || secretOnPage.MatchString(page) {
			t.Errorf("GET %s shows the secret again", path)
		}
		if !strings.Contains(page, c.ID) {
			t.Errorf("GET %s does not show the client id", path)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") {
			t.Errorf("GET %s CSP allows scripts: %q", path, csp)
		}
	}
}

func TestCreatePublicClientHasNoSecret(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.dev)
	resp, page := b.post("/clients", newClientForm("Pocket", "public", "com.example.pocket:/cb", "read"))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(location(resp), "?notice=created") {
		t.Fatalf("create public: %d to %q, want 303 to the app page\n%s", resp.StatusCode, location(resp), page)
	}
	cs, _ := e.st.Clients(context.Background(), e.dev.ID)
	if len(cs) != 1 || cs[0].Type != store.Public || cs[0].SecretHash != "" {
		t.Fatalf("clients of the developer: %+v, want one public client without secret", cs)
	}
	resp, page = b.get(location(resp))
	if !strings.Contains(page, "The app is registered.") || strings.Contains(page, "Regenerate client secret") {
		t.Errorf("public app page: want the created notice and no regenerate button\n%s", page)
	}
	resp, _ = b.post("/clients/"+cs[0].ID+"/secret", url.Values{"version": {version(cs[0])}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("regenerating a public client's secret: status %d, want 400", resp.StatusCode)
	}
}

func TestRedirectURIValidation(t *testing.T) {
	tests := []struct {
		uris string
		want string // a part of the message on the page
	}{
		{"http://app.example/cb", "http is allowed only on 127.0.0.1, [::1] or localhost; use https"},
		{"https://app.example/cb#done", "must not contain a fragment"},
		{"/callback", "is not an absolute URI"},
		{"myapp:/cb", "a native app&#39;s private-use scheme must be a reversed domain name"},
		{"https://app.example/a b", "must not contain spaces"},
		{"", "register at least one redirect URI"},
		{manyURIs(21), "register at most 20 redirect URIs"},
	}
	for _, tt := range tests {
		e := newEnv(t)
		b := e.signedIn(e.dev)
		resp, page := b.post("/clients", newClientForm("App", "confidential", tt.uris, "read"))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect URIs %q: status %d, want 400", tt.uris, resp.StatusCode)
			continue
		}
		if !strings.Contains(page, tt.want) {
			t.Errorf("redirect URIs %q: page lacks %q", tt.uris, tt.want)
		}
		if !strings.Contains(page, `aria-describedby="redirect-help form-errors" aria-invalid="true">`+html.EscapeString(tt.uris)) {
			t.Errorf("redirect URIs %q: the textarea is not marked invalid", tt.uris)
		}
		if !strings.Contains(page, `value="App"`) {
			t.Errorf("redirect URIs %q: the form lost the name typed", tt.uris)
		}
		if cs, _ := e.st.Clients(context.Background(), ""); len(cs) != 0 {
			t.Errorf("redirect URIs %q: a client was created", tt.uris)
		}
	}
}

func manyURIs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("https://app.example/cb/" + string(rune('a'+i)) + "\n")
	}
	return b.String()
}

func TestCreateRefusesOtherMistakes(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"no name", newClientForm("  ", "confidential", "https://app.example/cb", "read"), "a client needs a name"},
		{"no scope", newClientForm("App", "confidential", "https://app.example/cb"), "enable at least one scope"},
		{"unknown scope", newClientForm("App", "confidential", "https://app.example/cb", "everything"), "unknown scope &#34;everything&#34;"},
		{"admin scope by a developer", newClientForm("App", "confidential", "https://app.example/cb", "admin"), "only administrators may enable the admin scope"},
	}
	for _, tt := range tests {
		e := newEnv(t)
		resp, page := e.signedIn(e.dev).post("/clients", tt.form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, tt.want) {
			t.Errorf("%s: status %d, want 400 with %q\n%s", tt.name, resp.StatusCode, tt.want, page)
		}
	}
}

func TestDevelopersCannotReachOthersApps(t *testing.T) {
	e := newEnv(t)
	theirs, theirSecret := e.createClient(e.other, "Bob's bot")
	cli, _ := e.createClient(store.User{}, "Made with the CLI")
	ada := e.signedIn(e.dev)

	_, list := ada.get("/clients")
	if strings.Contains(list, theirs.ID) || strings.Contains(list, cli.ID) {
		t.Errorf("the developer's list shows apps they do not own")
	}
	for _, c := range []store.Client{theirs, cli} {
		form := newClientForm("Hijacked", "", "https://evil.example/cb", "read")
		form.Set("version", version(c))
		form.Set("confirm", c.Name)
		attempts := []struct{ method, path string }{
			{"GET", "/clients/" + c.ID},
			{"GET", "/clients/" + c.ID + "/delete"},
			{"POST", "/clients/" + c.ID},
			{"POST", "/clients/" + c.ID + "/secret"},
			{"POST", "/clients/" + c.ID + "/disable"},
			{"POST", "/clients/" + c.ID + "/enable"},
			{"POST", "/clients/" + c.ID + "/delete"},
		}
		for _, a := range attempts {
			var resp *http.Response
			var page string
			if a.method == "GET" {
				resp, page = ada.get(a.path)
			} else {
				resp, page = ada.post(a.path, form)
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s by another developer: status %d, want 404", a.method, a.path, resp.StatusCode)
			}
			if strings.Contains(page, c.Name) || secretOnPage.MatchString(page) {
				t.Errorf("%s %s: the 404 page reveals the app", a.method, a.path)
			}
		}
		got := e.client(c.ID)
		if got.Name != c.Name || got.Disabled || got.SecretHash != c.SecretHash || !cmp.Equal(got.RedirectURIs, c.RedirectURIs) {
			t.Errorf("client %s changed by another developer: %+v", c.ID, got)
		}
	}
	// A missing id looks exactly like someone else's.
	resp, missing := ada.get("/clients/aries_ci_doesnotexist")
	_, foreign := ada.get("/clients/" + theirs.ID)
	if resp.StatusCode != http.StatusNotFound || missing != foreign {
		t.Errorf("a missing client and another developer's client answer differently")
	}
	if !e.hasher.Verify(theirSecret, e.client(theirs.ID).SecretHash) {
		t.Errorf("the owner's secret stopped working")
	}

	// The owner and an administrator do reach it.
	if resp, _ := e.signedIn(e.other).get("/clients/" + theirs.ID); resp.StatusCode != http.StatusOK {
		t.Errorf("owner GET: status %d, want 200", resp.StatusCode)
	}
	root := e.signedIn(e.admin)
	if resp, _ := root.get("/clients/" + theirs.ID); resp.StatusCode != http.StatusOK {
		t.Errorf("admin GET: status %d, want 200", resp.StatusCode)
	}
	_, all := root.get("/clients")
	for _, want := range []string{theirs.ID, cli.ID, "bob@example.com", "All apps"} {
		if !strings.Contains(all, want) {
			t.Errorf("the admin's list lacks %q", want)
		}
	}
}

func TestRegenerateSecret(t *testing.T) {
	e := newEnv(t)
	c, old := e.createClient(e.dev, "Rotator")
	b := e.signedIn(e.dev)
	_, page := b.get("/clients/" + c.ID)
	if !strings.Contains(page, `name="version" value="`+version(c)+`"`) {
		t.Fatalf("the app page has no regenerate form with the version")
	}
	form := url.Values{"version": {version(c)}}
	resp, page := b.post("/clients/"+c.ID+"/secret", form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("regenerate: status %d, want 200\n%s", resp.StatusCode, page)
	}
	fresh := secretOnPage.FindString(page)
	if fresh == "" || fresh == old || !strings.Contains(page, "the previous secret has already stopped working") {
		t.Fatalf("regenerate page: secret %q, want a new one and the warning", fresh)
	}
	stored := e.client(c.ID).SecretHash
	if e.hasher.Verify(old, stored) {
		t.Errorf("the old secret still verifies after regenerating")
	}
	if !e.hasher.Verify(fresh, stored) {
		t.Errorf("the new secret does not verify")
	}

	// Reloading the secret page sends the same form again: no new secret.
	resp, page = b.post("/clients/"+c.ID+"/secret", form)
	if resp.StatusCode != http.StatusConflict || secretOnPage.MatchString(page) {
		t.Errorf("resent regenerate form: status %d, want 409 and no secret", resp.StatusCode)
	}
	if !e.hasher.Verify(fresh, e.client(c.ID).SecretHash) {
		t.Errorf("the resent form replaced the secret just shown")
	}
}

func TestEditSettings(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Before")
	b := e.signedIn(e.dev)
	form := url.Values{
		"name":          {"After"},
		"redirect_uris": {"https://app.example/new\nhttp://localhost:3000/cb"},
		"scope":         {"account:information", "trade"},
		"first_party":   {"1"}, // not the developer's to set
		"type":          {"public"},
	}
	resp, page := b.post("/clients/"+c.ID, form)
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/clients/"+c.ID+"?notice=saved" {
		t.Fatalf("save: %d to %q, want 303 to the app page\n%s", resp.StatusCode, location(resp), page)
	}
	got := e.client(c.ID)
	if got.Name != "After" || got.FirstParty || got.Type != store.Confidential || got.SecretHash != c.SecretHash ||
		!cmp.Equal(got.RedirectURIs, []string{"https://app.example/new", "http://localhost:3000/cb"}) ||
		!cmp.Equal(got.Scopes, []string{"account:information", "order:execution"}) {
		t.Errorf("after edit: %+v", got)
	}
	if _, page := b.get(location(resp)); !strings.Contains(page, "Your changes are saved.") {
		t.Errorf("the app page does not confirm the save")
	}

	resp, page = b.post("/clients/"+c.ID, url.Values{"name": {"After"}, "redirect_uris": {"http://evil.example/cb"}, "scope": {"read"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "use https") {
		t.Errorf("invalid edit: status %d, want 400 with the redirect URI message", resp.StatusCode)
	}
	if !cmp.Equal(e.client(c.ID).RedirectURIs, got.RedirectURIs) {
		t.Errorf("an invalid edit changed the redirect URIs")
	}

	// An administrator may mark the app first-party.
	root := e.signedIn(e.admin)
	form.Set("first_party", "1")
	if resp, _ := root.post("/clients/"+c.ID, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin save: status %d", resp.StatusCode)
	}
	if !e.client(c.ID).FirstParty {
		t.Errorf("the admin's first-party mark was not saved")
	}
	// The developer's next edit keeps it.
	form.Del("first_party")
	b.post("/clients/"+c.ID, form)
	if !e.client(c.ID).FirstParty {
		t.Errorf("the developer's edit cleared the first-party mark")
	}
}

func TestDisableEnable(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Toggle")
	refresh := issueRefreshToken(t, e, e.other, c.ID)
	b := e.signedIn(e.dev)
	resp, _ := b.post("/clients/"+c.ID+"/disable", nil)
	if resp.StatusCode != http.StatusSeeOther || !e.client(c.ID).Disabled {
		t.Fatalf("disable: status %d, disabled %v", resp.StatusCode, e.client(c.ID).Disabled)
	}
	if _, _, err := e.st.RefreshTokenGrant(context.Background(), e.hasher.Hash(refresh), time.Now()); err == nil {
		t.Errorf("a refresh token of the disabled app still works")
	}
	if _, page := b.get(location(resp)); !strings.Contains(page, "Enable app") {
		t.Errorf("a disabled app's page offers no Enable button")
	}
	resp, _ = b.post("/clients/"+c.ID+"/enable", nil)
	if resp.StatusCode != http.StatusSeeOther || e.client(c.ID).Disabled {
		t.Errorf("enable: status %d, disabled %v", resp.StatusCode, e.client(c.ID).Disabled)
	}
}

func TestDeleteNeedsTypedConfirmation(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Doomed app")
	b := e.signedIn(e.dev)
	resp, page := b.get("/clients/" + c.ID + "/delete")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<label for="confirm">`) {
		t.Fatalf("confirmation page: status %d\n%s", resp.StatusCode, page)
	}
	for _, typed := range []string{"", "doomed app", "Doomed"} {
		resp, page := b.post("/clients/"+c.ID+"/delete", url.Values{"confirm": {typed}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "does not match") {
			t.Errorf("delete confirmed with %q: status %d, want 400", typed, resp.StatusCode)
		}
	}
	e.client(c.ID) // still there
	resp, _ = b.post("/clients/"+c.ID+"/delete", url.Values{"confirm": {" Doomed app "}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/clients?notice=deleted" {
		t.Fatalf("delete: %d to %q, want 303 to /clients", resp.StatusCode, location(resp))
	}
	if _, err := e.st.Client(context.Background(), c.ID); err == nil {
		t.Errorf("the client still exists after delete")
	}
	if _, page := b.get("/clients?notice=deleted"); !strings.Contains(page, "The app is deleted.") {
		t.Errorf("the list does not confirm the delete")
	}
}

func TestPagesEscapeAndAreProtected(t *testing.T) {
	e := newEnv(t)
	evil := `<script>alert(1)</script>"'`
	c, _ := e.createClient(e.dev, evil)
	e.consent(e.dev, c.ID)
	b := e.signedIn(e.dev)
	for _, path := range []string{"/clients", "/clients/new", "/clients/" + c.ID, "/clients/" + c.ID + "/delete", "/account/apps", "/clients?notice=<b>x</b>"} {
		resp, page := b.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
			continue
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>x</b>") {
			t.Errorf("GET %s: unescaped input on the page", path)
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if !strings.Contains(page, `<nav class="cc-nav"`) || !strings.Contains(page, `href="/account/security"`) || !strings.Contains(page, `action="/logout"`) {
			t.Errorf("GET %s: the navigation (apps, security, sign out) is missing", path)
		}
		// Every form field has a label.
		for _, id := range regexp.MustCompile(`<(?:input|textarea) id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			if !strings.Contains(page, `<label for="`+id[1]+`"`) {
				t.Errorf("GET %s: field #%s has no label", path, id[1])
			}
		}
	}
}
