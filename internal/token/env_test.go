package token_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/introspect"
	"github.com/ariesexchange/aries/internal/metrics"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/internal/token"
	"github.com/ariesexchange/aries/sdk/bearer"
)

// redirectURI is the one redirect URI of the env's clients.
const redirectURI = "http://127.0.0.1:9/callback"

// client is a registered client and its secret ("" for a public one).
type client struct {
	ID, Secret string
}

// env is the token endpoint over a real store at a test clock, with the
// introspection endpoint beside it to look at what it issued, a user, a
// confidential and a public client, and a resource server that may
// introspect their tokens.
type env struct {
	*testenv.Env
	URL    string
	h      *token.Handler
	conf   client // read trade
	public client // read
	rs     client // a resource server
}

type options struct {
	rateLimitsOff bool
	accessTTL     time.Duration
}

// newEnv mounts the endpoints with the default rate limits (authentication
// 10 a minute) unless opts say otherwise.
func newEnv(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.accessTTL == 0 {
		o.accessTTL = 15 * time.Minute
	}
	e := &env{Env: testenv.New(t)}
	e.conf = e.client(t, store.Client{Name: "Backend app", Scopes: testenv.Scopes(t, "read trade")})
	e.public = e.client(t, store.Client{Name: "Mobile app", Type: store.Public, Scopes: testenv.Scopes(t, "read")})
	e.rs = e.client(t, store.Client{Name: "Orders API", ResourceServer: true, Scopes: testenv.Scopes(t, "read")})

	logger := slog.New(slog.DiscardHandler)
	clients := &clientauth.Authenticator{Store: e.Store, Hasher: e.Hasher}
	ring := e.Keyring()
	e.h = &token.Handler{
		Store: e.Store, Hasher: e.Hasher, Clients: clients,
		Tokens:     &accesstoken.Minter{Keys: ring, Issuer: testenv.Issuer, Audience: testenv.Issuer, TTL: o.accessTTL, Now: e.Clock.Now},
		RefreshTTL: 30 * 24 * time.Hour, Now: e.Clock.Now, Logger: logger, Metrics: metrics.New(),
		RateLimit: &ratelimit.Policy{Limiter: ratelimit.NewMemory(), Limits: ratelimit.DefaultLimits(),
			Disabled: o.rateLimitsOff, Now: e.Clock.Now, Logger: logger},
		IDTokens: &idtoken.Issuer{Keys: ring, Issuer: testenv.Issuer, TTL: o.accessTTL, Now: e.Clock.Now,
			Users: e.Store, Profiles: e.Store},
		RefreshGraceKey: e.Master.Keys().RefreshGrace,
	}
	verifier, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) },
		Issuer: testenv.Issuer, Audience: testenv.Issuer, Now: e.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ih := &introspect.Handler{Store: e.Store, Hasher: e.Hasher, Clients: clients, Tokens: verifier,
		Issuer: testenv.Issuer, Now: e.Clock.Now, Logger: logger}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/oauth2/token", e.h)
	mux.HandleFunc("POST /v1/oauth2/introspect", ih.Introspect)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

func rateLimitsOff(o *options) { o.rateLimitsOff = true }

// client registers c with the env's redirect URI.
func (e *env) client(t *testing.T, c store.Client) client {
	t.Helper()
	c.RedirectURIs = []string{redirectURI}
	stored, sec := e.NewClient(c)
	return client{ID: stored.ID, Secret: sec}
}

// code is what the authorization endpoint stores once the env's user has
// approved: scope read unless extra says otherwise ("scope", and
// "code_challenge" for PKCE).
func (e *env) code(t *testing.T, clientID string, extra url.Values) string {
	t.Helper()
	return e.codeFor(t, clientID, e.User.ID, extra)
}

func (e *env) codeFor(t *testing.T, clientID, userID string, extra url.Values) string {
	t.Helper()
	scopes := "read"
	if s := extra.Get("scope"); s != "" {
		scopes = s
	}
	code, _ := e.IssueCode(testenv.Code{ClientID: clientID, UserID: userID, RedirectURI: redirectURI,
		Scopes: testenv.Scopes(t, scopes), Challenge: extra.Get("code_challenge")})
	return code
}

func (e *env) token(t *testing.T, v url.Values, basic ...string) testenv.TokenAnswer {
	t.Helper()
	return testenv.Token(t, e.URL, v, basic...)
}

func (e *env) post(t *testing.T, path, contentType, body string, basic ...string) testenv.TokenAnswer {
	t.Helper()
	return testenv.PostToken(t, e.URL, path, contentType, body, basic...)
}

// exchange redeems a code of c.
func (e *env) exchange(t *testing.T, c client, code string) testenv.TokenAnswer {
	t.Helper()
	return e.token(t, url.Values{"grant_type": {"code"}, "client_id": {c.ID}, "client_secret": {c.Secret},
		"code": {code}, "redirect_uri": {redirectURI}})
}

// refresh spends refresh token tok of c, for scope when not "".
func (e *env) refresh(t *testing.T, c client, tok, scope string) testenv.TokenAnswer {
	t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {c.ID}, "client_secret": {c.Secret}, "refresh_token": {tok}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return e.token(t, v)
}

// introspect asks about tok as the resource server, which may introspect
// any client's tokens.
func (e *env) introspect(t *testing.T, tok string) testenv.Introspection {
	t.Helper()
	return testenv.Introspect(t, e.URL, e.rs.ID, e.rs.Secret, tok)
}

func pkcePair() (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte("a fixed 32-byte verifier for tests"))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}
