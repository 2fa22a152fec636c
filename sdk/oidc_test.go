package aries_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// fakeOP plays the OpenID Provider side of Aries: the JWKS its ID tokens
// are signed with, and UserInfo. The end-to-end tests run the SDK against
// the real server.
type fakeOP struct {
	*httptest.Server
	jwksHits atomic.Int64

	mu   sync.Mutex
	keys map[string]crypto.Signer // kid -> key, published
}

func newFakeOP(t testing.TB) *fakeOP {
	op := startFakeOP()
	t.Cleanup(op.Close)
	return op
}

func startFakeOP() *fakeOP {
	op := &fakeOP{keys: map[string]crypto.Signer{}}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op.keys["rs1"], op.keys["es1"] = rsaKey, ecKey
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", op.jwks)
	mux.HandleFunc("GET /v1/oauth2/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at_user" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aries", error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(protocol.ErrorResponse{Error: "invalid_token"})
			return
		}
		json.NewEncoder(w).Encode(protocol.UserInfo{Subject: "usr_ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada"})
	})
	op.Server = httptest.NewServer(mux)
	return op
}

func (op *fakeOP) jwks(w http.ResponseWriter, r *http.Request) {
	op.jwksHits.Add(1)
	op.mu.Lock()
	defer op.mu.Unlock()
	var set jose.JSONWebKeySet
	for kid, k := range op.keys {
		alg := "ES256"
		if _, ok := k.(*rsa.PrivateKey); ok {
			alg = "RS256"
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: alg, Use: "sig"})
	}
	json.NewEncoder(w).Encode(set)
}

// rotate publishes a new RSA key under kid.
func (op *fakeOP) rotate(kid string) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	op.mu.Lock()
	defer op.mu.Unlock()
	op.keys[kid] = k
}

// sign is signID for tests.
func (op *fakeOP) sign(t testing.TB, kid string, key crypto.Signer, typ string, c protocol.IDTokenClaims) string {
	t.Helper()
	s, err := op.signID(kid, key, typ, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signID signs claims with the key kid (or with key when it is not nil,
// under kid), as an ID token (typ JWT) unless typ says otherwise.
func (op *fakeOP) signID(kid string, key crypto.Signer, typ string, c protocol.IDTokenClaims) (string, error) {
	if key == nil {
		op.mu.Lock()
		key = op.keys[kid]
		op.mu.Unlock()
	}
	alg := jose.ES256
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	if typ == "" {
		typ = "JWT"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// claimsFor is a valid ID token's claims for the test client, issued now.
func (op *fakeOP) claimsFor(nonce string) protocol.IDTokenClaims {
	now := time.Now()
	return protocol.IDTokenClaims{Issuer: op.URL, Subject: "usr_ada", Audience: []string{testClientID},
		AuthorizedParty: testClientID, IssuedAt: now, Expiry: now.Add(15 * time.Minute), AuthTime: now, Nonce: nonce}
}

func (op *fakeOP) client(t testing.TB, tok *aries.Token) *aries.Client {
	t.Helper()
	cfg := aries.Config{ClientID: testClientID, ClientSecret: testSecret, APIURL: op.URL}
	var c *aries.Client
	var err error
	if tok == nil {
		c, err = aries.NewClient(cfg)
	} else {
		c, err = aries.NewClientFromToken(cfg, tok)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyIDToken(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t, nil)
	ctx := context.Background()
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(f func(*protocol.IDTokenClaims)) protocol.IDTokenClaims {
		cl := op.claimsFor("n-1")
		f(&cl)
		return cl
	}
	tests := []struct {
		name  string
		raw   string
		nonce string
		ok    bool
	}{
		{"RS256", op.sign(t, "rs1", nil, "", op.claimsFor("n-1")), "n-1", true},
		{"ES256", op.sign(t, "es1", nil, "", op.claimsFor("n-1")), "n-1", true},
		{"refresh: no nonce expected, none sent", op.sign(t, "rs1", nil, "", op.claimsFor("")), "", true},
		{"nonce of another request", op.sign(t, "rs1", nil, "", op.claimsFor("n-1")), "n-2", false},
		{"nonce expected, none in the token", op.sign(t, "rs1", nil, "", op.claimsFor("")), "n-1", false},
		{"nonce in the token, none expected", op.sign(t, "rs1", nil, "", op.claimsFor("n-1")), "", false},
		{"another audience", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) { c.Audience = []string{"aries_ci_other"}; c.AuthorizedParty = "" })), "n-1", false},
		{"two audiences, azp another client", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) {
			c.Audience = []string{testClientID, "aries_ci_other"}
			c.AuthorizedParty = "aries_ci_other"
		})), "n-1", false},
		{"two audiences without azp", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) {
			c.Audience = []string{testClientID, "aries_ci_other"}
			c.AuthorizedParty = ""
		})), "n-1", false},
		{"another issuer", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) { c.Issuer = "https://evil.example" })), "n-1", false},
		{"expired", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) { c.Expiry = time.Now().Add(-2 * time.Minute) })), "n-1", false},
		{"issued in the future", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) { c.IssuedAt = time.Now().Add(time.Hour) })), "n-1", false},
		{"no subject", op.sign(t, "rs1", nil, "", with(func(c *protocol.IDTokenClaims) { c.Subject = "" })), "n-1", false},
		{"signed by another key under a published kid", op.sign(t, "rs1", otherKey, "", op.claimsFor("n-1")), "n-1", false},
		{"unknown kid", op.sign(t, "rs9", otherKey, "", op.claimsFor("n-1")), "n-1", false},
		{"an access token", op.sign(t, "es1", nil, "at+jwt", op.claimsFor("n-1")), "n-1", false},
		{"not a JWT", "not.a.jwt", "n-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.VerifyIDToken(ctx, tt.raw, tt.nonce)
			if tt.ok {
				if err != nil || got.Subject != "usr_ada" {
					t.Fatalf("got %+v, %v; want the claims", got, err)
				}
				return
			}
			if !errors.Is(err, aries.ErrInvalidIDToken) {
				t.Errorf("got %+v, %v; want ErrInvalidIDToken", got, err)
			}
		})
	}
}

