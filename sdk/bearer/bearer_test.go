package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	issuer   = "https://auth.aries.test"
	audience = "https://api.aries.test"
)

var now = time.Unix(1_800_000_000, 0)

var quiet = slog.New(slog.DiscardHandler)

// authority plays the authorization server: it holds signing keys and
// serves the public ones as a JWKS, counting fetches.
type authority struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu        sync.Mutex
	keys      map[string]*ecdsa.PrivateKey
	failing   bool
	extraKeys []json.RawMessage
}

func newAuthority(t testing.TB) *authority {
	a := &authority{keys: map[string]*ecdsa.PrivateKey{}}
	a.addKey(t, "k1")
	a.srv = httptest.NewServer(http.HandlerFunc(a.serveJWKS))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authority) serveJWKS(w http.ResponseWriter, r *http.Request) {
	a.hits.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failing {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	keys := append([]json.RawMessage{}, a.extraKeys...)
	for kid, k := range a.keys {
		b, err := json.Marshal(jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"})
		if err != nil {
			panic(err)
		}
		keys = append(keys, b)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

func (a *authority) addKey(t testing.TB, kid string) *ecdsa.PrivateKey {
	k := newKey(t)
	a.mu.Lock()
	a.keys[kid] = k
	a.mu.Unlock()
	return k
}

func (a *authority) key(kid string) *ecdsa.PrivateKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys[kid]
}

func (a *authority) verifier(t testing.TB, clock func() time.Time) *Verifier {
	v, err := NewVerifier(Config{JWKSURL: a.srv.URL, Issuer: issuer, Audience: audience, Now: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func validClaims() map[string]any {
	return map[string]any{
		"iss":       issuer,
		"sub":       "usr_1",
		"aud":       []string{audience},
		"exp":       now.Add(15 * time.Minute).Unix(),
		"iat":       now.Unix(),
		"jti":       "at_1",
		"client_id": "aries_ci_app",
		"scope":     "account:information order:information",
		"auth_time": now.Add(-time.Minute).Unix(),
		"amr":       []string{"pwd", "otp"},
		"grant_id":  "gr_1",
	}
}

// sign makes an ES256 JWT with key under kid, header typ (omitted when
// empty) and claims.
func sign(t testing.TB, key *ecdsa.PrivateKey, kid, typ string, claims map[string]any) string {
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// with returns the valid claims changed by f.
func with(f func(map[string]any)) map[string]any {
	c := validClaims()
	f(c)
	return c
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hs256WithPublicKey is the algorithm-confusion attack: an HMAC token whose
// secret is the server's public key, which a verifier that takes "alg"
// from the token would accept.
func hs256WithPublicKey(t testing.TB, a *authority) string {
	der, err := x509.MarshalPKIXPublicKey(a.key("k1").Public())
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	input := b64(map[string]string{"alg": "HS256", "typ": "at+jwt", "kid": "k1"}) + "." + b64(validClaims())
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tampered is a valid token whose payload was replaced after signing.
func tampered(t testing.TB, a *authority) string {
	parts := strings.Split(sign(t, a.key("k1"), "k1", "at+jwt", validClaims()), ".")
	parts[1] = b64(with(func(c map[string]any) { c["scope"] = "funds:withdrawal" }))
	return strings.Join(parts, ".")
}

// protected serves "ok" behind v.Require(scope) and records the claims
// that reached the handler.
func protected(v *Verifier, scope string, got **Claims) http.Handler {
	return v.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims in context", http.StatusInternalServerError)
			return
		}
		*got = c
		w.Write([]byte("ok"))
	}))
}

func call(h http.Handler, target, authorization string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bodyError(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", w.Body, err)
	}
	if body.Description == "" {
		t.Errorf("body %q has no error_description", w.Body)
	}
	return body.Error
}

func TestRequire(t *testing.T) {
	a := newAuthority(t)
	k1 := a.key("k1")
	const invalidToken = `Bearer realm="aries", error="invalid_token", error_description="`
	tests := []struct {
		name          string
		authorization func() string // the Authorization header
		target        string        // request URL; "/" when empty
		scope         string        // the route's scope
		wantStatus    int
		wantChallenge string // WWW-Authenticate, or its prefix when ending in `description="`
		wantError     string // the body's error
	}{
		{
			name:          "valid token",
			authorization: func() string { return "Bearer " + sign(t, k1, "k1", "at+jwt", validClaims()) },
			scope:         "order:information",
			wantStatus:    200,
		},
		{
			name:          "scheme is case-insensitive and typ may be the full media type",
			authorization: func() string { return "bearer " + sign(t, k1, "k1", "application/AT+JWT", validClaims()) },
			wantStatus:    200,
		},
		{
			name: "expired within the leeway",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }))
			},
			wantStatus: 200,
		},
		{
			name:          "no token",
			authorization: func() string { return "" },
			wantStatus:    401,
			wantChallenge: `Bearer realm="aries"`,
			wantError:     "invalid_token",
		},
		{
			name:          "another scheme",
			authorization: func() string { return "Basic dXNlcjpwYXNz" },
			wantStatus:    401,
			wantChallenge: `Bearer realm="aries"`,
			wantError:     "invalid_token",
		},
		{
			name:          "token in the query string",
			authorization: func() string { return "" },
			target:        "/?access_token=" + sign(t, k1, "k1", "at+jwt", validClaims()),
			wantStatus:    400,
			wantChallenge: `Bearer realm="aries", error="invalid_request", error_description="`,
			wantError:     "invalid_request",
		},
		{
			name:          "garbage",
			authorization: func() string { return "Bearer not.a.jwt" },
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name: "alg none",
			authorization: func() string {
				return "Bearer " + b64(map[string]string{"alg": "none", "typ": "at+jwt", "kid": "k1"}) + "." + b64(validClaims()) + "."
			},
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name:          "HS256 signed with the public key",
			authorization: func() string { return "Bearer " + hs256WithPublicKey(t, a) },
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name:          "signed by another key under a published kid",
			authorization: func() string { return "Bearer " + sign(t, newKey(t), "k1", "at+jwt", validClaims()) },
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name:          "tampered payload",
			authorization: func() string { return "Bearer " + tampered(t, a) },
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name: "expired",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }))
			},
			wantStatus:    401,
			wantChallenge: invalidToken + `token expired"`,
			wantError:     "invalid_token",
		},
		{
			name: "no exp",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { delete(c, "exp") }))
			},
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name: "not valid yet",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }))
			},
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name: "issued in the future",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }))
			},
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name: "wrong audience",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { c["aud"] = "https://other.test" }))
			},
			wantStatus:    401,
			wantChallenge: invalidToken + `wrong audience"`,
			wantError:     "invalid_token",
		},
		{
			name: "wrong issuer",
			authorization: func() string {
				return "Bearer " + sign(t, k1, "k1", "at+jwt", with(func(c map[string]any) { c["iss"] = "https://evil.test" }))
			},
			wantStatus:    401,
			wantChallenge: invalidToken + `wrong issuer"`,
			wantError:     "invalid_token",
		},
		{
			name:          "typ JWT",
			authorization: func() string { return "Bearer " + sign(t, k1, "k1", "JWT", validClaims()) },
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name:          "no typ",
			authorization: func() string { return "Bearer " + sign(t, k1, "k1", "", validClaims()) },
			wantStatus:    401,
			wantChallenge: invalidToken,
			wantError:     "invalid_token",
		},
		{
			name:          "missing scope",
			authorization: func() string { return "Bearer " + sign(t, k1, "k1", "at+jwt", validClaims()) },
			scope:         "order:execution",
			wantStatus:    403,
			wantChallenge: `Bearer realm="aries", error="insufficient_scope", error_description="the access token lacks the scope order:execution", scope="order:execution"`,
			wantError:     "insufficient_scope",
		},
		{
			name:          "scope names are case-sensitive",
			authorization: func() string { return "Bearer " + sign(t, k1, "k1", "at+jwt", validClaims()) },
			scope:         "Order:Information",
			wantStatus:    403,
			wantChallenge: `Bearer realm="aries", error="insufficient_scope", error_description="`,
			wantError:     "insufficient_scope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Claims
			h := protected(a.verifier(t, func() time.Time { return now }), tt.scope, &got)
			target := tt.target
			if target == "" {
				target = "/"
			}
			w := call(h, target, tt.authorization())
			if w.Code != tt.wantStatus {
				t.Fatalf("got status %d, want %d (body %q)", w.Code, tt.wantStatus, w.Body)
			}
			challenge := w.Header().Get("WWW-Authenticate")
			if tt.wantStatus == 200 {
				if got == nil {
					t.Error("handler saw no claims")
				}
				return
			}
			if got != nil {
				t.Error("handler ran for a refused request")
			}
			if prefix, ok := strings.CutSuffix(tt.wantChallenge, `description="`); ok {
				if !strings.HasPrefix(challenge, tt.wantChallenge) {
					t.Errorf("got WWW-Authenticate %q, want prefix %q", challenge, prefix+`description="`)
				}
			} else if challenge != tt.wantChallenge {
				t.Errorf("got WWW-Authenticate %q, want %q", challenge, tt.wantChallenge)
			}
			if got := bodyError(t, w); got != tt.wantError {
				t.Errorf("got body error %q, want %q", got, tt.wantError)
			}
		})
	}
}

