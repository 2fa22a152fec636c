package clientcenter

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOIDCSettingsForm: a developer enables openid, profile and email and
// sets the post-logout redirect URIs and the ID token algorithm on the
// app's page; the registry's rules refuse a bad URI and change nothing.
func TestOIDCSettingsForm(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "RP")
	b := e.signedIn(e.dev)

	_, page := b.get("/clients/" + c.ID)
	for _, want := range []string{`value="openid"`, `value="profile"`, `value="email"`,
		`name="post_logout_redirect_uris"`, `name="id_token_signed_response_alg" value="RS256" checked`} {
		if !strings.Contains(page, want) {
			t.Errorf("the app page lacks %s", want)
		}
	}

	form := url.Values{
		"name":                         {"RP"},
		"redirect_uris":                {"https://app.example/cb"},
		"scope":                        {"openid", "profile", "email"},
		"post_logout_redirect_uris":    {"https://app.example/bye\n  com.example.app:/bye  \n"},
		"id_token_signed_response_alg": {"ES256"},
	}
	resp, page := b.post("/clients/"+c.ID, form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", resp.StatusCode, page)
	}
	got := e.client(c.ID)
	if !cmp.Equal(got.Scopes, []string{"openid", "profile", "email"}) || got.IDTokenSignedResponseAlg != "ES256" ||
		!cmp.Equal(got.PostLogoutRedirectURIs, []string{"https://app.example/bye", "com.example.app:/bye"}) {
		t.Errorf("after save: scopes %v, alg %q, post-logout %v", got.Scopes, got.IDTokenSignedResponseAlg, got.PostLogoutRedirectURIs)
	}
	if _, page := b.get("/clients/" + c.ID); !strings.Contains(page, `value="ES256" checked`) || !strings.Contains(page, "com.example.app:/bye") {
		t.Error("the app page does not show the saved settings")
	}

	for name, change := range map[string][2]string{
		"plain http":  {"post_logout_redirect_uris", "http://app.example/bye"},
		"a fragment":  {"post_logout_redirect_uris", "https://app.example/bye#top"},
		"HS256":       {"id_token_signed_response_alg", "HS256"},
		"no such alg": {"id_token_signed_response_alg", "none"},
	} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set(change[0], change[1])
		resp, page := b.post("/clients/"+c.ID, bad)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Please correct") {
			t.Errorf("%s: status %d, want 400 with the registry's refusal", name, resp.StatusCode)
		}
		if now := e.client(c.ID); now.IDTokenSignedResponseAlg != "ES256" || len(now.PostLogoutRedirectURIs) != 2 {
			t.Errorf("%s: a refused edit changed the client: %+v", name, now)
		}
	}
}
