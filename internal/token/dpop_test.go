package token_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// dpopEnv is the token endpoint checking DPoP proofs (RFC 9449 section 5)
// with an in-memory replay cache, at the env's clock.
func dpopEnv(t *testing.T, cfg dpop.Config) *env {
	t.Helper()
	e := newEnv(t, rateLimitsOff)
	cfg.Now = e.Clock.Now
	v, err := dpop.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h.DPoP, e.h.TokenURL = v, e.URL+"/v1/oauth2/token"
	return e
}

// key is a client's DPoP key.
type key struct{ *dpop.Signer }

func newKey(t *testing.T, e *env) key {
	t.Helper()
	k, err := dpop.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(k, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Now = e.Clock.Now
	return key{s}
}

// proof is a proof for a token request to e.
func (k key) proof(t *testing.T, e *env, nonce string) string {
	t.Helper()
	p, err := k.Proof("POST", e.URL+"/v1/oauth2/token", "", nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenWith posts a token request with the given DPoP header values.
func (e *env) tokenWith(t *testing.T, v url.Values, proofs ...string) testenv.TokenAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+"/v1/oauth2/token", strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	a := testenv.Do(t, nil, req)
	r := testenv.TokenAnswer{Status: a.Status, Header: a.Header}
	a.Decode(t, &r)
	return r
}

// cnf reads the "cnf" of an access token, unverified: the token endpoint
// minted it a moment ago.
func cnf(t *testing.T, accessToken string) protocol.Confirmation {
	t.Helper()
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWS", accessToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c protocol.Claims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Confirmation
}

func wantDPoP(t *testing.T, got testenv.TokenAnswer, k key) {
	t.Helper()
	if got.Status != http.StatusOK {
		t.Fatalf("got %d %s (%s), want 200", got.Status, got.Error, got.Description)
	}
	if got.TokenType != "DPoP" {
		t.Errorf("token_type %q, want DPoP", got.TokenType)
	}
	if c := cnf(t, got.AccessToken); c.JKT != k.JKT() {
		t.Errorf("cnf.jkt %q, want the proof's key %q", c.JKT, k.JKT())
	}
}

// publicCode is a code of the env's public client with a PKCE challenge,
// and the form that redeems it.
func (e *env) publicCode(t *testing.T, jkt string) url.Values {
	t.Helper()
	verifier, challenge := pkcePair()
	code, _ := e.IssueCode(testenv.Code{ClientID: e.public.ID, UserID: e.User.ID, RedirectURI: redirectURI,
		Scopes: testenv.Scopes(t, "read"), Challenge: challenge, DPoPJKT: jkt})
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.public.ID}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}
}

// TestDPoPEveryGrant: with a valid proof each grant answers token_type
// DPoP and an access token bound to the proof's key (RFC 9449 sections 5
// and 6.1); without one, a bearer token as before.
func TestDPoPEveryGrant(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	alice := newKey(t, e)
	grants := []struct {
		name string
		form func() url.Values
	}{
		{"authorization_code, public client", func() url.Values { return e.publicCode(t, "") }},
		{"code, confidential client", func() url.Values {
			return url.Values{"grant_type": {"code"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
				"code": {e.code(t, e.conf.ID, nil)}, "redirect_uri": {redirectURI}}
		}},
		{"refresh_token", func() url.Values {
			first := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
			return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
				"refresh_token": {first.RefreshToken}}
		}},
		{"client_credentials", func() url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret}}
		}},
	}
	for _, g := range grants {
		t.Run(g.name, func(t *testing.T) {
			wantDPoP(t, e.tokenWith(t, g.form(), alice.proof(t, e, "")), alice)
			bearer := e.tokenWith(t, g.form())
			if bearer.Status != http.StatusOK || bearer.TokenType != "Bearer" || cnf(t, bearer.AccessToken).JKT != "" {
				t.Errorf("without a proof: %d %s, type %q; want a bearer token", bearer.Status, bearer.Error, bearer.TokenType)
			}
		})
	}
}