func TestClaimsInContext(t *testing.T) {
	a := newAuthority(t)
	var got *Claims
	h := protected(a.verifier(t, func() time.Time { return now }), "account:information", &got)
	w := call(h, "/", "Bearer "+sign(t, a.key("k1"), "k1", "at+jwt", validClaims()))
	if w.Code != 200 {
		t.Fatalf("got status %d, want 200 (body %q)", w.Code, w.Body)
	}
	want := &Claims{
		Issuer:   issuer,
		Subject:  "usr_1",
		Audience: []string{audience},
		ClientID: "aries_ci_app",
		Scopes:   []string{"account:information", "order:information"},
		AuthTime: time.Unix(now.Unix()-60, 0),
		AMR:      []string{"pwd", "otp"},
		JTI:      "at_1",
		GrantID:  "gr_1",
		Expiry:   time.Unix(now.Unix()+900, 0),
		IssuedAt: time.Unix(now.Unix(), 0),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got claims\n%+v\nwant\n%+v", got, want)
	}
}

func TestFromContextWithoutClaims(t *testing.T) {
	if c, ok := FromContext(context.Background()); ok || c != nil {
		t.Errorf("got %v, %v from an empty context, want nil, false", c, ok)
	}
}

func TestUnknownKeyRefetchIsBounded(t *testing.T) {
	a := newAuthority(t)
	clock := now
	v := a.verifier(t, func() time.Time { return clock })
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, a.key("k1"), "k1", "at+jwt", validClaims())); err != nil {
		t.Fatal(err)
	}
	if got := a.hits.Load(); got != 1 {
		t.Fatalf("got %d JWKS fetches after the first token, want 1", got)
	}

	// A flood of tokens naming unknown keys, some concurrent.
	forger := newKey(t)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, err := v.Verify(ctx, sign(t, forger, fmt.Sprintf("forged-%d", i), "at+jwt", validClaims()))
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("got %v for an unknown kid, want ErrInvalidToken", err)
			}
		})
	}
	wg.Wait()
	if got := a.hits.Load(); got != 1 {
		t.Errorf("got %d JWKS fetches within MinRefreshInterval of the last, want 1", got)
	}

	clock = now.Add(DefaultMinRefreshInterval)
	for range 20 {
		_, err := v.Verify(ctx, sign(t, forger, "forged", "at+jwt", validClaims()))
		var bad *InvalidTokenError
		if !errors.As(err, &bad) || bad.Reason != "unknown signing key" {
			t.Fatalf("got %v, want unknown signing key", err)
		}
	}
	if got := a.hits.Load(); got != 2 {
		t.Errorf("got %d JWKS fetches, want 2: one refetch once the interval passed", got)
	}
}

