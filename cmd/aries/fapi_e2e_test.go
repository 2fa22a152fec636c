package main

// FAPI 2.0 end to end through `aries serve` (docs/fapi.md): a partner
// registered with `aries clients create --profile fapi2 --jwks FILE`
// signs a user in with the Go SDK (PAR with private_key_jwt, PKCE S256,
// DPoP-bound tokens, iss checked, a refresh without rotation, an API
// call), and with oauth4webapi, a client this project did not write
// (interop/fapi.mjs). The negative cases are table tests with an injected
// clock in internal/server/fapi_flow_test.go.

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/testenv"
	sdk "github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// partnerKeyID names the partner's key in its JWKS and assertions.
const partnerKeyID = "partner-2026"

// newPartner makes a P-256 key pair, writes its public half as a JWK Set
// file, and registers a fapi2 client with it through the command line.
func newPartner(t *testing.T, f *fixture) (clientJSON, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := dpop.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: partnerKeyID, Use: "sig", Algorithm: "ES256"}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "partner.jwks")
	if err := os.WriteFile(file, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	c := ariesJSON[clientJSON](t, f.dir, "clients", "create", "--name", "Partner Ltd", "--profile", "fapi2",
		"--jwks", file, "--redirect-uri", f.redirectURI, "--scope", "read")
	if c.ClientSecret != "" || c.Profile != "fapi2" || c.TokenEndpointAuthMethod != "private_key_jwt" ||
		!c.RequirePushedAuthorizationRequests || !c.DPoPBoundAccessTokens || c.RefreshTokenRotation != "none" {
		t.Fatalf("clients create --profile fapi2: %+v; want no secret, private_key_jwt, PAR, DPoP-bound, no rotation", c)
	}
	return c, key
}

