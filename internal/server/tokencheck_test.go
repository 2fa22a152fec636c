package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/josetest"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// TestIntrospectionAndAPIAgree: the server has one way to check an access
// token (package bearer), so introspection (RFC 7662) and the protected API
// accept and refuse exactly the same tokens. Each token goes through both
// mounted routes: a resource server introspecting it, and GET /v1/users/me
// presenting it (RFC 6750 section 2.1).
func TestIntrospectionAndAPIAgree(t *testing.T) {
	ctx := context.Background()
	e := testenv.New(t, testenv.NoUser())
	st := e.Store
	cfg := DefaultConfig()
	cfg.Issuer = "http://aries.test"
	cfg.PasswordParams = password.TestParams
	cfg.Now = e.Clock.Now
	s, err := New(ctx, cfg, st, st, e.Master, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	const (
		userID = "usr_ada"
		appID  = "aries_ci_app" // the client the tokens are issued to
		rsID   = "aries_ci_rs"  // a resource server: introspects any client's token
	)
	now := e.Now()
	e.NewUser(store.User{ID: userID, Email: "ada@example.com"}, "")
	var rsSecret string
	for _, c := range []store.Client{
		{ID: appID, Type: store.Confidential},
		{ID: rsID, Type: store.Confidential, ResourceServer: true},
	} {
		c.RedirectURIs, c.Scopes = []string{"https://app.example/cb"}, []string{"user:information"}
		if _, sec := e.NewClient(c); c.ID == rsID {
			rsSecret = sec
		}
	}

	// The server's own signing key, read from the store as a second
	// instance would, so the test can mint genuine tokens and near misses.
	ring := e.Keyring()
	kid, signer := ring.Signer()
	minter := func(issuer, audience string, at time.Time) *accesstoken.Minter {
		return &accesstoken.Minter{Keys: ring, Issuer: issuer, Audience: audience, TTL: 15 * time.Minute,
			Now: func() time.Time { return at }}
	}
	claims := protocol.Claims{Subject: userID, ClientID: appID, Scopes: []string{"user:information"}, AuthTime: now, AMR: []string{"pwd"}}
	mint := func(m *accesstoken.Minter, c protocol.Claims) string {
		t.Helper()
		tok, _, err := m.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := mint(minter(cfg.Issuer, cfg.Issuer, now), claims)
	parts := strings.Split(valid, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}

	widened := claims
	widened.Scopes = []string{"user:information", "funds:withdrawal"}
	_, widenedClaims, _ := minter(cfg.Issuer, cfg.Issuer, now).Mint(widened)
	widenedJSON, _ := json.Marshal(widenedClaims)

	noJTI := claims
	noJTI.Issuer, noJTI.Audience = cfg.Issuer, []string{cfg.Issuer}
	noJTI.IssuedAt, noJTI.Expiry = now, now.Add(15*time.Minute)
	noJTIJSON, _ := json.Marshal(noJTI)

	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ring.PublicKey(kid)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		token  string
		accept bool
	}{
		{"valid", valid, true},
		{"expired", mint(minter(cfg.Issuer, cfg.Issuer, now.Add(-time.Hour)), claims), false},
		{"wrong audience", mint(minter(cfg.Issuer, "https://other-api.example", now), claims), false},
		{"wrong issuer", mint(minter("https://evil.example", cfg.Issuer, now), claims), false},
		{"unknown kid", josetest.SignJWS(t, jose.ES256, stranger, "kid-nobody-knows", "at+jwt", payload), false},
		{"our kid, another key", josetest.SignJWS(t, jose.ES256, stranger, kid, "at+jwt", payload), false},
		{"alg none", b64JSON(t, map[string]string{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + parts[1] + ".", false},
		{"HS256 keyed with our public key", josetest.SignJWS(t, jose.HS256, pubDER, kid, "at+jwt", payload), false},
		{"typ JWT", josetest.SignJWS(t, jose.ES256, signer, kid, "JWT", payload), false},
		{"no typ", josetest.SignJWS(t, jose.ES256, signer, kid, "", payload), false},
		{"typ application/at+jwt", josetest.SignJWS(t, jose.ES256, signer, kid, "application/at+jwt", payload), true},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(widenedJSON) + "." + parts[2], false},
		{"signature removed", parts[0] + "." + parts[1] + ".", false},
		{"no jti", josetest.SignJWS(t, jose.ES256, signer, kid, "at+jwt", noJTIJSON), false},
		{"not a JWT", "aries_at_0123456789", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			active := introspectActive(t, s, rsID, rsSecret, tt.token)
			served := callAPI(t, s, tt.token)
			if active != served {
				t.Errorf("introspection says active=%v, the API accepted=%v: one validator must give one verdict", active, served)
			}
			if active != tt.accept || served != tt.accept {
				t.Errorf("introspection active=%v, API accepted=%v; want both %v", active, served, tt.accept)
			}
		})
	}
}

// introspectActive asks POST /v1/oauth2/introspect about tok as the resource
// server id, and returns "active".
func introspectActive(t *testing.T, s *Server, id, sec, tok string) bool {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("introspection: status %d, want 200\n%s", rec.Code, rec.Body)
	}
	var got protocol.IntrospectionResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("introspection body %q: %v", rec.Body, err)
	}
	return got.Active
}

// callAPI presents tok to GET /v1/users/me and reports whether it was
// served: 200, or 401 invalid_token (RFC 6750 section 3.1) when refused.
func callAPI(t *testing.T, s *Server, tok string) bool {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	switch {
	case rec.Code == http.StatusOK:
		return true
	case rec.Code == http.StatusUnauthorized && strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`):
		return false
	}
	t.Fatalf("API: status %d %q, want 200 or 401 invalid_token\n%s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	return false
}

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
