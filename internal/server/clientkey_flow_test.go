package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/store"
	sdk "github.com/ariesexchange/aries/sdk"
)

// The Go SDK authenticating with private_key_jwt (RFC 7523,
// docs/fapi.md#client-authentication-methods--private_key_jwt) against
// the whole server: every endpoint that authenticates clients, DPoP
// nonce retries, replay and a wrong key.

// keyedJWKS is the public JWK Set of key under kid.
func keyedJWKS(t *testing.T, key crypto.Signer, kid string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recordingTransport keeps the body of the last token request, as sent.
type recordingTransport struct {
	mu   sync.Mutex
	last []byte
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/v1/oauth2/token" && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		r.mu.Lock()
		r.last = b
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestSDKPrivateKeyJWT(t *testing.T) {
	f := sdkFixture(t, func(c *Config) { c.DPoPNonce = true })
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	keyed := f.newClient(t, store.Client{Name: "Keyed backend", FirstParty: true,
		TokenEndpointAuthMethod: store.AuthPrivateKeyJWT, JWKS: keyedJWKS(t, ec, "ec-1")}, "read trade")
	rec := &recordingTransport{}
	cfg := sdk.Config{ClientID: keyed.ClientID, ClientKey: ec, ClientKeyID: "ec-1", RedirectURL: f.redirectURI,
		Scopes: []string{"read"}, APIURL: f.URL, HTTPClient: &http.Client{Transport: rec, Timeout: 30 * time.Second}}
	app, err := sdk.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// A wrong key is invalid_client and leaves the code usable.
	code := f.signIn(t, app)
	wrong := cfg
	wrong.ClientKey, wrong.ClientKeyID = ed, ""
	wrongApp, _ := sdk.NewClient(wrong)
	var apiErr *sdk.Error
	if _, err := wrongApp.ExchangeCode(ctx, code); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_client" {
		t.Fatalf("an unregistered key: got %v, want 401 invalid_client", err)
	}
	tok, err := app.ExchangeCode(ctx, code)
	if err != nil {
		t.Fatalf("code exchange with the registered key: %v", err)
	}
	if in := f.introspect(t, tok.AccessToken); !in.Active || in.ClientID != keyed.ClientID {
		t.Errorf("introspection %+v: want an active token of the keyed client", in)
	}

	// The assertion just used is spent: sent again as it was, refused.
	rec.mu.Lock()
	replayed := rec.last
	rec.mu.Unlock()
	resp, err := http.Post(f.URL+"/v1/oauth2/token", "application/x-www-form-urlencoded", bytes.NewReader(replayed))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
		t.Errorf("a replayed assertion: %d %s, want 401 invalid_client", resp.StatusCode, body)
	}

	// Refresh, revocation, client credentials, first-party sign-in: each
	// with an assertion of its own.
	next, err := app.RefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := app.Revoke(ctx, next.RefreshToken); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := app.RefreshToken(ctx, next.RefreshToken); !errors.Is(err, sdk.ErrRefreshTokenRevoked) {
		t.Errorf("refresh after revocation: got %v, want ErrRefreshTokenRevoked", err)
	}
	if own, err := app.Token(ctx); err != nil || own.AccessToken == "" {
		t.Errorf("client credentials: %v", err)
	}
	signedIn, err := app.SignIn(ctx, sdk.SignInRequest{Email: f.email, Password: f.password})
	if err != nil || signedIn.AuthorizationCode == "" {
		t.Fatalf("first-party sign-in: %+v, %v", signedIn, err)
	}
	if _, err := app.ExchangeCode(ctx, signedIn.AuthorizationCode); err != nil {
		t.Errorf("exchanging the first-party code: %v", err)
	}

	// With DPoP under server nonces, the retry the nonce challenge causes
	// carries a new assertion and succeeds.
	bound := cfg
	bound.DPoP = &sdk.DPoP{}
	boundApp, err := sdk.NewClient(bound)
	if err != nil {
		t.Fatal(err)
	}
	dtok, err := boundApp.ExchangeCode(ctx, f.signIn(t, boundApp))
	if err != nil {
		t.Fatalf("DPoP-bound code exchange with private_key_jwt: %v", err)
	}
	if dtok.TokenType != "DPoP" {
		t.Errorf("token_type %q, want DPoP", dtok.TokenType)
	}

	// The client's secret, though it has one in this fixture, is refused:
	// private_key_jwt is its only way in.
	secretCfg := cfg
	secretCfg.ClientKey, secretCfg.ClientSecret = nil, keyed.ClientSecret
	secretApp, _ := sdk.NewClient(secretCfg)
	if _, err := secretApp.ExchangeCode(ctx, f.signIn(t, app)); !errors.As(err, &apiErr) || apiErr.Code != "invalid_client" {
		t.Errorf("a secret from a private_key_jwt client: got %v, want invalid_client", err)
	}
}