// TestDPoPBadProofsLeaveTheCode: a proof that fails any check is 400
// invalid_dpop_proof, and the code it came with stays redeemable (the
// proof is checked before the grant runs).
func TestDPoPBadProofsLeaveTheCode(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	alice := newKey(t, e)
	replayed := alice.proof(t, e, "")
	e.tokenWith(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret}}, replayed)
	sign := func(method, u string) string {
		p, err := alice.Proof(method, u, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		proofs func() []string
	}{
		{"a replayed proof", func() []string { return []string{replayed} }},
		{"two proofs", func() []string { return []string{alice.proof(t, e, ""), alice.proof(t, e, "")} }},
		{"a proof for GET", func() []string { return []string{sign("GET", e.URL+"/v1/oauth2/token")} }},
		{"a proof for another endpoint", func() []string { return []string{sign("POST", e.URL+"/v1/oauth2/revoke")} }},
		{"a proof for another host", func() []string { return []string{sign("POST", "https://evil.example/v1/oauth2/token")} }},
		{"garbage", func() []string { return []string{"not-a-jwt"} }},
		{"an empty header", func() []string { return []string{""} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := e.publicCode(t, "")
			testenv.WantError(t, e.tokenWith(t, form, tt.proofs()...), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
			wantDPoP(t, e.tokenWith(t, form, alice.proof(t, e, "")), alice)
		})
	}
	t.Run("an old proof", func(t *testing.T) {
		form := e.publicCode(t, "")
		old := alice.proof(t, e, "")
		e.Clock.Add(61 * time.Second)
		testenv.WantError(t, e.tokenWith(t, form, old), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
	})
}

// TestDPoPBoundRefresh: a public client's refresh token is bound to the
// key of the proof it was issued with (RFC 9449 section 5): refreshing
// with another key, or none, is invalid_grant and rotates nothing; a
// confidential client's refresh token is not bound.
func TestDPoPBoundRefresh(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	alice, mallory := newKey(t, e), newKey(t, e)
	first := e.tokenWith(t, e.publicCode(t, ""), alice.proof(t, e, ""))
	wantDPoP(t, first, alice)
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {e.public.ID}, "refresh_token": {first.RefreshToken}}

	testenv.WantError(t, e.tokenWith(t, refresh, mallory.proof(t, e, "")), http.StatusBadRequest, protocol.ErrInvalidGrant)
	testenv.WantError(t, e.tokenWith(t, refresh), http.StatusBadRequest, protocol.ErrInvalidGrant)
	if in := e.introspect(t, first.AccessToken); !in.Active {
		t.Fatal("refused refreshes revoked the grant")
	}
	second := e.tokenWith(t, refresh, alice.proof(t, e, ""))
	wantDPoP(t, second, alice)
	// The new refresh token is bound to the same key.
	refresh.Set("refresh_token", second.RefreshToken)
	testenv.WantError(t, e.tokenWith(t, refresh, mallory.proof(t, e, "")), http.StatusBadRequest, protocol.ErrInvalidGrant)
	wantDPoP(t, e.tokenWith(t, refresh, alice.proof(t, e, "")), alice)

	// A confidential client authenticates itself: its refresh tokens are
	// not bound, and it may change keys.
	conf := e.tokenWith(t, url.Values{"grant_type": {"code"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
		"code": {e.code(t, e.conf.ID, nil)}, "redirect_uri": {redirectURI}}, alice.proof(t, e, ""))
	wantDPoP(t, conf, alice)
	next := e.tokenWith(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
		"refresh_token": {conf.RefreshToken}}, mallory.proof(t, e, ""))
	wantDPoP(t, next, mallory)
}

// TestDPoPBoundCode: a code whose authorization request named dpop_jkt is
// redeemed only with a proof of that key (RFC 9449 section 10); a wrong
// key spends it, as any failed check of a code does.
func TestDPoPBoundCode(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	alice, mallory := newKey(t, e), newKey(t, e)
	for _, tt := range []struct {
		name   string
		proofs func() []string
	}{
		{"another key", func() []string { return []string{mallory.proof(t, e, "")} }},
		{"no proof", func() []string { return nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := e.publicCode(t, alice.JKT())
			testenv.WantError(t, e.tokenWith(t, form, tt.proofs()...), http.StatusBadRequest, protocol.ErrInvalidGrant)
			testenv.WantError(t, e.tokenWith(t, form, alice.proof(t, e, "")), http.StatusBadRequest, protocol.ErrInvalidGrant)
		})
	}
	wantDPoP(t, e.tokenWith(t, e.publicCode(t, alice.JKT()), alice.proof(t, e, "")), alice)
}

// TestDPoPBoundClient: a client registered with dpop_bound_access_tokens
// gets no bearer token (RFC 9449 section 5.2), and its code survives the
// refused request.
func TestDPoPBoundClient(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	alice := newKey(t, e)
	bound := e.client(t, store.Client{Name: "Bound app", Scopes: testenv.Scopes(t, "read"), DPoPBoundAccessTokens: true})
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {bound.ID}, "client_secret": {bound.Secret}}
	testenv.WantError(t, e.tokenWith(t, cc), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
	wantDPoP(t, e.tokenWith(t, cc, alice.proof(t, e, "")), alice)

	code := url.Values{"grant_type": {"code"}, "client_id": {bound.ID}, "client_secret": {bound.Secret},
		"code": {e.code(t, bound.ID, nil)}, "redirect_uri": {redirectURI}}
	testenv.WantError(t, e.tokenWith(t, code), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
	wantDPoP(t, e.tokenWith(t, code, alice.proof(t, e, "")), alice)
}

// TestDPoPNonce: with server nonces a proof without the current one is
// 400 use_dpop_nonce with the nonce in DPoP-Nonce (RFC 9449 section 8),
// the code untouched; the retry with it succeeds and carries a nonce too.
func TestDPoPNonce(t *testing.T) {
	e := newEnv(t, rateLimitsOff)
	nonces, err := dpop.NewRotatingNonces([]byte(strings.Repeat("k", 32)), time.Minute, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dpop.NewVerifier(dpop.Config{Nonces: nonces, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.h.DPoP, e.h.TokenURL = v, e.URL+"/v1/oauth2/token"
	alice := newKey(t, e)

	form := e.publicCode(t, "")
	first := e.tokenWith(t, form, alice.proof(t, e, ""))
	testenv.WantError(t, first, http.StatusBadRequest, protocol.ErrUseDPoPNonce)
	nonce := first.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
	}
	got := e.tokenWith(t, form, alice.proof(t, e, nonce))
	wantDPoP(t, got, alice)
	if got.Header.Get("DPoP-Nonce") == "" {
		t.Error("the 200 answer carries no DPoP-Nonce")
	}
	// Three periods later the nonce is stale: asked again.
	e.Clock.Add(3 * time.Minute)
	stale := e.tokenWith(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret}},
		alice.proof(t, e, nonce))
	testenv.WantError(t, stale, http.StatusBadRequest, protocol.ErrUseDPoPNonce)
	if stale.Header.Get("DPoP-Nonce") == nonce {
		t.Error("the nonce did not rotate")
	}
}

// TestDPoPIntrospection: introspection of a DPoP-bound access token says
// token_type DPoP and its cnf (RFC 9449 section 6.2), a bearer token's
// neither, and a public client's bound refresh token carries its cnf.
func TestDPoPIntrospection(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	alice := newKey(t, e)
	bound := e.tokenWith(t, e.publicCode(t, ""), alice.proof(t, e, ""))
	wantDPoP(t, bound, alice)
	bearer := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
	introspect := func(tok string) protocol.IntrospectionResponse {
		t.Helper()
		a := testenv.Post(t, e.URL+"/v1/oauth2/introspect", "application/x-www-form-urlencoded",
			url.Values{"token": {tok}}.Encode(), e.rs.ID, e.rs.Secret)
		var in protocol.IntrospectionResponse
		a.Decode(t, &in)
		return in
	}
	tests := []struct {
		name     string
		token    string
		wantType string
		wantJKT  string
	}{
		{"bound access token", bound.AccessToken, "DPoP", alice.JKT()},
		{"bound refresh token", bound.RefreshToken, "refresh_token", alice.JKT()},
		{"bearer access token", bearer.AccessToken, "Bearer", ""},
		{"unbound refresh token", bearer.RefreshToken, "refresh_token", ""},
	}
	for _, tt := range tests {
		in := introspect(tt.token)
		var jkt string
		if in.Confirmation != nil {
			jkt = in.Confirmation.JKT
		}
		if !in.Active || in.TokenType != tt.wantType || jkt != tt.wantJKT {
			t.Errorf("%s: active %t, token_type %q, cnf.jkt %q; want active, %q, %q", tt.name, in.Active, in.TokenType, jkt, tt.wantType, tt.wantJKT)
		}
	}
}