func TestFAPI2EndToEnd(t *testing.T) {
	f := newFixture(t, generous...)
	ctx := context.Background()
	partner, key := newPartner(t, f)
	person := testenv.Person{Email: f.email, Password: f.password}
	client, err := sdk.NewClient(sdk.Config{ClientID: partner.ClientID, ClientKey: key, ClientKeyID: partnerKeyID,
		RedirectURL: f.redirectURI, Scopes: []string{"read"}, APIURL: f.URL,
		DPoP: &sdk.DPoP{}, PushAuthorizationRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	verifier := sdk.GenerateVerifier()

	// A plain authorization request is refused: the partner must push.
	loc := testenv.AuthorizeURL(t, browser(t), f.URL, person, client.AuthorizationURL("st", sdk.WithPKCE(verifier)))
	if q := loc.Query(); q.Get("error") != protocol.ErrInvalidRequest || q.Get("iss") != f.URL || q.Get("code") != "" {
		t.Fatalf("plain authorization request: sent back to %s; want error=invalid_request with iss", loc)
	}

	authURL, err := client.AuthorizationURLContext(ctx, "st-fapi", sdk.WithPKCE(verifier))
	if err != nil {
		t.Fatalf("AuthorizationURLContext: %v", err)
	}
	u, _ := url.Parse(authURL)
	if q := u.Query(); len(q) != 2 || q.Get("client_id") != partner.ClientID || !strings.HasPrefix(q.Get("request_uri"), protocol.RequestURIPrefix) {
		t.Fatalf("authorization URL %s: want client_id and a request_uri only", authURL)
	}
	loc = testenv.AuthorizeURL(t, browser(t), f.URL, person, authURL)
	q := loc.Query()
	if q.Get("code") == "" || q.Get("state") != "st-fapi" || q.Get("iss") != f.URL {
		t.Fatalf("sent back to %s; want code, state=st-fapi and iss=%s (RFC 9207)", loc, f.URL)
	}
	// The request_uri worked once.
	if again := testenv.AuthorizeURL(t, browser(t), f.URL, person, authURL); again.Query().Get("error") != protocol.ErrInvalidRequestURI {
		t.Errorf("the request_uri again: sent back to %s; want error=invalid_request_uri", again)
	}

	tok, err := client.ExchangeCode(ctx, q.Get("code"), sdk.WithPKCE(verifier))
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if tok.TokenType != protocol.TokenTypeDPoP || tok.RefreshToken == "" {
		t.Fatalf("token %+v: want a DPoP token and a refresh token", tok)
	}
	if in := f.introspectDPoP(t, tok.AccessToken); !in.Active || in.Confirmation == nil || in.Confirmation.JKT != client.DPoPThumbprint() {
		t.Errorf("introspection %+v: want active and bound to the SDK's key", in)
	}
	if err := client.SetToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	me, err := client.Users.Current(ctx)
	if err != nil || me.ID != f.userID {
		t.Fatalf("Users.Current: %+v, %v; want user %s", me, err, f.userID)
	}
	wantAnswer(t, "the bound token as Bearer", callAPI(t, f.URL, "/v1/users/me", "Bearer", tok.AccessToken, ""),
		http.StatusUnauthorized, protocol.ErrInvalidToken)

	// Refresh without rotation: the refresh token stays the same and keeps working.
	for i := range 2 {
		next, err := client.RefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		if next.TokenType != protocol.TokenTypeDPoP || next.AccessToken == tok.AccessToken || next.RefreshToken != tok.RefreshToken {
			t.Errorf("refresh %d: %+v; want a new DPoP access token and the same refresh token", i+1, next)
		}
	}
	if in := f.introspectDPoP(t, tok.RefreshToken); !in.Active {
		t.Errorf("the refresh token after two refreshes: %+v, want it active (not rotated)", in)
	}
}

// fapiInteropResult is what interop/fapi.mjs prints at the end.
type fapiInteropResult struct {
	Error       string   `json:"error"`
	Cause       string   `json:"cause"`
	PAREndpoint string   `json:"pushed_authorization_request_endpoint"`
	AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	JKT         string   `json:"jkt"`
	RequestURI  string   `json:"request_uri"`
	ExpiresIn   int      `json:"expires_in"`
	Iss         string   `json:"iss"`
	UserID      string   `json:"user_id"`
	Code        struct {
		TokenType    string `json:"token_type"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	} `json:"code"`
	Refresh struct {
		TokenType    string `json:"token_type"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	} `json:"refresh"`
}

// TestInteropFAPI2: oauth4webapi pushes its request with private_key_jwt
// and a DPoP proof, checks iss, redeems the code, calls the API and
// refreshes, all against `aries serve`, with and without server nonces.
func TestInteropFAPI2(t *testing.T) {
	dir, node := interopDir(t)
	for _, tt := range []struct {
		name  string
		flags []string
	}{
		{"without nonces", nil},
		{"with --dpop-nonce", []string{"--dpop-nonce"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, append(tt.flags, generous...)...)
			partner, key := newPartner(t, f)
			got := runFAPIInterop(t, f, dir, node, partner.ClientID, key)
			if got.Error != "" {
				t.Fatalf("oauth4webapi failed: %s (%s)", got.Error, got.Cause)
			}
			if got.PAREndpoint != f.URL+protocol.PARPath || !slices.Contains(got.AuthMethods, "private_key_jwt") {
				t.Errorf("metadata as oauth4webapi read it: PAR endpoint %q, auth methods %v", got.PAREndpoint, got.AuthMethods)
			}
			if !strings.HasPrefix(got.RequestURI, protocol.RequestURIPrefix) || got.ExpiresIn != 60 || got.Iss != f.URL {
				t.Errorf("request_uri %q expires_in %d iss %q; want a request_uri of 60 s and iss %s", got.RequestURI, got.ExpiresIn, got.Iss, f.URL)
			}
			if !strings.EqualFold(got.Code.TokenType, "DPoP") || !strings.EqualFold(got.Refresh.TokenType, "DPoP") {
				t.Errorf("token types %q and %q, want DPoP", got.Code.TokenType, got.Refresh.TokenType)
			}
			if got.UserID != f.userID {
				t.Errorf("GET /v1/users/me with oauth4webapi's proof: user %q, want %q", got.UserID, f.userID)
			}
			if got.Refresh.RefreshToken != "" && got.Refresh.RefreshToken != got.Code.RefreshToken {
				t.Errorf("the refresh rotated the refresh token; a FAPI 2.0 client's is not rotated")
			}
			for what, tok := range map[string]string{"code": got.Code.AccessToken, "refresh": got.Refresh.AccessToken} {
				in := f.introspectDPoP(t, tok)
				if !in.Active || in.Confirmation == nil || in.Confirmation.JKT != got.JKT {
					t.Errorf("%s token: introspection %+v, want active and bound to oauth4webapi's key %s", what, in, got.JKT)
				}
			}
		})
	}
}

// runFAPIInterop runs interop/fapi.mjs as the partner clientID holding
// key, playing the user on the hosted pages for the URL it prints.
func runFAPIInterop(t *testing.T, f *fixture, dir, node, clientID string, key *ecdsa.PrivateKey) fapiInteropResult {
	t.Helper()
	private, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: partnerKeyID, Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	var got fapiInteropResult
	runNodeFlow(t, f, dir, node, "fapi.mjs", []string{
		"ARIES_FAPI_CLIENT_ID=" + clientID, "ARIES_FAPI_CLIENT_KEY=" + string(private),
	}, &got)
	return got
}

// TestServeRequirePAR: under `serve --require-par` (or ARIES_REQUIRE_PAR)
// every client must push: the metadata says so, a plain request is sent
// back with invalid_request, a pushed one works.
func TestServeRequirePAR(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   string
		flags []string
	}{
		{"flag", "", []string{"--require-par"}},
		{"environment", "true", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("ARIES_REQUIRE_PAR", tt.env)
			}
			f := newFixture(t, append(tt.flags, generous...)...)
			var md struct {
				Endpoint string `json:"pushed_authorization_request_endpoint"`
				Require  bool   `json:"require_pushed_authorization_requests"`
			}
			testenv.Call(t, f.URL, "GET", "/.well-known/oauth-authorization-server", "", nil).Decode(t, &md)
			if md.Endpoint != f.URL+protocol.PARPath || !md.Require {
				t.Errorf("metadata %+v: want the PAR endpoint and require_pushed_authorization_requests true", md)
			}
			params := url.Values{"response_type": {"code"}, "client_id": {f.conf.ClientID}, "redirect_uri": {f.redirectURI},
				"scope": {"read"}, "state": {"st"}}
			if loc := f.authorize(t, browser(t), params); loc.Query().Get("error") != protocol.ErrInvalidRequest {
				t.Errorf("plain request: sent back to %s; want error=invalid_request", loc)
			}
			form := url.Values{"client_secret": {f.conf.ClientSecret}}
			for k, v := range params {
				form[k] = v
			}
			a := testenv.Post(t, f.URL+protocol.PARPath, "application/x-www-form-urlencoded", form.Encode())
			var pushed protocol.PARResponse
			a.Decode(t, &pushed)
			if a.Status != http.StatusCreated {
				t.Fatalf("push: %s", a)
			}
			loc := f.authorize(t, browser(t), url.Values{"client_id": {f.conf.ClientID}, "request_uri": {pushed.RequestURI}})
			if q := loc.Query(); q.Get("code") == "" || q.Get("state") != "st" || q.Get("iss") != f.URL {
				t.Errorf("pushed request: sent back to %s; want code, state and iss", loc)
			}
		})
	}
}