func TestKeyRotationWithoutRestart(t *testing.T) {
	a := newAuthority(t)
	clock := now
	v := a.verifier(t, func() time.Time { return clock })
	h := protected(v, "", new(*Claims))
	if w := call(h, "/", "Bearer "+sign(t, a.key("k1"), "k1", "at+jwt", validClaims())); w.Code != 200 {
		t.Fatalf("k1 token: got status %d, want 200", w.Code)
	}

	clock = now.Add(time.Minute)
	k2 := a.addKey(t, "k2")
	claims := with(func(c map[string]any) { c["iat"] = clock.Unix() })
	if w := call(h, "/", "Bearer "+sign(t, k2, "k2", "at+jwt", claims)); w.Code != 200 {
		t.Errorf("token signed by the new key k2: got status %d, want 200 (body %q)", w.Code, w.Body)
	}
	if w := call(h, "/", "Bearer "+sign(t, a.key("k1"), "k1", "at+jwt", validClaims())); w.Code != 200 {
		t.Errorf("token signed by the old key k1, still published: got status %d, want 200", w.Code)
	}
}

func TestBackgroundRefreshDropsRetiredKeys(t *testing.T) {
	a := newAuthority(t)
	var clock atomic.Int64
	clock.Store(now.Unix())
	v := a.verifier(t, func() time.Time { return time.Unix(clock.Load(), 0) })
	ctx := context.Background()
	old := sign(t, a.key("k1"), "k1", "at+jwt", with(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() }))
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}

	// The server retires k1. Until the cache is RefreshInterval old, k1
	// tokens still pass; the first one after triggers a background fetch.
	a.mu.Lock()
	delete(a.keys, "k1")
	a.mu.Unlock()
	clock.Store(now.Add(DefaultRefreshInterval).Unix())
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("k1 token while the cache is being refreshed: got %v, want it accepted", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.hits.Load() < 2 || v.refreshing.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("got %d JWKS fetches, want a background refresh", a.hits.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Verify(ctx, old); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("k1 token after the refresh: got %v, want ErrInvalidToken", err)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	a := newAuthority(t)
	a.failing = true
	v := a.verifier(t, func() time.Time { return now })
	token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrKeySetUnavailable) {
		t.Fatalf("got %v, want ErrKeySetUnavailable", err)
	}
	// Within MinRefreshInterval the failure is remembered, not retried, and
	// the client hears 503, not a 401 that would make it discard its token.
	w := call(protected(v, "", new(*Claims)), "/", "Bearer "+token)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("got status %d, want 503", w.Code)
	}
	if got := a.hits.Load(); got != 1 {
		t.Errorf("got %d JWKS fetches, want 1", got)
	}
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	a := newAuthority(t)
	a.extraKeys = []json.RawMessage{
		json.RawMessage(`{"kty":"oct","kid":"k-oct","k":"c2VjcmV0"}`),
		json.RawMessage(`{"kty":"XYZ","kid":"k-future"}`),
		json.RawMessage(`{"kty":"EC","kid":"k-broken","crv":"P-256","x":"AA","y":"AA"}`),
	}
	v := a.verifier(t, func() time.Time { return now })
	if _, err := v.Verify(context.Background(), sign(t, a.key("k1"), "k1", "at+jwt", validClaims())); err != nil {
		t.Errorf("got %v with unusable keys beside k1, want the k1 token accepted", err)
	}
}

