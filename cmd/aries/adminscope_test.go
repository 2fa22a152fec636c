package main

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestDeveloperCannotGiveTheirAppAdmin reproduces issue 11, finding 2,
// against `aries serve`: a developer posts the Client Center's forms by hand
// with the admin scope hidden inside one value ("read admin", "admin "). The
// app ends up without admin and the developer sees why. And when an
// administrator does put admin on the developer's app, the authorization
// endpoint still will not grant it through that app
// (docs/security.md#admin-is-never-self-granted).
func TestDeveloperCannotGiveTheirAppAdmin(t *testing.T) {
	dir := t.TempDir()
	const pw = "correct horse battery"
	ariesJSON[userJSON](t, dir, "users", "create", "--email", "ada@example.com", "--password", pw)
	ariesJSON[userJSON](t, dir, "users", "create", "--email", "root@example.com", "--password", pw, "--admin")
	const callback = "http://127.0.0.1:9/callback"
	srv := startServer(t, dir)

	ada := browser(t)
	csrf := signInHTTP(t, srv.URL, ada, "ada@example.com", pw)
	const refusal = "only administrators may enable the admin scope"
	register := func(scopes ...string) (*http.Response, string) {
		return postForm(t, ada, srv.URL+"/clients", url.Values{"csrf_token": {csrf}, "name": {"Ada's bot"},
			"type": {"confidential"}, "redirect_uris": {callback}, "scope": scopes})
	}
	for _, scopes := range [][]string{{"read admin"}, {"admin "}, {"read", "\tadmin"}} {
		resp, page := register(scopes...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, refusal) {
			t.Errorf("register with scope values %q: status %d, want 400 saying %q", scopes, resp.StatusCode, refusal)
		}
	}
	if list := ariesJSON[[]clientJSON](t, dir, "clients", "list"); len(list) != 0 {
		t.Fatalf("refused registrations left %d clients: %+v", len(list), list)
	}

	resp, page := register("read")
	m := pageClientID.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("register: status %d, no client id on the page\n%s", resp.StatusCode, page)
	}
	appID := html.UnescapeString(m[1])
	edit := func(b *http.Client, csrf string, scopes ...string) (*http.Response, string) {
		return postForm(t, b, srv.URL+"/clients/"+appID, url.Values{"csrf_token": {csrf}, "name": {"Ada's bot"},
			"redirect_uris": {callback}, "scope": scopes})
	}
	for _, scopes := range [][]string{{"read admin"}, {"admin "}, {"user:information", "admin\n"}} {
		resp, page := edit(ada, csrf, scopes...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, refusal) {
			t.Errorf("edit with scope values %q: status %d, want 400 saying %q", scopes, resp.StatusCode, refusal)
		}
	}
	if app := ariesJSON[clientJSON](t, dir, "clients", "show", appID); slices.Contains(app.Scopes, "admin") {
		t.Fatalf("the developer's app has the admin scope: %v", app.Scopes)
	}

	// An administrator enables admin on Ada's app. Ada cannot keep it with
	// her next edit...
	root := browser(t)
	rootCSRF := signInHTTP(t, srv.URL, root, "root@example.com", pw)
	if resp, page := edit(root, rootCSRF, "user:information admin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("administrator's edit: status %d, want 303\n%s", resp.StatusCode, page)
	}
	app := ariesJSON[clientJSON](t, dir, "clients", "show", appID)
	if !slices.Equal(app.Scopes, []string{"user:information", "admin"}) {
		t.Fatalf("after the administrator's edit the app has %v, want user:information and admin", app.Scopes)
	}
	if resp, _ := edit(ada, csrf, "user:information", "admin"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("Ada keeping admin: status %d, want 400", resp.StatusCode)
	}

	// ...and an administrator signing in to it is not granted admin: the
	// browser goes back to the app with invalid_scope, state and iss.
	rootFlow := &fixture{testServer: srv, email: "root@example.com", password: pw, redirectURI: callback}
	loc := rootFlow.authorize(t, browser(t), url.Values{"response_type": {"code"}, "client_id": {appID},
		"redirect_uri": {callback}, "scope": {"admin"}, "state": {"s1"}})
	q := loc.Query()
	if q.Get("error") != "invalid_scope" || q.Get("state") != "s1" || q.Get("iss") != srv.URL || q.Has("code") {
		t.Errorf("administrator asking admin through a developer's app: redirect %s, want invalid_scope with state and iss", loc)
	}
	// The rest of the app's scopes still work.
	loc = rootFlow.authorize(t, browser(t), url.Values{"response_type": {"code"}, "client_id": {appID},
		"redirect_uri": {callback}, "scope": {"user:information"}, "state": {"s2"}})
	if loc.Query().Get("code") == "" {
		t.Errorf("asking user:information through the app: redirect %s, want a code", loc)
	}
}
