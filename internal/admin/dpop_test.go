package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/introspect"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// TestDPoPBoundSetting: dpop_bound_access_tokens (RFC 9449 section 5.2)
// through the admin API: set on create, changed by PATCH, kept when a
// PATCH does not name it.
func TestDPoPBoundSetting(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)

	var c registry.ClientView
	a := e.call("POST", "/admin/v1/clients", `{"name":"Trading bot","redirect_uris":["https://bot.example/cb"],"scopes":["trade"],"dpop_bound_access_tokens":true}`, auth)
	a.json(t, &c)
	if a.status != http.StatusCreated || !c.DPoPBoundAccessTokens {
		t.Fatalf("create: %d %s; want 201 with dpop_bound_access_tokens true", a.status, a.body)
	}
	steps := []struct {
		name, body string
		want       bool
	}{
		{"another field leaves it", `{"name":"Trading bot 2"}`, true},
		{"cleared", `{"dpop_bound_access_tokens":false}`, false},
		{"set", `{"dpop_bound_access_tokens":true}`, true},
	}
	for _, s := range steps {
		if a := e.call("PATCH", "/admin/v1/clients/"+c.ClientID, s.body, auth); a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", s.name, a.status, a.body)
		}
		var got registry.ClientView
		e.call("GET", "/admin/v1/clients/"+c.ClientID, "", auth).json(t, &got)
		if got.DPoPBoundAccessTokens != s.want {
			t.Errorf("%s: dpop_bound_access_tokens %t, want %t", s.name, got.DPoPBoundAccessTokens, s.want)
		}
	}
}

// TestDPoPBoundAdminToken: an administrator whose console is DPoP-bound
// calls the admin API with the DPoP scheme and a proof (RFC 9449 section
// 7.1); a copy of the token, as Bearer or with another key, is refused.
func TestDPoPBoundAdminToken(t *testing.T) {
	e := newEnv(t)
	ring := e.Keyring()
	verifier, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) },
		Issuer: issuer, Audience: issuer, Now: e.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	tokens := &introspect.Handler{Store: e.st, Hasher: e.hasher, Tokens: verifier, Issuer: issuer, Now: e.Clock.Now}
	(&Handler{Store: e.st, Hasher: e.hasher, Tokens: tokens, Requests: verifier, Now: e.Clock.Now}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	keyOf := func() *dpop.Signer {
		k, _ := dpop.GenerateKey()
		s, err := dpop.NewSigner(k, "")
		if err != nil {
			t.Fatal(err)
		}
		s.Now = e.Clock.Now
		return s
	}
	console, thief := keyOf(), keyOf()
	_, grantID := e.IssueCode(testenv.Code{ClientID: e.app.ID, UserID: e.admin.ID, RedirectURI: e.app.RedirectURIs[0],
		Scopes: []string{"admin"}, GrantTTL: time.Hour})
	tok, _, err := e.minter.Mint(protocol.Claims{Subject: e.admin.ID, ClientID: e.app.ID, Scopes: []string{"admin"},
		GrantID: grantID, Confirmation: protocol.Confirmation{JKT: console.JKT()}})
	if err != nil {
		t.Fatal(err)
	}
	u := srv.URL + "/admin/v1/clients"
	call := func(scheme string, key *dpop.Signer) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", scheme+" "+tok)
		if key != nil {
			p, err := key.Proof("GET", u, tok, "")
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("DPoP", p)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error
	}
	for _, c := range []struct {
		name       string
		scheme     string
		key        *dpop.Signer
		wantStatus int
		wantError  string
	}{
		{"DPoP with the console's key", "DPoP", console, http.StatusOK, ""},
		{"as Bearer", "Bearer", nil, http.StatusUnauthorized, "invalid_token"},
		{"with another key", "DPoP", thief, http.StatusUnauthorized, "invalid_token"},
		{"without a proof", "DPoP", nil, http.StatusUnauthorized, "invalid_dpop_proof"},
	} {
		if status, code := call(c.scheme, c.key); status != c.wantStatus || code != c.wantError {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, code, c.wantStatus, c.wantError)
		}
	}
	// A bearer admin token still works on the same handler.
	bearerTok, _ := e.token(e.admin, "admin")
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+bearerTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a bearer admin token: %d, want 200", resp.StatusCode)
	}
}