func TestRevocationHook(t *testing.T) {
	a := newAuthority(t)
	token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
	tests := []struct {
		name       string
		revoked    func(context.Context, *Claims) (bool, error)
		wantStatus int
	}{
		{"not revoked", func(_ context.Context, c *Claims) (bool, error) { return c.JTI != "at_1", nil }, 200},
		{"revoked", func(_ context.Context, c *Claims) (bool, error) { return c.JTI == "at_1", nil }, 401},
		{"store down fails closed", func(context.Context, *Claims) (bool, error) { return false, errors.New("db down") }, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(Config{JWKSURL: a.srv.URL, Issuer: issuer, Audience: audience,
				Now: func() time.Time { return now }, Revoked: tt.revoked, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if w := call(protected(v, "", new(*Claims)), "/", "Bearer "+token); w.Code != tt.wantStatus {
				t.Errorf("got status %d, want %d", w.Code, tt.wantStatus)
			}
		})
	}
}

func TestNewVerifierRefusesBadConfig(t *testing.T) {
	ok := Config{JWKSURL: "https://auth.aries.test/.well-known/jwks.json", Issuer: issuer, Audience: audience}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no JWKS URL", func(c *Config) { c.JWKSURL = "" }},
		{"no issuer", func(c *Config) { c.Issuer = "" }},
		{"no audience", func(c *Config) { c.Audience = "" }},
		{"HMAC algorithm", func(c *Config) { c.Algorithms = []string{"ES256", "HS256"} }},
		{"alg none", func(c *Config) { c.Algorithms = []string{"none"} }},
	}
	for _, tt := range tests {
		cfg := ok
		tt.change(&cfg)
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: got no error, want one", tt.name)
		}
	}
	if _, err := NewVerifier(ok); err != nil {
		t.Errorf("valid config: got %v, want no error", err)
	}
}

