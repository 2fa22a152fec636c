package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// signInHTTP signs a cookie-keeping HTTP client in through the hosted
// sign-in page and returns the CSRF token its forms carry.
func signInHTTP(t *testing.T, base string, c *http.Client, email, password string) string {
	t.Helper()
	_, page := get(t, c, base+"/login?return_to=/clients")
	_, fields := form(t, page)
	fields.Set("email", email)
	fields.Set("password", password)
	resp, body := postForm(t, c, base+"/login", fields)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clients" {
		t.Fatalf("sign-in as %s: %d to %q\n%s", email, resp.StatusCode, resp.Header.Get("Location"), body)
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClientCenterIsolation runs against `aries serve`: one developer's app
// cannot be seen or changed by another developer, neither through the
// pages nor through the admin API, while an administrator's token with the
// admin scope (from the ordinary code flow) manages it.
func TestClientCenterIsolation(t *testing.T) {
	dir := t.TempDir()
	const pw = "correct horse battery"
	ariesJSON[userJSON](t, dir, "users", "create", "--email", "ada@example.com", "--password", pw)
	ariesJSON[userJSON](t, dir, "users", "create", "--email", "bob@example.com", "--password", pw)
	ariesJSON[userJSON](t, dir, "users", "create", "--email", "root@example.com", "--password", pw, "--admin")
	const callback = "http://127.0.0.1:9/callback"
	console := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Ops console",
		"--redirect-uri", callback, "--scope", "user:information admin")
	srv := startServer(t, dir)

	// Ada registers an app in the Client Center.
	ada := browser(t)
	csrf := signInHTTP(t, srv.URL, ada, "ada@example.com", pw)
	resp, page := postForm(t, ada, srv.URL+"/clients", url.Values{"csrf_token": {csrf}, "name": {"Ada's app"},
		"type": {"confidential"}, "redirect_uris": {"https://ada.example/cb"}, "scope": {"read"}})
	m := pageClientID.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create: status %d, no client id on the page\n%s", resp.StatusCode, page)
	}
	appID := html.UnescapeString(m[1])

	// Bob cannot reach it through the pages.
	bob := browser(t)
	bobCSRF := signInHTTP(t, srv.URL, bob, "bob@example.com", pw)
	if resp, page := get(t, bob, srv.URL+"/clients"); resp.StatusCode != http.StatusOK || strings.Contains(page, appID) {
		t.Errorf("Bob's list: status %d, shows Ada's app: %v", resp.StatusCode, strings.Contains(page, appID))
	}
	for _, path := range []string{"/clients/" + appID, "/clients/" + appID + "/delete"} {
		if resp, _ := get(t, bob, srv.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("Bob GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/clients/" + appID, "/clients/" + appID + "/secret", "/clients/" + appID + "/disable", "/clients/" + appID + "/delete"} {
		resp, _ := postForm(t, bob, srv.URL+path, url.Values{"csrf_token": {bobCSRF}, "name": {"Bob's now"},
			"redirect_uris": {"https://bob.example/cb"}, "scope": {"read"}, "confirm": {"Ada's app"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("Bob POST %s: status %d, want 404", path, resp.StatusCode)
		}
	}

	// Nor through the admin API: his token has no admin scope, and he
	// cannot get one.
	f := &fixture{testServer: srv, email: "bob@example.com", password: pw, redirectURI: callback}
	q := url.Values{"response_type": {"code"}, "client_id": {console.ClientID}, "redirect_uri": {callback}, "scope": {"user:information"}}
	loc := f.authorize(t, browser(t), q)
	bobTokens := srv.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {callback}}, console.ClientID, console.ClientSecret)
	wantTokens(t, bobTokens, true)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/clients", ""},
		{"GET", "/admin/v1/clients/" + appID, ""},
		{"PATCH", "/admin/v1/clients/" + appID, `{"name":"Bob's now"}`},
		{"POST", "/admin/v1/clients/" + appID + "/secret", ""},
		{"DELETE", "/admin/v1/clients/" + appID, ""},
	} {
		if status, body := adminCall(t, req.method, srv.URL+req.path, bobTokens.AccessToken, req.body); status != http.StatusForbidden || !strings.Contains(body, "insufficient_scope") {
			t.Errorf("Bob %s %s: %d %s, want 403 insufficient_scope", req.method, req.path, status, body)
		}
	}
	q.Set("scope", "admin")
	q.Set("state", "s")
	if denied := f.authorize(t, browser(t), q); denied.Query().Get("error") != "access_denied" {
		t.Errorf("Bob asking for the admin scope got %s, want error=access_denied", denied)
	}
	if status, _ := adminCall(t, "GET", srv.URL+"/admin/v1/clients", "", ""); status != http.StatusUnauthorized {
		t.Errorf("admin API without a token: status %d, want 401", status)
	}

	// Ada's app is untouched: it still appears as she left it.
	if _, page := get(t, ada, srv.URL+"/clients/"+appID); !strings.Contains(page, "Ada&#39;s app") {
		t.Errorf("Ada's app page no longer shows her app")
	}

	// An administrator's admin token manages every client.
	root := &fixture{testServer: srv, email: "root@example.com", password: pw, redirectURI: callback}
	loc = root.authorize(t, browser(t), url.Values{"response_type": {"code"}, "client_id": {console.ClientID},
		"redirect_uri": {callback}, "scope": {"admin"}})
	rootTokens := srv.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {callback}}, console.ClientID, console.ClientSecret)
	wantTokens(t, rootTokens, true)
	status, body := adminCall(t, "PATCH", srv.URL+"/admin/v1/clients/"+appID, rootTokens.AccessToken, `{"first_party":true}`)
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
	status, body = adminCall(t, "GET", srv.URL+"/admin/v1/clients", rootTokens.AccessToken, "")
	json.Unmarshal([]byte(body), &list)
	if status != http.StatusOK || len(list.Clients) != 2 {
		t.Errorf("admin list: %d, %d clients, want 200 with the console and Ada's app", status, len(list.Clients))
	}
}
