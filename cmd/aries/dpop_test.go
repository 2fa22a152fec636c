package main

// DPoP end to end through `aries serve` (RFC 9449, docs/dpop.md): the Go
// SDK's code flow with a key, what a thief can and cannot do with a copy of
// its tokens and proofs, server nonces, and clients that get DPoP-bound
// tokens only. dpop_scaleout_test.go replays proofs across instances.

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/testenv"
	sdk "github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// dpopKey is a client's DPoP key, making proofs by hand for the tests that
// play a thief or look at single requests.
type dpopKey struct {
	key *ecdsa.PrivateKey
	*dpop.Signer
}

func newDPoPKey(t *testing.T) dpopKey {
	t.Helper()
	k, err := dpop.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(k, "")
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{k, s}
}

// proof signs a proof for method and u (the public URL: htu), with the
// access token's hash when tok is set.
func (k dpopKey) proof(t *testing.T, method, u, tok, nonce string) string {
	t.Helper()
	p, err := k.Proof(method, u, tok, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenWithProof posts a token request to base with a DPoP header (none
// when proof is "").
func tokenWithProof(t *testing.T, base string, form url.Values, proof string, basic ...string) tokenResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+protocol.TokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	a := testenv.Do(t, nil, req)
	r := tokenResult{Status: a.Status, Header: a.Header}
	a.Decode(t, &r)
	return r
}

// callAPI sends GET path to base with the token under scheme and a proof
// (none when "").
func callAPI(t *testing.T, base, path, scheme, tok, proof string) testenv.Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", scheme+" "+tok)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return testenv.Do(t, nil, req)
}

func wantAnswer(t *testing.T, what string, a testenv.Answer, status int, code string) {
	t.Helper()
	if a.Status != status || a.ErrorCode() != code {
		t.Errorf("%s: got %s, want %d %s", what, a, status, code)
	}
}

// sdkCodeFlow signs the fixture's user in to the public client with the
// Go SDK holding key, through the hosted pages, and returns the client
// with its token set.
func sdkCodeFlow(t *testing.T, f *fixture, key *ecdsa.PrivateKey) (*sdk.Client, *sdk.Token) {
	t.Helper()
	ctx := context.Background()
	client, err := sdk.NewClient(sdk.Config{ClientID: f.public.ClientID, RedirectURL: f.redirectURI,
		Scopes: []string{"read"}, APIURL: f.URL, DPoP: &sdk.DPoP{Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := sdk.GenerateVerifier()
	authURL := client.AuthorizationURL("st", sdk.WithPKCE(verifier))
	if u, _ := url.Parse(authURL); u.Query().Get("dpop_jkt") != client.DPoPThumbprint() {
		t.Fatalf("the authorization URL %s does not bind the code to the key", authURL)
	}
	loc := testenv.AuthorizeURL(t, browser(t), f.URL, testenv.Person{Email: f.email, Password: f.password}, authURL)
	tok, err := client.ExchangeCode(ctx, loc.Query().Get("code"), sdk.WithPKCE(verifier))
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if err := client.SetToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	return client, tok
}

// TestDPoPEndToEnd: a public app using the Go SDK with a DPoP key signs a
// user in and calls the API; a copy of its token or proofs is worthless.
func TestDPoPEndToEnd(t *testing.T) {
	f := newFixture(t, generous...)
	ctx := context.Background()
	alice, mallory := newDPoPKey(t), newDPoPKey(t)
	client, tok := sdkCodeFlow(t, f, alice.key)
	me := f.URL + "/v1/users/me"

	t.Run("the SDK's flow gets DPoP-bound tokens and calls the API", func(t *testing.T) {
		if tok.TokenType != "DPoP" {
			t.Fatalf("token type %q, want DPoP", tok.TokenType)
		}
		u, err := client.Users.Current(ctx)
		if err != nil || u.ID != f.userID {
			t.Fatalf("Users.Current: %+v, %v; want user %s", u, err, f.userID)
		}
		in := f.introspectDPoP(t, tok.AccessToken)
		if !in.Active || in.TokenType != "DPoP" || in.Confirmation == nil || in.Confirmation.JKT != alice.JKT() {
			t.Errorf("introspection %+v, want active, DPoP, cnf.jkt of the key", in)
		}
	})

	t.Run("the token replayed as Bearer is refused", func(t *testing.T) {
		a := callAPI(t, f.URL, "/v1/users/me", "Bearer", tok.AccessToken, "")
		wantAnswer(t, "as Bearer", a, http.StatusUnauthorized, protocol.ErrInvalidToken)
		if c := a.Header.Values("WWW-Authenticate"); len(c) != 2 || !strings.HasPrefix(c[0], `Bearer realm="aries", error="invalid_token"`) || !strings.HasPrefix(c[1], `DPoP realm="aries", algs="ES256 EdDSA Ed25519 PS256 RS256"`) {
			t.Errorf("WWW-Authenticate %q, want the Bearer error and the DPoP challenge with its algs", c)
		}
	})

	t.Run("the token replayed with another key's proof is refused", func(t *testing.T) {
		a := callAPI(t, f.URL, "/v1/users/me", "DPoP", tok.AccessToken, mallory.proof(t, "GET", me, tok.AccessToken, ""))
		wantAnswer(t, "another key", a, http.StatusUnauthorized, protocol.ErrInvalidToken)
		if c := a.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, `DPoP realm="aries", algs="ES256 EdDSA Ed25519 PS256 RS256", error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q, want the DPoP challenge", c)
		}
	})

	t.Run("a proof replayed to the API is refused", func(t *testing.T) {
		p := alice.proof(t, "GET", me, tok.AccessToken, "")
		wantAnswer(t, "first use", callAPI(t, f.URL, "/v1/users/me", "DPoP", tok.AccessToken, p), http.StatusOK, "")
		wantAnswer(t, "replay", callAPI(t, f.URL, "/v1/users/me", "DPoP", tok.AccessToken, p), http.StatusUnauthorized, protocol.ErrInvalidDPoPProof)
		wantAnswer(t, "no proof", callAPI(t, f.URL, "/v1/users/me", "DPoP", tok.AccessToken, ""), http.StatusUnauthorized, protocol.ErrInvalidDPoPProof)
	})

	t.Run("a bound refresh token refreshed with another key: invalid_grant, nothing rotated", func(t *testing.T) {
		refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {f.public.ClientID}, "refresh_token": {tok.RefreshToken}}
		got := tokenWithProof(t, f.URL, refresh, mallory.proof(t, "POST", f.URL+protocol.TokenPath, "", ""))
		wantError(t, got, http.StatusBadRequest, protocol.ErrInvalidGrant)
		wantError(t, tokenWithProof(t, f.URL, refresh, ""), http.StatusBadRequest, protocol.ErrInvalidGrant)
		if in := f.introspectDPoP(t, tok.RefreshToken); !in.Active || in.Confirmation == nil || in.Confirmation.JKT != alice.JKT() {
			t.Fatalf("the refresh token after refused refreshes: %+v, want it live and bound to the key", in)
		}
		// The key holder refreshes it, once.
		next, err := client.RefreshToken(ctx, tok.RefreshToken)
		if err != nil || next.TokenType != "DPoP" {
			t.Fatalf("RefreshToken with the key: %+v, %v", next, err)
		}
		if _, err := client.RefreshToken(ctx, tok.RefreshToken); !errors.Is(err, sdk.ErrRefreshTokenRevoked) {
			t.Errorf("the spent refresh token again: %v, want ErrRefreshTokenRevoked", err)
		}
	})

	t.Run("a proof replayed to the token endpoint is refused", func(t *testing.T) {
		cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}
		p := alice.proof(t, "POST", f.URL+protocol.TokenPath, "", "")
		first := tokenWithProof(t, f.URL, cc, p, f.conf.ClientID, f.conf.ClientSecret)
		if first.Status != http.StatusOK || first.TokenType != "DPoP" {
			t.Fatalf("client_credentials with a proof: %d %s %s", first.Status, first.Error, first.TokenType)
		}
		wantError(t, tokenWithProof(t, f.URL, cc, p, f.conf.ClientID, f.conf.ClientSecret), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
	})

	t.Run("the metadata names the algorithms", func(t *testing.T) {
		var m struct {
			Algs []string `json:"dpop_signing_alg_values_supported"`
		}
		p := testenv.Get(t, http.DefaultClient, f.URL+"/.well-known/oauth-authorization-server")
		if err := json.Unmarshal([]byte(p.Body), &m); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Algs, []string{"ES256", "EdDSA", "Ed25519", "PS256", "RS256"}) {
			t.Errorf("dpop_signing_alg_values_supported %v", m.Algs)
		}
	})
}

// introspectDPoP asks about tok as the resource server and keeps what
// DPoP adds to the answer.
func (f *fixture) introspectDPoP(t *testing.T, tok string) protocol.IntrospectionResponse {
	t.Helper()
	a := testenv.Post(t, f.URL+"/v1/oauth2/introspect", "application/x-www-form-urlencoded",
		url.Values{"token": {tok}}.Encode(), f.rs.ClientID, f.rs.ClientSecret)
	var in protocol.IntrospectionResponse
	a.Decode(t, &in)
	return in
}

// TestDPoPNonce: with `serve --dpop-nonce` the token endpoint and the API
// ask for the server's nonce (RFC 9449 sections 8 and 9), and the SDK
// answers by retrying once, unnoticed by the app.
func TestDPoPNonce(t *testing.T) {
	f := newFixture(t, append([]string{"--dpop-nonce"}, generous...)...)
	alice := newDPoPKey(t)
	tokenURL := f.URL + protocol.TokenPath

	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}
	challenge := tokenWithProof(t, f.URL, cc, alice.proof(t, "POST", tokenURL, "", ""), f.conf.ClientID, f.conf.ClientSecret)
	wantError(t, challenge, http.StatusBadRequest, protocol.ErrUseDPoPNonce)
	nonce := challenge.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce without DPoP-Nonce")
	}
	got := tokenWithProof(t, f.URL, cc, alice.proof(t, "POST", tokenURL, "", nonce), f.conf.ClientID, f.conf.ClientSecret)
	if got.Status != http.StatusOK || got.TokenType != "DPoP" {
		t.Fatalf("with the nonce: %d %s", got.Status, got.Error)
	}

	// The API asks too, with a 401 and the DPoP challenge.
	client, tok := sdkCodeFlow(t, f, alice.key)
	a := callAPI(t, f.URL, "/v1/users/me", "DPoP", tok.AccessToken, alice.proof(t, "GET", f.URL+"/v1/users/me", tok.AccessToken, ""))
	wantAnswer(t, "API without a nonce", a, http.StatusUnauthorized, protocol.ErrUseDPoPNonce)
	if c := a.Header.Get("WWW-Authenticate"); !strings.Contains(c, `error="use_dpop_nonce"`) || !strings.HasPrefix(c, "DPoP ") || a.Header.Get("DPoP-Nonce") == "" {
		t.Errorf("WWW-Authenticate %q, DPoP-Nonce %q", c, a.Header.Get("DPoP-Nonce"))
	}
	// The SDK went through both challenges (in sdkCodeFlow) and goes on.
	if u, err := client.Users.Current(context.Background()); err != nil || u.ID != f.userID {
		t.Errorf("Users.Current through the nonce challenge: %+v, %v", u, err)
	}
}

// TestDPoPBoundClient: `clients create|update --dpop-bound` sets
// dpop_bound_access_tokens, shown by `clients show --json`; such a client
// gets no bearer token.
func TestDPoPBoundClient(t *testing.T) {
	dir := t.TempDir()
	c := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Trading bot", "--dpop-bound",
		"--redirect-uri", "https://bot.example/cb", "--scope", "read trade")
	if !c.DPoPBoundAccessTokens {
		t.Fatalf("clients create --dpop-bound: %+v", c)
	}
	var shown map[string]any
	out, _, status := aries(t, dir, "clients", "show", c.ClientID, "--json")
	if status != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown["dpop_bound_access_tokens"] != true {
		t.Fatalf("clients show --json: %s", out)
	}
	if out, _, _ := aries(t, dir, "clients", "show", c.ClientID); !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		return slices.Equal(strings.Fields(l), []string{"dpop_bound_access_tokens", "true"})
	}) {
		t.Errorf("clients show does not say it:\n%s", out)
	}
	off := ariesJSON[clientJSON](t, dir, "clients", "update", c.ClientID, "--dpop-bound=false")
	if off.DPoPBoundAccessTokens {
		t.Fatal("clients update --dpop-bound=false left it set")
	}
	on := ariesJSON[clientJSON](t, dir, "clients", "update", c.ClientID, "--dpop-bound")
	if !on.DPoPBoundAccessTokens || on.Name != "Trading bot" {
		t.Fatalf("clients update --dpop-bound: %+v", on)
	}

	srv := startServer(t, dir)
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"order:execution"}}
	wantError(t, tokenWithProof(t, srv.URL, cc, "", c.ClientID, c.ClientSecret), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
	k := newDPoPKey(t)
	got := tokenWithProof(t, srv.URL, cc, k.proof(t, "POST", srv.URL+protocol.TokenPath, "", ""), c.ClientID, c.ClientSecret)
	if got.Status != http.StatusOK || got.TokenType != "DPoP" {
		t.Errorf("with a proof: %d %s %s", got.Status, got.Error, got.TokenType)
	}
}