// BenchmarkVerify is a client presenting the same token again, as it does
// with every call for the token's lifetime.
func BenchmarkVerify(b *testing.B) {
	a := newAuthority(b)
	v := a.verifier(b, func() time.Time { return now })
	token := sign(b, a.key("k1"), "k1", "at+jwt", validClaims())
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMiss is a token seen for the first time: more distinct
// tokens than the cache of verified tokens holds, in turn.
func BenchmarkVerifyMiss(b *testing.B) {
	a := newAuthority(b)
	v := a.verifier(b, func() time.Time { return now })
	tokens := make([]string, 2048)
	for i := range tokens {
		tokens[i] = sign(b, a.key("k1"), "k1", "at+jwt", with(func(c map[string]any) { c["jti"] = fmt.Sprint("at_", i) }))
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, tokens[0]); err != nil {
		b.Fatal(err)
	}
	i := 1
	for b.Loop() {
		if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestKeySetWithoutHTTP(t *testing.T) {
	a := newAuthority(t)
	var calls atomic.Int64
	keySet := func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		rec := httptest.NewRecorder()
		a.serveJWKS(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		return rec.Body.Bytes(), nil
	}
	clock := now
	v, err := NewVerifier(Config{KeySet: keySet, Issuer: issuer, Audience: audience, Now: func() time.Time { return clock }, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := v.Verify(ctx, sign(t, a.key("k1"), "k1", "at+jwt", validClaims())); err != nil {
			t.Fatalf("token signed by a key of the KeySet: got %v, want it accepted", err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("got %d KeySet calls for three tokens, want 1 (cached)", got)
	}
	// Unknown key ids are bounded exactly as with HTTP.
	for i := range 10 {
		v.Verify(ctx, sign(t, newKey(t), fmt.Sprintf("forged-%d", i), "at+jwt", validClaims()))
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("got %d KeySet calls after forged key ids within MinRefreshInterval, want 1", got)
	}
	// A key added later is found by the refetch an unknown kid triggers.
	clock = now.Add(DefaultMinRefreshInterval)
	k2 := a.addKey(t, "k2")
	if _, err := v.Verify(ctx, sign(t, k2, "k2", "at+jwt", validClaims())); err != nil {
		t.Errorf("token signed by a key added to the KeySet: got %v, want it accepted", err)
	}
	if got := a.hits.Load(); got != 2 {
		t.Errorf("got %d reads of the key set, want 2", got)
	}
}

func TestRequireAny(t *testing.T) {
	a := newAuthority(t)
	v := a.verifier(t, func() time.Time { return now })
	token := "Bearer " + sign(t, a.key("k1"), "k1", "at+jwt", validClaims()) // account:information order:information
	tests := []struct {
		scopes        []string
		wantStatus    int
		wantChallenge string
	}{
		{[]string{"account:information", "position:information"}, 200, ""},
		{[]string{"position:information", "account:information"}, 200, ""},
		{nil, 200, ""},
		{[]string{"position:information", "funds:withdrawal"}, 403,
			`Bearer realm="aries", error="insufficient_scope", error_description="the access token lacks one of the scopes position:information funds:withdrawal", scope="position:information funds:withdrawal"`},
	}
	for _, tt := range tests {
		var got *Claims
		h := v.RequireAny(tt.scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = FromContext(r.Context())
		}))
		w := call(h, "/", token)
		if w.Code != tt.wantStatus {
			t.Errorf("RequireAny(%q): got status %d, want %d", tt.scopes, w.Code, tt.wantStatus)
			continue
		}
		if challenge := w.Header().Get("WWW-Authenticate"); challenge != tt.wantChallenge {
			t.Errorf("RequireAny(%q): got WWW-Authenticate %q, want %q", tt.scopes, challenge, tt.wantChallenge)
		}
		if (got != nil) != (tt.wantStatus == 200) {
			t.Errorf("RequireAny(%q): handler ran = %t, want %t", tt.scopes, got != nil, tt.wantStatus == 200)
		}
	}
}

func TestUserID(t *testing.T) {
	tests := []struct {
		sub, clientID, want string
	}{
		{"usr_1", "aries_ci_app", "usr_1"},
		{"aries_ci_app", "aries_ci_app", ""}, // client_credentials: the client acts as itself
	}
	for _, tt := range tests {
		c := &Claims{Subject: tt.sub, ClientID: tt.clientID}
		if got := c.UserID(); got != tt.want {
			t.Errorf("UserID of sub %q client %q: got %q, want %q", tt.sub, tt.clientID, got, tt.want)
		}
	}
}
