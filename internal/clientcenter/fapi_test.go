package clientcenter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/store"
)

// testJWKS is a JWK Set of one fresh P-256 key, its public half only
// unless private is set.
func testJWKS(t *testing.T, kid string, private bool) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var key any = k.Public()
	if private {
		key = k
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: kid, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// settingsForm is the settings form of client c as the page posts it,
// with the financial-grade fields given.
func settingsForm(c store.Client, fapi url.Values) url.Values {
	f := url.Values{"name": {c.Name}, "redirect_uris": {strings.Join(c.RedirectURIs, "\n")}, "scope": c.Scopes,
		"id_token_signed_response_alg": {"RS256"}}
	for k, v := range fapi {
		f[k] = v
	}
	return f
}

// TestFinancialGradeForm: the developer who manages an app sets every
// financial-grade setting on its page, and the page shows them.
func TestFinancialGradeForm(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Broker")
	b := e.signedIn(e.dev)
	_, page := b.get("/clients/" + c.ID)
	for _, field := range []string{`name="token_endpoint_auth_method"`, `name="jwks"`, `name="profile"`,
		`name="require_pushed_authorization_requests"`, `name="refresh_token_rotation"`, `name="refresh_token_grace_seconds"`} {
		if !strings.Contains(page, field) {
			t.Errorf("the app page has no %s", field)
		}
	}

	jwks := testJWKS(t, "broker-key-1", false)
	steps := []struct {
		name  string
		form  url.Values
		check func(store.Client) bool
		shows []string // on the app's page afterwards
	}{
		{"client_secret_post", url.Values{"token_endpoint_auth_method": {"client_secret_post"}, "refresh_token_grace_seconds": {"15"}},
			func(c store.Client) bool {
				return c.TokenEndpointAuthMethod == store.AuthSecretPost && c.RefreshTokenGraceSeconds == 15
			}, []string{"<code>client_secret_post</code>", "grace window 15 s"}},
		{"private_key_jwt with keys and PAR", url.Values{"token_endpoint_auth_method": {"private_key_jwt"}, "jwks": {jwks},
			"require_pushed_authorization_requests": {"1"}, "dpop_bound_access_tokens": {"1"}, "refresh_token_rotation": {"none"}},
			func(c store.Client) bool {
				return c.TokenEndpointAuthMethod == store.AuthPrivateKeyJWT && c.JWKS == jwks && c.RequirePAR &&
					c.RefreshTokenRotation == store.RotationNone && c.RefreshTokenGraceSeconds == 0
			}, []string{"<code>private_key_jwt</code>", "<code>broker-key-1</code>", "Pushed authorization requests</dt><dd>required", "<code>none</code>", "it has no client secret"}},
		{"fapi2", url.Values{"profile": {"fapi2"}, "jwks": {jwks}},
			func(c store.Client) bool {
				return c.Profile == store.ProfileFAPI2 && c.TokenEndpointAuthMethod == store.AuthPrivateKeyJWT &&
					c.RequirePAR && c.DPoPBoundAccessTokens && c.Rotation() == store.RotationNone
			}, []string{`<span class="badge">FAPI 2.0</span>`, `<option value="fapi2" selected>`}},
	}
	for _, s := range steps {
		resp, page := b.post("/clients/"+c.ID, settingsForm(c, s.form))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: save: %d\n%s", s.name, resp.StatusCode, page)
		}
		if got := e.client(c.ID); !s.check(got) {
			t.Errorf("%s: stored %+v", s.name, got)
		}
		_, page = b.get("/clients/" + c.ID)
		for _, want := range s.shows {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page does not show %s", s.name, want)
			}
		}
	}
	// The stored keys come back in the textarea, so saving the page again
	// keeps them.
	_, page = b.get("/clients/" + c.ID)
	if !strings.Contains(html.UnescapeString(page), `"kid": "broker-key-1"`) {
		t.Error("the textarea does not hold the registered keys")
	}
}

// TestFinancialGradeFormRefusals: keys or settings the registry refuses
// are shown beside the form, in the registry's words, with everything the
// developer typed kept, and nothing stored.
func TestFinancialGradeFormRefusals(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Broker")
	b := e.signedIn(e.dev)
	for _, tc := range []struct {
		name, want string
		form       url.Values
		marks      string // the field marked invalid
	}{
		{"private key", "private key material", url.Values{"token_endpoint_auth_method": {"private_key_jwt"}, "jwks": {testJWKS(t, "k", true)}}, `id="jwks-error"`},
		{"not JSON", "not a JWK Set", url.Values{"token_endpoint_auth_method": {"private_key_jwt"}, "jwks": {"-----BEGIN PUBLIC KEY-----"}}, `id="jwks-error"`},
		{"no keys", "register a JWKS", url.Values{"token_endpoint_auth_method": {"private_key_jwt"}}, `id="jwks-error"`},
		{"grace not a number", "0-60", url.Values{"refresh_token_grace_seconds": {"soon"}}, `name="refresh_token_grace_seconds" type="number" min="0" max="60" step="1" value="soon" aria-describedby="grace-help form-errors" aria-invalid="true"`},
		{"rotation none with bearer tokens", "DPoP-bound", url.Values{"refresh_token_rotation": {"none"}}, `<option value="none" selected>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := settingsForm(c, tc.form)
			form.Set("name", "Broker renamed")
			resp, page := b.post("/clients/"+c.ID, form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %d, want 400", resp.StatusCode)
			}
			text := html.UnescapeString(page)
			if !strings.Contains(text, tc.want) || !strings.Contains(page, tc.marks) {
				t.Errorf("the page does not say %q or mark %s:\n%s", tc.want, tc.marks, page)
			}
			if !strings.Contains(page, `value="Broker renamed"`) {
				t.Error("the name typed was lost")
			}
			if jwks := tc.form.Get("jwks"); jwks != "" && !strings.Contains(text, jwks) {
				t.Error("the keys pasted were lost")
			}
		})
	}
	if got := e.client(c.ID); got.Name != "Broker" || got.TokenEndpointAuthMethod != "" || got.JWKS != "" {
		t.Errorf("refused saves changed the client: %+v", got)
	}
}

// TestRegisterPrivateKeyJWT: an app registered with private_key_jwt gets
// no secret (no secret page) and cannot regenerate one.
func TestRegisterPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.dev)
	resp, page := b.post("/clients", url.Values{"name": {"Keyed"}, "type": {"confidential"},
		"redirect_uris": {"https://keyed.example/cb"}, "scope": {"user:information"},
		"token_endpoint_auth_method": {"private_key_jwt"}, "jwks": {testJWKS(t, "k1", false)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d\n%s", resp.StatusCode, page)
	}
	id := strings.TrimPrefix(location(resp), "/clients/")
	if i := strings.IndexAny(id, "/?"); i >= 0 {
		id = id[:i]
	}
	c := e.client(id)
	if c.TokenEndpointAuthMethod != store.AuthPrivateKeyJWT || c.SecretHash != "" {
		t.Fatalf("registered %+v", c)
	}
	if _, page = b.get("/clients/" + id); strings.Contains(page, "Regenerate client secret") {
		t.Error("the page offers a secret to a private_key_jwt app")
	}
	// A hand-made request is refused all the same.
	if resp, page := b.post("/clients/"+id+"/secret", url.Values{"version": {version(c)}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "private_key_jwt") {
		t.Errorf("regenerate: %d\n%s", resp.StatusCode, page)
	}
}
