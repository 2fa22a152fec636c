package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ariesexchange/aries/internal/testenv"
)

// TestSignInWithAriesWithGoOIDC is "Sign in with Aries" as a Go web app
// does it with libraries Aries did not write: github.com/coreos/go-oidc/v3
// discovers the provider from `aries serve`, golang.org/x/oauth2 runs the
// code flow with PKCE and a nonce, go-oidc verifies the ID token (signature
// against the JWKS, iss, aud, exp, at_hash) and reads UserInfo; a refresh
// brings a new ID token that verifies too; RP-initiated logout, found in
// the discovery document, sends the browser back to the registered page.
func TestSignInWithAriesWithGoOIDC(t *testing.T) {
	dir := t.TempDir()
	const (
		email       = "ada@example.com"
		password    = "correct horse battery"
		redirectURI = "http://127.0.0.1:9/callback"
		signedOut   = "http://127.0.0.1:9/signed-out"
	)
	user := ariesJSON[userJSON](t, dir, "users", "create", "--email", email, "--password", password, "--email-verified")
	if !user.EmailVerified {
		t.Fatalf("users create --email-verified printed %+v", user)
	}
	rp := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Go web app", "--redirect-uri", redirectURI,
		"--scope", "openid profile email read", "--post-logout-redirect-uri", signedOut)
	s := startServer(t, dir)
	ctx := context.Background()

	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		EndSession string   `json:"end_session_endpoint"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil || meta.EndSession != s.URL+"/oauth2/logout" || !slices.Contains(meta.Algs, "RS256") {
		t.Fatalf("discovery document: %+v, %v", meta, err)
	}
	conf := &oauth2.Config{
		ClientID: rp.ClientID, ClientSecret: rp.ClientSecret, RedirectURL: redirectURI,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email", "read"},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: rp.ClientID})

	// The code flow with PKCE and a nonce, the browser driven through the
	// hosted sign-in and consent pages.
	state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	b := testenv.Browser(t)
	back := testenv.AuthorizeURL(t, b, s.URL, testenv.Person{Email: email, Password: password},
		conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce))).Query()
	if back.Get("state") != state || back.Get("iss") != s.URL {
		t.Fatalf("callback %v: want state %s and iss %s", back, state, s.URL)
	}
	tok, err := conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	if idToken.Nonce != nonce {
		t.Errorf("nonce %q, want %q", idToken.Nonce, nonce)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		AZP           string `json:"azp"`
		SID           string `json:"sid"`
		AuthTime      int64  `json:"auth_time"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idToken.Subject != user.ID || claims.Email != email || !claims.EmailVerified || claims.AZP != rp.ClientID || claims.SID == "" || claims.AuthTime == 0 {
		t.Errorf("ID token sub %s, claims %+v; want the user, their verified email, azp, sid and auth_time", idToken.Subject, claims)
	}

	// The user names themselves through the API (profile scope: name).
	api := conf.Client(ctx, tok)
	req, _ := http.NewRequest(http.MethodPatch, s.URL+"/v1/users/me", strings.NewReader(`{"display_name":"Ada Lovelace"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := api.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /v1/users/me: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var name struct {
		Name string `json:"name"`
	}
	info.Claims(&name)
	if info.Subject != idToken.Subject || info.Email != email || !info.EmailVerified || name.Name != "Ada Lovelace" {
		t.Errorf("userinfo %+v, name %q; want the ID token's sub, the verified email and the name", info, name.Name)
	}

	// A refresh brings a new ID token for the same user and sign-in.
	refreshed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	raw2, _ := refreshed.Extra("id_token").(string)
	idToken2, err := verifier.Verify(ctx, raw2)
	if err != nil {
		t.Fatalf("go-oidc refused the refreshed ID token: %v", err)
	}
	var claims2 struct {
		Name     string `json:"name"`
		AuthTime int64  `json:"auth_time"`
	}
	idToken2.Claims(&claims2)
	if raw2 == raw || idToken2.Subject != idToken.Subject || idToken2.Nonce != "" || claims2.AuthTime != claims.AuthTime || claims2.Name != "Ada Lovelace" {
		t.Errorf("refreshed ID token: sub %s nonce %q auth_time %d name %q; want a new token for the same user and sign-in, without nonce, with the name",
			idToken2.Subject, idToken2.Nonce, claims2.AuthTime, claims2.Name)
	}
	if err := idToken2.VerifyAccessToken(refreshed.AccessToken); err != nil {
		t.Errorf("refreshed at_hash: %v", err)
	}

	// RP-initiated logout, from the discovery document.
	logout := meta.EndSession + "?" + url.Values{"id_token_hint": {raw2}, "post_logout_redirect_uri": {signedOut}, "state": {"bye"}}.Encode()
	resp, _ := get(t, b, logout)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != signedOut+"?state=bye" {
		t.Errorf("logout: %d to %q, want 302 to %s?state=bye", resp.StatusCode, loc, signedOut)
	}
	silent := conf.AuthCodeURL("again", oauth2.S256ChallengeOption(pkce), oauth2.SetAuthURLParam("prompt", "none"))
	resp, _ = get(t, b, silent)
	if loc, _ := resp.Location(); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Errorf("after logout, prompt=none: %v, want login_required", loc)
	}
}

// TestClientsOIDCSettings: `aries clients create|update` with
// --post-logout-redirect-uri and --id-token-alg, and `clients show --json`
// printing post_logout_redirect_uris and id_token_signed_response_alg.
func TestClientsOIDCSettings(t *testing.T) {
	dir := t.TempDir()
	c := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "RP", "--redirect-uri", "https://rp.example/cb",
		"--scope", "openid email", "--post-logout-redirect-uri", "https://rp.example/bye", "--post-logout-redirect-uri", "com.example.app:/bye")
	if c.IDTokenSignedResponseAlg != "RS256" || !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://rp.example/bye", "com.example.app:/bye"}) {
		t.Errorf("create: %+v; want RS256 and both post-logout URIs", c)
	}
	steps := []struct {
		args   []string
		alg    string
		logout []string
	}{
		{[]string{"--id-token-alg", "ES256"}, "ES256", []string{"https://rp.example/bye", "com.example.app:/bye"}},
		{[]string{"--post-logout-redirect-uri", "https://rp.example/signed-out"}, "ES256", []string{"https://rp.example/signed-out"}},
		{[]string{"--name", "RP 2"}, "ES256", []string{"https://rp.example/signed-out"}},
		{[]string{"--post-logout-redirect-uri", "", "--id-token-alg", "RS256"}, "RS256", []string{}},
	}
	for _, st := range steps {
		ariesJSON[clientJSON](t, dir, append([]string{"clients", "update", c.ClientID}, st.args...)...)
		got := ariesJSON[clientJSON](t, dir, "clients", "show", c.ClientID)
		if got.IDTokenSignedResponseAlg != st.alg || !slices.Equal(got.PostLogoutRedirectURIs, st.logout) {
			t.Errorf("after update %v: show --json %+v; want %s and %v", st.args, got, st.alg, st.logout)
		}
	}

	for _, bad := range [][]string{
		{"--id-token-alg", "HS256"},
		{"--post-logout-redirect-uri", "http://rp.example/bye"},
	} {
		_, errOut, status := aries(t, dir, append([]string{"clients", "update", c.ClientID}, bad...)...)
		if status == 0 || errOut == "" {
			t.Errorf("update %v: status %d, stderr %q; want a refusal", bad, status, errOut)
		}
	}
	if got := ariesJSON[clientJSON](t, dir, "clients", "show", c.ClientID); got.IDTokenSignedResponseAlg != "RS256" || len(got.PostLogoutRedirectURIs) != 0 {
		t.Errorf("refused updates changed the client: %+v", got)
	}
	if out, _, _ := aries(t, dir, "clients", "show", c.ClientID); !strings.Contains(out, "id_token_signed_response_alg") {
		t.Errorf("clients show prints no id_token_signed_response_alg:\n%s", out)
	}
}

// TestSignInExample runs sdk/examples/signin, the SDK's "Sign in with
// Aries" web app, against `aries serve`: a browser signs in through it,
// sees who it is, and signs out of the app and of Aries in one step.
func TestSignInExample(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "signin")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/signin")
	build.Dir = filepath.Join("..", "..", "sdk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}

	// A free port for the example, so its redirect URIs can be registered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	exampleAddr := ln.Addr().String()
	ln.Close()
	example := "http://" + exampleAddr

	dir := t.TempDir()
	const email, password = "ada@example.com", "correct horse battery"
	ariesJSON[userJSON](t, dir, "users", "create", "--email", email, "--password", password)
	rp := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Sign-in example", "--redirect-uri", example+"/callback",
		"--post-logout-redirect-uri", example+"/", "--scope", "openid profile email")
	s := startServer(t, dir)

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ARIES_CLIENT_ID="+rp.ClientID, "ARIES_CLIENT_SECRET="+rp.ClientSecret,
		"ARIES_API_URL="+s.URL, "ARIES_EXAMPLE_ADDR="+exampleAddr)
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// It logs its URL once it listens.
	lines := bufio.NewScanner(logs)
	for lines.Scan() && !strings.Contains(lines.Text(), "open "+example) {
	}
	go io.Copy(io.Discard, logs)

	b := testenv.Browser(t)
	resp, _ := get(t, b, example+"/login")
	authURL := resp.Header.Get("Location")
	if !strings.HasPrefix(authURL, s.URL+"/oauth2/authorize?") || !strings.Contains(authURL, "nonce=") {
		t.Fatalf("login: %d to %q, want a redirect to Aries with a nonce", resp.StatusCode, authURL)
	}
	callback := testenv.AuthorizeURL(t, b, s.URL, testenv.Person{Email: email, Password: password}, authURL)
	resp, body := get(t, b, callback.String())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d, want 303 home:\n%s", resp.StatusCode, body)
	}
	if _, home := get(t, b, example+"/"); !strings.Contains(home, "Signed in as "+email) {
		t.Fatalf("home after sign-in:\n%s", home)
	}

	resp, _ = postForm(t, b, example+"/logout", url.Values{})
	out := resp.Header.Get("Location")
	if !strings.HasPrefix(out, s.URL+"/oauth2/logout?") {
		t.Fatalf("logout: %d to %q, want RP-initiated logout at Aries", resp.StatusCode, out)
	}
	resp, _ = get(t, b, out)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, example+"/?state=") {
		t.Fatalf("Aries logout: %d to %q, want 302 back to the example", resp.StatusCode, loc)
	}
	if _, home := get(t, b, example+"/"); !strings.Contains(home, "Not signed in.") {
		t.Errorf("home after logout:\n%s", home)
	}
	resp, _ = get(t, b, authURL+"&prompt=none")
	if loc, _ := resp.Location(); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Errorf("Aries after the logout, prompt=none: %v, want login_required", loc)
	}
}
