package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// introspectRaw posts token to the introspection endpoint with HTTP Basic
// when secret is set, client_id in the body otherwise, and returns the
// status and the decoded body.
func introspectRaw(t *testing.T, base, clientID, secret, token string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"token": {token}}
	if secret == "" {
		form.Set("client_id", clientID)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/oauth2/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("introspect: %d, body is not JSON: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, body
}

// TestIntrospectionIsForTheTokensClient reproduces issue 11, finding 10,
// against `aries serve`: another confidential client learns nothing about
// an app's tokens, a public client cannot call the endpoint, and a client
// the operator marks as a resource server (`clients update
// --resource-server`) is answered (docs/security.md#who-may-introspect).
func TestIntrospectionIsForTheTokensClient(t *testing.T) {
	f := newFixture(t)
	other := ariesJSON[clientJSON](t, f.dir, "clients", "create", "--name", "Other app",
		"--redirect-uri", f.redirectURI, "--scope", "read")
	tr := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
		"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	wantTokens(t, tr, true)
	verifier, challenge := pkcePair()
	pubCode := f.code(t, f.public.ClientID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	pub := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.public.ClientID}, "code_verifier": {verifier},
		"code": {pubCode}, "redirect_uri": {f.redirectURI}})
	wantTokens(t, pub, true)

	tests := []struct {
		name           string
		asker          clientJSON
		token          string
		wantStatus     int
		wantActive     bool
		wantInvalidCli bool
	}{
		{"own access token", f.conf, tr.AccessToken, 200, true, false},
		{"own refresh token", f.conf, tr.RefreshToken, 200, true, false},
		{"another app's access token", other, tr.AccessToken, 200, false, false},
		{"another app's refresh token", other, tr.RefreshToken, 200, false, false},
		{"resource server, access token", f.rs, tr.AccessToken, 200, true, false},
		{"resource server, refresh token", f.rs, tr.RefreshToken, 200, true, false},
		{"public client, its own token", f.public, pub.AccessToken, 401, false, true},
		{"public client, another app's token", f.public, tr.RefreshToken, 401, false, true},
	}
	for _, tt := range tests {
		status, body := introspectRaw(t, f.URL, tt.asker.ClientID, tt.asker.ClientSecret, tt.token)
		switch {
		case status != tt.wantStatus:
			t.Errorf("%s: status %d %v, want %d", tt.name, status, body, tt.wantStatus)
		case tt.wantInvalidCli:
			if body["error"] != "invalid_client" || body["active"] != nil {
				t.Errorf("%s: %v, want invalid_client and nothing about the token", tt.name, body)
			}
		case !tt.wantActive:
			if diff := cmp.Diff(map[string]any{"active": false}, body); diff != "" {
				t.Errorf("%s: the answer tells more than active:false (-want +got):\n%s", tt.name, diff)
			}
		case body["active"] != true || body["client_id"] != f.conf.ClientID || body["sub"] != f.userID:
			t.Errorf("%s: %v, want active for %s's token of %s", tt.name, body, f.conf.ClientID, f.userID)
		}
	}

	// The operator makes the other app a resource server: now it is answered.
	if got := ariesJSON[clientJSON](t, f.dir, "clients", "update", other.ClientID, "--resource-server"); !got.ResourceServer {
		t.Fatalf("clients update --resource-server printed %+v", got)
	}
	if status, body := introspectRaw(t, f.URL, other.ClientID, other.ClientSecret, tr.RefreshToken); status != 200 || body["active"] != true {
		t.Errorf("resource server after update: %d %v, want active", status, body)
	}
}
