package server

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

// The Client Center, the admin API and the authorization endpoint agree on
// who may manage which client and who may hold the admin scope.

// signInHTTP signs a cookie-keeping HTTP client in through the hosted
// sign-in page and returns the CSRF token its forms carry.
func signInHTTP(t *testing.T, base string, c *http.Client, email, password string) string {
	t.Helper()
	page := testenv.Get(t, c, base+"/login?return_to=/clients")
	_, fields := testenv.Form(t, page.Body)
	fields.Set("email", email)
	fields.Set("password", password)
	p := testenv.PostForm(t, c, base+"/login", fields)
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/clients" {
		t.Fatalf("sign-in as %s: %d to %q\n%s", email, p.StatusCode, p.Header.Get("Location"), p.Body)
	}
	return fields.Get("csrf_token")
}

var pageClientID = regexp.MustCompile(`id="client_id" type="text" readonly value="([^"]+)"`)

// adminCall sends a request to the admin API with a bearer token.
func adminCall(t *testing.T, method, u, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	a := testenv.Do(t, nil, req)
	return a.Status, string(a.Body)
}

// TestDeveloperCannotGiveTheirAppAdmin reproduces the security review's
// finding 2: a developer posts the Client Center's forms by hand with the
// admin scope hidden inside one value ("read admin", "admin "). The app ends
// up without admin and the developer sees why. And when an administrator does
// put admin on the developer's app, the authorization endpoint still will not
// grant it through that app (docs/security.md#admin-is-never-self-granted).
func TestDeveloperCannotGiveTheirAppAdmin(t *testing.T) {
	e := testenv.New(t, testenv.NoUser())
	const pw = testenv.Password
	e.NewUser(store.User{Email: "ada@example.com"}, pw)
	e.NewUser(store.User{Email: "root@example.com", Admin: true}, pw)
	const callback = "http://127.0.0.1:9/callback"
	base, _ := serve(t, e)
	ctx := context.Background()

	ada := testenv.Browser(t)
	csrf := signInHTTP(t, base, ada, "ada@example.com", pw)
	const refusal = "only administrators may enable the admin scope"
	register := func(scopes ...string) testenv.Page {
		return testenv.PostForm(t, ada, base+"/clients", url.Values{"csrf_token": {csrf}, "name": {"Ada's bot"},
			"type": {"confidential"}, "redirect_uris": {callback}, "scope": scopes})
	}
	for _, scopes := range [][]string{{"read admin"}, {"admin "}, {"read", "\tadmin"}} {
		if p := register(scopes...); p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, refusal) {
			t.Errorf("register with scope values %q: status %d, want 400 saying %q", scopes, p.StatusCode, refusal)
		}
	}
	if list, err := e.Store.Clients(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("refused registrations left %d clients (%v): %+v", len(list), err, list)
	}

	p := register("read")
	m := pageClientID.FindStringSubmatch(p.Body)
	if p.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("register: status %d, no client id on the page\n%s", p.StatusCode, p.Body)
	}
	appID := html.UnescapeString(m[1])
	edit := func(b *http.Client, csrf string, scopes ...string) testenv.Page {
		return testenv.PostForm(t, b, base+"/clients/"+appID, url.Values{"csrf_token": {csrf}, "name": {"Ada's bot"},
			"redirect_uris": {callback}, "scope": scopes})
	}
	for _, scopes := range [][]string{{"read admin"}, {"admin "}, {"user:information", "admin\n"}} {
		if p := edit(ada, csrf, scopes...); p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, refusal) {
			t.Errorf("edit with scope values %q: status %d, want 400 saying %q", scopes, p.StatusCode, refusal)
		}
	}
	scopesOf := func() []string {
		t.Helper()
		c, err := e.Store.Client(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		return c.Scopes
	}
	if got := scopesOf(); slices.Contains(got, "admin") {
		t.Fatalf("the developer's app has the admin scope: %v", got)
	}

	// An administrator enables admin on Ada's app. Ada cannot keep it with
	// her next edit...
	root := testenv.Browser(t)
	rootCSRF := signInHTTP(t, base, root, "root@example.com", pw)
	if p := edit(root, rootCSRF, "user:information admin"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("administrator's edit: status %d, want 303\n%s", p.StatusCode, p.Body)
	}
	if got := scopesOf(); !slices.Equal(got, []string{"user:information", "admin"}) {
		t.Fatalf("after the administrator's edit the app has %v, want user:information and admin", got)
	}
	if p := edit(ada, csrf, "user:information", "admin"); p.StatusCode != http.StatusBadRequest {
		t.Errorf("Ada keeping admin: status %d, want 400", p.StatusCode)
	}

	// ...and an administrator signing in to it is not granted admin: the
	// browser goes back to the app with invalid_scope, state and iss.
	rootPerson := testenv.Person{Email: "root@example.com", Password: pw}
	loc := testenv.Authorize(t, testenv.Browser(t), base, rootPerson, url.Values{"response_type": {"code"}, "client_id": {appID},
		"redirect_uri": {callback}, "scope": {"admin"}, "state": {"s1"}})
	q := loc.Query()
	if q.Get("error") != "invalid_scope" || q.Get("state") != "s1" || q.Get("iss") != base || q.Has("code") {
		t.Errorf("administrator asking admin through a developer's app: redirect %s, want invalid_scope with state and iss", loc)
	}
	// The rest of the app's scopes still work.
	loc = testenv.Authorize(t, testenv.Browser(t), base, rootPerson, url.Values{"response_type": {"code"}, "client_id": {appID},
		"redirect_uri": {callback}, "scope": {"user:information"}, "state": {"s2"}})
	if loc.Query().Get("code") == "" {
		t.Errorf("asking user:information through the app: redirect %s, want a code", loc)
	}
}

