package admin

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ariesexchange/aries/internal/registry"
)

// TestOIDCSettings: post_logout_redirect_uris and
// id_token_signed_response_alg through the admin API (docs/oidc.md), with
// the registry's rules: exact URIs under the redirect URI rules, RS256 or
// ES256 only.
func TestOIDCSettings(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)

	var c registry.ClientView
	a := e.call("POST", "/admin/v1/clients", `{"name":"RP","redirect_uris":["https://rp.example/cb"],"scopes":["openid email"],"post_logout_redirect_uris":["https://rp.example/bye"]}`, auth)
	a.json(t, &c)
	if a.status != http.StatusCreated || c.IDTokenSignedResponseAlg != "RS256" || !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://rp.example/bye"}) {
		t.Fatalf("create: %d %s; want 201, RS256 and the post-logout URI", a.status, a.body)
	}

	steps := []struct {
		name, body string
		status     int
		alg        string
		logout     []string
	}{
		{"other fields leave them alone", `{"name":"RP 2"}`, http.StatusOK, "RS256", []string{"https://rp.example/bye"}},
		{"ES256", `{"id_token_signed_response_alg":"ES256"}`, http.StatusOK, "ES256", []string{"https://rp.example/bye"}},
		{"new list", `{"post_logout_redirect_uris":["https://rp.example/a","com.example.app:/bye"]}`, http.StatusOK, "ES256", []string{"https://rp.example/a", "com.example.app:/bye"}},
		{"HS256 refused", `{"id_token_signed_response_alg":"HS256"}`, http.StatusBadRequest, "ES256", []string{"https://rp.example/a", "com.example.app:/bye"}},
		{"plain http refused", `{"post_logout_redirect_uris":["http://rp.example/bye"]}`, http.StatusBadRequest, "ES256", []string{"https://rp.example/a", "com.example.app:/bye"}},
		{"cleared", `{"post_logout_redirect_uris":[]}`, http.StatusOK, "ES256", []string{}},
	}
	for _, s := range steps {
		a := e.call("PATCH", "/admin/v1/clients/"+c.ClientID, s.body, auth)
		if a.status != s.status {
			t.Errorf("%s: %d %s, want %d", s.name, a.status, a.body, s.status)
		}
		var got registry.ClientView
		e.call("GET", "/admin/v1/clients/"+c.ClientID, "", auth).json(t, &got)
		if got.IDTokenSignedResponseAlg != s.alg || !slices.Equal(got.PostLogoutRedirectURIs, s.logout) {
			t.Errorf("%s: alg %q, post-logout %v; want %q, %v", s.name, got.IDTokenSignedResponseAlg, got.PostLogoutRedirectURIs, s.alg, s.logout)
		}
	}
}