// TestVerifyIDTokenAfterRotation: a token signed with a key the cached set
// lacks makes the client fetch the JWKS again, but made-up kids do not
// make it fetch on every call.
func TestVerifyIDTokenAfterRotation(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t, nil)
	ctx := context.Background()
	clock := time.Now()
	aries.SetClock(c, func() time.Time { return clock }, nil)
	if _, err := c.VerifyIDToken(ctx, op.sign(t, "rs1", nil, "", op.claimsFor("")), ""); err != nil {
		t.Fatal(err)
	}
	op.rotate("rs2")
	clock = clock.Add(11 * time.Second)
	if _, err := c.VerifyIDToken(ctx, op.sign(t, "rs2", nil, "", op.claimsFor("")), ""); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	hits := op.jwksHits.Load()
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for range 20 {
		c.VerifyIDToken(ctx, op.sign(t, "made-up", stranger, "", op.claimsFor("")), "")
	}
	if got := op.jwksHits.Load() - hits; got > 0 {
		t.Errorf("made-up kids within ten seconds fetched the JWKS %d more times, want 0", got)
	}
}

func TestUserInfo(t *testing.T) {
	op := newFakeOP(t)
	got, err := op.client(t, &aries.Token{AccessToken: "at_user", TokenType: "Bearer"}).UserInfo(context.Background())
	want := protocol.UserInfo{Subject: "usr_ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}
	if err != nil || *got != want {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	_, err = op.client(t, &aries.Token{AccessToken: "at_other", TokenType: "Bearer"}).UserInfo(context.Background())
	var apiErr *aries.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_token" {
		t.Errorf("bad token: got %v, want 401 invalid_token", err)
	}
}

func TestOIDCRequestParameters(t *testing.T) {
	c, err := aries.NewClient(aries.Config{ClientID: "aries_ci_rp", RedirectURL: "https://rp.example/cb", APIURL: "https://aries.example"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.AuthorizationURL("st", aries.WithScopes("openid", "email"), aries.WithNonce("n-1"),
		aries.WithMaxAge(0), aries.WithLoginHint("ada@example.com")))
	q := u.Query()
	for k, want := range map[string]string{"scope": "openid email", "nonce": "n-1", "max_age": "0", "login_hint": "ada@example.com"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if aries.GenerateNonce() == aries.GenerateNonce() {
		t.Error("two nonces are equal")
	}
	logout, _ := url.Parse(c.LogoutURL("eyJ.hint", "https://rp.example/bye", "st2"))
	lq := logout.Query()
	if logout.Path != "/oauth2/logout" || lq.Get("id_token_hint") != "eyJ.hint" || lq.Get("post_logout_redirect_uri") != "https://rp.example/bye" ||
		lq.Get("state") != "st2" || lq.Get("client_id") != "aries_ci_rp" {
		t.Errorf("logout URL %s", logout)
	}
}

// Sign in with Aries: the ID token of the code exchange, checked against
// the nonce of the authorization request.
func ExampleClient_VerifyIDToken() {
	op := startFakeOP()
	defer op.Close()
	client, err := aries.NewClient(aries.Config{ClientID: clientID, ClientSecret: clientSecret, APIURL: op.URL})
	if err != nil {
		log.Fatal(err)
	}
	// Before sending the user to client.AuthorizationURL(state,
	// aries.WithScopes("openid", "email"), aries.WithNonce(nonce)), keep
	// the nonce with the state. After ExchangeCode, tok.IDToken holds the
	// ID token; here the fake server signs one.
	nonce := "n-0S6_WzA2Mj"
	rawIDToken, err := op.signID("rs1", nil, "", op.claimsFor(nonce))
	if err != nil {
		log.Fatal(err)
	}

	claims, err := client.VerifyIDToken(context.Background(), rawIDToken, nonce)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", claims.Subject)
	_, err = client.VerifyIDToken(context.Background(), rawIDToken, "another nonce")
	fmt.Println("replayed into another sign-in:", errors.Is(err, aries.ErrInvalidIDToken))
	// Output:
	// signed in: usr_ada
	// replayed into another sign-in: true
}
