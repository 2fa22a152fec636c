package admin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/registry"
)

// publicJWKS is a JWK Set of one fresh P-256 public key, as compact JSON.
func publicJWKS(t *testing.T, kid string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: kid, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFinancialGradeSettings: every setting of docs/fapi.md through the
// admin API: set on create (jwks as a JSON object), each changed alone by
// PATCH while the others keep their values, refusals as 400 with the
// registry's words.
func TestFinancialGradeSettings(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)
	jwks := publicJWKS(t, "k1")

	var c registry.ClientView
	a := e.call("POST", "/admin/v1/clients", `{"name":"Partner","redirect_uris":["https://partner.example/cb"],"scopes":["read"],
		"profile":"fapi2","jwks":`+jwks+`}`, auth)
	a.json(t, &c)
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	if c.ClientSecret != "" || c.TokenEndpointAuthMethod != "private_key_jwt" || !c.RequirePushedAuthorizationRequests ||
		!c.DPoPBoundAccessTokens || c.RefreshTokenRotation != "none" || c.Profile != "fapi2" || string(c.JWKS) != jwks {
		t.Fatalf("created fapi2 client: %s", a.body)
	}

	jwks2 := publicJWKS(t, "k2")
	want := c
	steps := []struct {
		name, body string
		change     func(*registry.ClientView)
	}{
		{"name only", `{"name":"Partner 2"}`, func(v *registry.ClientView) { v.Name = "Partner 2" }},
		{"keys replaced", `{"jwks":` + jwks2 + `}`, func(v *registry.ClientView) { v.JWKS = json.RawMessage(jwks2) }},
		{"grace window", `{"refresh_token_rotation":"rotate","refresh_token_grace_seconds":20}`, func(v *registry.ClientView) {
			v.RefreshTokenRotation, v.RefreshTokenGraceSeconds = "rotate", 20
		}},
		{"profile cleared", `{"profile":""}`, func(v *registry.ClientView) { v.Profile = "" }},
		{"PAR no longer required", `{"require_pushed_authorization_requests":false}`, func(v *registry.ClientView) {
			v.RequirePushedAuthorizationRequests = false
		}},
		{"secret method, keys removed", `{"token_endpoint_auth_method":"client_secret_post","jwks":null}`, func(v *registry.ClientView) {
			v.TokenEndpointAuthMethod, v.JWKS = "client_secret_post", json.RawMessage("null")
		}},
	}
	for _, s := range steps {
		a := e.call("PATCH", "/admin/v1/clients/"+c.ClientID, s.body, auth)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", s.name, a.status, a.body)
		}
		s.change(&want)
		var got registry.ClientView
		e.call("GET", "/admin/v1/clients/"+c.ClientID, "", auth).json(t, &got)
		want.UpdatedAt = got.UpdatedAt
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("%s:\n got %s\nwant %s", s.name, g, w)
		}
	}
	// Moved to a secret method, it gets a secret now.
	if a := e.call("POST", "/admin/v1/clients/"+c.ClientID+"/secret", "", auth); a.status != http.StatusOK || !strings.Contains(string(a.body), "aries_cs_") {
		t.Errorf("rotating the secret of a client moved to client_secret_post: %d %s", a.status, a.body)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFinancialGradeRefusals: what the registry refuses is a 400
// invalid_request naming the problem, and changes nothing.
func TestFinancialGradeRefusals(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)
	var c registry.ClientView
	e.call("POST", "/admin/v1/clients", `{"name":"Keys","redirect_uris":["https://k.example/cb"],"scopes":["read"],
		"token_endpoint_auth_method":"private_key_jwt","jwks":`+publicJWKS(t, "k1")+`}`, auth).json(t, &c)
	if c.ClientID == "" {
		t.Fatal("the private_key_jwt client was not created")
	}
	before := e.call("GET", "/admin/v1/clients/"+c.ClientID, "", auth).body

	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"jwks as a string", "POST", "/admin/v1/clients", `{"name":"X","redirect_uris":["https://x.example/cb"],"scopes":["read"],"jwks":"{}"}`, "JWK Set object"},
		{"private key", "POST", "/admin/v1/clients", `{"name":"X","redirect_uris":["https://x.example/cb"],"scopes":["read"],
			"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}`, "private key material"},
		{"unknown method", "POST", "/admin/v1/clients", `{"name":"X","redirect_uris":["https://x.example/cb"],"scopes":["read"],"token_endpoint_auth_method":"tls_client_auth"}`, "token_endpoint_auth_method must be"},
		{"keys removed from a private_key_jwt client", "PATCH", "/admin/v1/clients/" + c.ClientID, `{"jwks":null}`, "register a JWKS"},
		{"grace too long", "PATCH", "/admin/v1/clients/" + c.ClientID, `{"refresh_token_grace_seconds":90}`, "0-60"},
		{"rotation none with bearer tokens", "PATCH", "/admin/v1/clients/" + c.ClientID, `{"refresh_token_rotation":"none"}`, "DPoP-bound"},
		{"secret of a private_key_jwt client", "POST", "/admin/v1/clients/" + c.ClientID + "/secret", "", "private_key_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(tc.method, tc.path, tc.body, auth)
			if a.status != http.StatusBadRequest || a.errorCode(t) != "invalid_request" || !strings.Contains(string(a.body), tc.want) {
				t.Errorf("got %d %s, want 400 invalid_request mentioning %q", a.status, a.body, tc.want)
			}
		})
	}
	if after := e.call("GET", "/admin/v1/clients/"+c.ClientID, "", auth).body; string(after) != string(before) {
		t.Errorf("refusals changed the client:\nbefore %s\nafter  %s", before, after)
	}
}