// TestClientCenterIsolation: one developer's app cannot be seen or changed
// by another developer, neither through the pages nor through the admin
// API, while an administrator's token with the admin scope (from the
// ordinary code flow) manages it.
func TestClientCenterIsolation(t *testing.T) {
	e := testenv.New(t, testenv.NoUser())
	const pw = testenv.Password
	e.NewUser(store.User{Email: "ada@example.com"}, pw)
	e.NewUser(store.User{Email: "bob@example.com"}, pw)
	e.NewUser(store.User{Email: "root@example.com", Admin: true}, pw)
	const callback = "http://127.0.0.1:9/callback"
	// Made by the operator, as `aries clients create` does: no owner.
	consoleClient, consoleSecret := e.NewClient(store.Client{Name: "Ops console", RedirectURIs: []string{callback},
		Scopes: []string{"user:information", "admin"}})
	console := client{ClientID: consoleClient.ID, ClientSecret: consoleSecret}
	base, _ := serve(t, e)

	// Ada registers an app in the Client Center.
	ada := testenv.Browser(t)
	csrf := signInHTTP(t, base, ada, "ada@example.com", pw)
	p := testenv.PostForm(t, ada, base+"/clients", url.Values{"csrf_token": {csrf}, "name": {"Ada's app"},
		"type": {"confidential"}, "redirect_uris": {"https://ada.example/cb"}, "scope": {"read"}})
	m := pageClientID.FindStringSubmatch(p.Body)
	if p.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create: status %d, no client id on the page\n%s", p.StatusCode, p.Body)
	}
	appID := html.UnescapeString(m[1])

	// Bob cannot reach it through the pages.
	bob := testenv.Browser(t)
	bobCSRF := signInHTTP(t, base, bob, "bob@example.com", pw)
	if p := testenv.Get(t, bob, base+"/clients"); p.StatusCode != http.StatusOK || strings.Contains(p.Body, appID) {
		t.Errorf("Bob's list: status %d, shows Ada's app: %v", p.StatusCode, strings.Contains(p.Body, appID))
	}
	for _, path := range []string{"/clients/" + appID, "/clients/" + appID + "/delete"} {
		if p := testenv.Get(t, bob, base+path); p.StatusCode != http.StatusNotFound {
			t.Errorf("Bob GET %s: status %d, want 404", path, p.StatusCode)
		}
	}
	for _, path := range []string{"/clients/" + appID, "/clients/" + appID + "/secret", "/clients/" + appID + "/disable", "/clients/" + appID + "/delete"} {
		p := testenv.PostForm(t, bob, base+path, url.Values{"csrf_token": {bobCSRF}, "name": {"Bob's now"},
			"redirect_uris": {"https://bob.example/cb"}, "scope": {"read"}, "confirm": {"Ada's app"}})
		if p.StatusCode != http.StatusNotFound {
			t.Errorf("Bob POST %s: status %d, want 404", path, p.StatusCode)
		}
	}

	// Nor through the admin API: his token has no admin scope, and he
	// cannot get one.
	bobPerson := testenv.Person{Email: "bob@example.com", Password: pw}
	q := url.Values{"response_type": {"code"}, "client_id": {console.ClientID}, "redirect_uri": {callback}, "scope": {"user:information"}}
	loc := testenv.Authorize(t, testenv.Browser(t), base, bobPerson, q)
	bobTokens := testenv.Token(t, base, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {callback}}, console.ClientID, console.ClientSecret)
	wantTokens(t, bobTokens, true)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/clients", ""},
		{"GET", "/admin/v1/clients/" + appID, ""},
		{"PATCH", "/admin/v1/clients/" + appID, `{"name":"Bob's now"}`},
		{"POST", "/admin/v1/clients/" + appID + "/secret", ""},
		{"DELETE", "/admin/v1/clients/" + appID, ""},
	} {
		if status, body := adminCall(t, req.method, base+req.path, bobTokens.AccessToken, req.body); status != http.StatusForbidden || !strings.Contains(body, "insufficient_scope") {
			t.Errorf("Bob %s %s: %d %s, want 403 insufficient_scope", req.method, req.path, status, body)
		}
	}
	q.Set("scope", "admin")
	q.Set("state", "s")
	if denied := testenv.Authorize(t, testenv.Browser(t), base, bobPerson, q); denied.Query().Get("error") != "access_denied" {
		t.Errorf("Bob asking for the admin scope got %s, want error=access_denied", denied)
	}
	if status, _ := adminCall(t, "GET", base+"/admin/v1/clients", "", ""); status != http.StatusUnauthorized {
		t.Errorf("admin API without a token: status %d, want 401", status)
	}

	// Ada's app is untouched: it still appears as she left it.
	if p := testenv.Get(t, ada, base+"/clients/"+appID); !strings.Contains(p.Body, "Ada&#39;s app") {
		t.Errorf("Ada's app page no longer shows her app")
	}

	// An administrator's admin token manages every client.
	rootPerson := testenv.Person{Email: "root@example.com", Password: pw}
	loc = testenv.Authorize(t, testenv.Browser(t), base, rootPerson, url.Values{"response_type": {"code"}, "client_id": {console.ClientID},
		"redirect_uri": {callback}, "scope": {"admin"}})
	rootTokens := testenv.Token(t, base, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {callback}}, console.ClientID, console.ClientSecret)
	wantTokens(t, rootTokens, true)
	status, body := adminCall(t, "PATCH", base+"/admin/v1/clients/"+appID, rootTokens.AccessToken, `{"first_party":true}`)
	var patched struct {
		ClientID   string `json:"client_id"`
		FirstParty bool   `json:"first_party"`
		OwnerID    string `json:"owner_id"`
	}
	json.Unmarshal([]byte(body), &patched)
	if status != http.StatusOK || !patched.FirstParty || patched.OwnerID == "" {
		t.Errorf("admin PATCH: %d %s, want first_party true and Ada as owner", status, body)
	}
	var list struct {
		Clients []struct {
			ClientID string `json:"client_id"`
		} `json:"clients"`
	}
	status, body = adminCall(t, "GET", base+"/admin/v1/clients", rootTokens.AccessToken, "")
	json.Unmarshal([]byte(body), &list)
	if status != http.StatusOK || len(list.Clients) != 2 {
		t.Errorf("admin list: %d, %d clients, want 200 with the console and Ada's app", status, len(list.Clients))
	}
}
