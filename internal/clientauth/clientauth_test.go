package clientauth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/josetest"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/replay"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

const (
	issuer   = testenv.Issuer
	tokenURL = issuer + "/v1/oauth2/token"
	parURL   = issuer + "/v1/oauth2/par"
)

// Keys are made once: an RSA key costs a noticeable fraction of a second.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{"ec": ec, "ec2": ec2, "ed": ed, "rsa": rs}
})

// jwks is the public JWK Set of the named test keys, each with its name as
// kid.
func jwks(t testing.TB, names ...string) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, n := range names {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: testKeys()[n].Public(), KeyID: n, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertion is a client assertion's parts, as a test varies them.
type assertion struct {
	key    string // a name of testKeys
	alg    jose.SignatureAlgorithm
	kid    string // "-" for none; "" for the key's name
	typ    string
	claims map[string]any
}

// newAssertion is a valid assertion of clientID signed with key name.
func newAssertion(clientID, key string, alg jose.SignatureAlgorithm, now time.Time) assertion {
	return assertion{key: key, alg: alg, claims: map[string]any{
		"iss": clientID, "sub": clientID, "aud": issuer,
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": base64.RawURLEncoding.EncodeToString(randomBytes()),
	}}
}

func randomBytes() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

func (as assertion) sign(t testing.TB) string {
	t.Helper()
	if as.alg == "Ed25519" {
		return as.signEd25519(t)
	}
	kid := as.kid
	switch kid {
	case "-":
		kid = ""
	case "":
		kid = as.key
	}
	var key any = testKeys()[as.key]
	if as.alg == jose.HS256 {
		key = []byte("a shared secret of thirty-two bytes!")
	}
	payload, err := json.Marshal(as.claims)
	if err != nil {
		t.Fatal(err)
	}
	return josetest.SignJWS(t, as.alg, key, kid, as.typ, payload)
}

// signEd25519 signs with the RFC 9864 name of EdDSA, which go-jose does
// not know: by hand, as RFC 7515 section 5.1 says.
func (as assertion) signEd25519(t testing.TB) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]string{"alg": "Ed25519", "kid": as.key})
	payload, err := json.Marshal(as.claims)
	if err != nil {
		t.Fatal(err)
	}
	input := enc(header) + "." + enc(payload)
	key, ok := testKeys()[as.key].(ed25519.PrivateKey)
	if !ok {
		// Signed with another kind of key: a signature no Ed25519 key checks.
		return input + "." + enc(randomBytes())
	}
	return input + "." + enc(ed25519.Sign(key, []byte(input)))
}

// env is an Authenticator over a real store with the clients the tests
// use, and the log it writes.
type env struct {
	*testenv.Env
	auth    *clientauth.Authenticator
	log     *bytes.Buffer
	secrets map[string]string
}

// Clients of every method.
const (
	pkjwt    = "aries_ci_pkjwt"    // private_key_jwt, keys ec, ed and rsa
	pkjwt2   = "aries_ci_pkjwt2"   // private_key_jwt, key ec2
	basicID  = "aries_ci_basic"    // client_secret_basic
	postID   = "aries_ci_post"     // client_secret_post
	eitherID = "aries_ci_either"   // confidential, no method chosen
	publicID = "aries_ci_public"   // none
	offID    = "aries_ci_disabled" // private_key_jwt, disabled
)

func newEnv(t *testing.T, opts ...testenv.Option) *env {
	t.Helper()
	te := testenv.New(t, append([]testenv.Option{testenv.NoUser()}, opts...)...)
	e := &env{Env: te, log: &bytes.Buffer{}, secrets: map[string]string{}}
	for _, c := range []store.Client{
		{ID: pkjwt, TokenEndpointAuthMethod: store.AuthPrivateKeyJWT, JWKS: jwks(t, "ec", "ed", "rsa")},
		{ID: pkjwt2, TokenEndpointAuthMethod: store.AuthPrivateKeyJWT, JWKS: jwks(t, "ec2")},
		{ID: basicID, TokenEndpointAuthMethod: store.AuthSecretBasic},
		{ID: postID, TokenEndpointAuthMethod: store.AuthSecretPost},
		{ID: eitherID},
		{ID: publicID, Type: store.Public, TokenEndpointAuthMethod: store.AuthNone},
		{ID: offID, TokenEndpointAuthMethod: store.AuthPrivateKeyJWT, JWKS: jwks(t, "ec"), Disabled: true},
	} {
		// Every confidential client gets a secret, the private_key_jwt ones
		// too, so a right secret sent the wrong way is tested.
		_, e.secrets[c.ID] = te.NewClient(c)
	}
	e.auth = &clientauth.Authenticator{
		Store: te.Store, Hasher: te.Hasher,
		Issuer: issuer, Audiences: []string{tokenURL, parURL},
		Now:    te.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.log, nil)),
	}
	return e
}

// call authenticates a request to the token endpoint with body params p
// and, when basic is set, Basic credentials id:basic.
func (e *env) call(path string, p oauth.Params, basic ...string) (clientauth.Result, *oauth.Error) {
	r := httptest.NewRequest(http.MethodPost, path, nil)
	if len(basic) == 2 {
		r.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return e.auth.Authenticate(context.Background(), r, p)
}

func assertionParams(a string) oauth.Params {
	return oauth.Params{"client_assertion_type": clientauth.AssertionType, "client_assertion": a}
}

// wantFail checks that oerr is the error (code, status) a case expects.
func wantFail(t *testing.T, oerr *oauth.Error, code string, status int) {
	t.Helper()
	if oerr == nil {
		t.Fatalf("authenticated; want %d %s", status, code)
	}
	if oerr.Code != code || oerr.Status != status {
		t.Fatalf("got %d %s (%s), want %d %s", oerr.Status, oerr.Code, oerr.Description, status, code)
	}
}

// TestPrivateKeyJWT is RFC 7523 section 3's checks and the algorithm
// allow-list, each case an assertion that differs from a valid one in one
// way.
func TestPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	now := e.Now()
	for _, tc := range []struct {
		name string
		edit func(*assertion)
		path string // default the token endpoint
		ok   bool
		why  string // in the log line of a refusal
	}{
		{name: "ES256", ok: true},
		{name: "EdDSA", edit: func(a *assertion) { a.key, a.alg = "ed", jose.EdDSA }, ok: true},
		{name: "PS256", edit: func(a *assertion) { a.key, a.alg = "rsa", jose.PS256 }, ok: true},
		{name: "Ed25519 (RFC 9864 name of EdDSA)", edit: func(a *assertion) { a.key, a.alg = "ed", "Ed25519" }, ok: true},
		{name: "no kid", edit: func(a *assertion) { a.kid = "-" }, ok: true},
		{name: "no kid, RSA", edit: func(a *assertion) { a.key, a.alg, a.kid = "rsa", jose.PS256, "-" }, ok: true},
		{name: "typ JWT", edit: func(a *assertion) { a.typ = "JWT" }, ok: true},
		{name: "typ client-authentication+jwt", edit: func(a *assertion) { a.typ = "client-authentication+jwt" }, ok: true},
		{name: "aud token endpoint", edit: func(a *assertion) { a.claims["aud"] = tokenURL }, ok: true},
		{name: "aud PAR endpoint", edit: func(a *assertion) { a.claims["aud"] = parURL }, ok: true},
		{name: "aud endpoint called", edit: func(a *assertion) { a.claims["aud"] = issuer + "/v1/oauth2/introspect" }, path: "/v1/oauth2/introspect", ok: true},
		{name: "aud list with issuer", edit: func(a *assertion) { a.claims["aud"] = []string{"https://other.example", issuer} }, ok: true},
		{name: "iat 10 s ahead", edit: func(a *assertion) { a.claims["iat"] = now.Add(10 * time.Second).Unix() }, ok: true},
		{name: "no iat", edit: func(a *assertion) { delete(a.claims, "iat") }, ok: true},
		{name: "exp 5 min ahead", edit: func(a *assertion) { a.claims["exp"] = now.Add(5 * time.Minute).Unix() }, ok: true},

		{name: "wrong iss", edit: func(a *assertion) { a.claims["iss"] = pkjwt2 }, why: "iss and sub"},
		{name: "no iss", edit: func(a *assertion) { delete(a.claims, "iss") }, why: "iss and sub"},
		{name: "wrong sub", edit: func(a *assertion) { a.claims["sub"] = pkjwt2 }, why: "iss and sub"},
		{name: "iss and sub another client", edit: func(a *assertion) { a.claims["iss"], a.claims["sub"] = pkjwt2, pkjwt2 }, why: "signature"},
		{name: "wrong aud", edit: func(a *assertion) { a.claims["aud"] = "https://other.example" }, why: "aud names"},
		{name: "aud another endpoint of the issuer", edit: func(a *assertion) { a.claims["aud"] = issuer + "/v1/oauth2/revoke" }, why: "aud names"},
		{name: "aud issuer's prefix", edit: func(a *assertion) { a.claims["aud"] = issuer + ".evil.example" }, why: "aud names"},
		{name: "no aud", edit: func(a *assertion) { delete(a.claims, "aud") }, why: "aud names"},
		{name: "expired", edit: func(a *assertion) { a.claims["exp"] = now.Add(-time.Second).Unix() }, why: "expired"},
		{name: "exp now", edit: func(a *assertion) { a.claims["exp"] = now.Unix() }, why: "expired"},
		{name: "exp too far", edit: func(a *assertion) { a.claims["exp"] = now.Add(5*time.Minute + time.Second).Unix() }, why: "more than 5 minutes"},
		{name: "no exp", edit: func(a *assertion) { delete(a.claims, "exp") }, why: "exp is missing"},
		{name: "iat 11 s ahead", edit: func(a *assertion) { a.claims["iat"] = now.Add(11 * time.Second).Unix() }, why: "iat is more than 10"},
		{name: "nbf 11 s ahead", edit: func(a *assertion) { a.claims["nbf"] = now.Add(11 * time.Second).Unix() }, why: "nbf is more than 10"},
		{name: "no jti", edit: func(a *assertion) { delete(a.claims, "jti") }, why: "jti is missing"},
		{name: "jti too long", edit: func(a *assertion) { a.claims["jti"] = strings.Repeat("j", 257) }, why: "jti is missing or too long"},
		{name: "unknown kid", edit: func(a *assertion) { a.kid = "nope" }, why: "signature"},
		{name: "kid of another key", edit: func(a *assertion) { a.kid = "ed" }, why: "signature"},
		{name: "unregistered key", edit: func(a *assertion) { a.key = "ec2" }, why: "signature"},
		{name: "unregistered key, no kid", edit: func(a *assertion) { a.key, a.kid = "ec2", "-" }, why: "signature"},
		{name: "Ed25519 name, EC kid", edit: func(a *assertion) { a.key, a.alg = "ec", "Ed25519" }, why: "signature"},
		{name: "RS256", edit: func(a *assertion) { a.key, a.alg = "rsa", jose.RS256 }, why: ""},
		{name: "HS256", edit: func(a *assertion) { a.alg = jose.HS256 }, why: ""},
		{name: "typ dpop+jwt", edit: func(a *assertion) { a.typ = "dpop+jwt" }, why: "typ must be"},
		{name: "typ at+jwt", edit: func(a *assertion) { a.typ = "at+jwt" }, why: "typ must be"},
		{name: "disabled client", edit: func(a *assertion) { a.claims["iss"], a.claims["sub"] = offID, offID }, why: "no such client, or disabled"},
		{name: "unknown client", edit: func(a *assertion) { a.claims["iss"], a.claims["sub"] = "aries_ci_nobody", "aries_ci_nobody" }, why: "no such client"},
		{name: "secret client", edit: func(a *assertion) { a.claims["iss"], a.claims["sub"] = eitherID, eitherID }, why: "does not authenticate with private_key_jwt"},
		{name: "public client", edit: func(a *assertion) { a.claims["iss"], a.claims["sub"] = publicID, publicID }, why: "does not authenticate with private_key_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAssertion(pkjwt, "ec", jose.ES256, now)
			if tc.edit != nil {
				tc.edit(&a)
			}
			path := tc.path
			if path == "" {
				path = "/v1/oauth2/token"
			}
			res, oerr := e.call(path, assertionParams(a.sign(t)))
			if !tc.ok {
				wantFail(t, oerr, oauth.InvalidClient, http.StatusUnauthorized)
				// The log says why, so each case fails for its own reason.
				if !strings.Contains(e.log.String(), tc.why) {
					t.Errorf("the log does not say %q:\n%s", tc.why, e.log)
				}
				e.log.Reset()
				return
			}
			if oerr != nil {
				t.Fatalf("refused: %v", oerr)
			}
			if res.Client.ID != pkjwt || res.Method != store.AuthPrivateKeyJWT {
				t.Errorf("got client %q method %q, want %q %q", res.Client.ID, res.Method, pkjwt, store.AuthPrivateKeyJWT)
			}
		})
	}
}

// TestAlgNone: an unsigned assertion is refused before any key is looked at.
func TestAlgNone(t *testing.T) {
	e := newEnv(t)
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(newAssertion(pkjwt, "ec", jose.ES256, e.Now()).claims)
	unsigned := enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "."
	_, oerr := e.call("/v1/oauth2/token", assertionParams(unsigned))
	wantFail(t, oerr, oauth.InvalidClient, http.StatusUnauthorized)
}

// TestAssertionReplay: a jti is accepted once, also once it is presented
// at another endpoint, until the assertion expires; another client's jti
// of the same value is its own.
func TestAssertionReplay(t *testing.T) {
	e := newEnv(t)
	a := newAssertion(pkjwt, "ec", jose.ES256, e.Now())
	a.claims["jti"] = "the-same-jti"
	raw := a.sign(t)
	if _, oerr := e.call("/v1/oauth2/token", assertionParams(raw)); oerr != nil {
		t.Fatalf("first use refused: %v", oerr)
	}
	_, oerr := e.call("/v1/oauth2/token", assertionParams(raw))
	wantFail(t, oerr, oauth.InvalidClient, http.StatusUnauthorized)
	_, oerr = e.call("/v1/oauth2/introspect", assertionParams(raw))
	wantFail(t, oerr, oauth.InvalidClient, http.StatusUnauthorized)
	// A new assertion with the used jti, other claims fresh.
	a.claims["iat"] = e.Now().Unix() + 1
	_, oerr = e.call("/v1/oauth2/token", assertionParams(a.sign(t)))
	wantFail(t, oerr, oauth.InvalidClient, http.StatusUnauthorized)

	other := newAssertion(pkjwt2, "ec2", jose.ES256, e.Now())
	other.claims["jti"] = "the-same-jti"
	if _, oerr := e.call("/v1/oauth2/token", assertionParams(other.sign(t))); oerr != nil {
		t.Fatalf("another client's jti refused: %v", oerr)
	}
	if !strings.Contains(e.log.String(), "level=WARN") || !strings.Contains(e.log.String(), "replayed") {
		t.Errorf("the replay was not logged as a security event:\n%s", e.log)
	}
	if strings.Contains(e.log.String(), raw) || strings.Contains(e.log.String(), strings.Split(raw, ".")[2]) {
		t.Errorf("the log holds the assertion:\n%s", e.log)
	}
}

// failingCache is a replay cache that cannot be reached.
type failingCache struct{}

func (failingCache) Use(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

// TestAssertionReplayCacheDown: an assertion that cannot be recorded is
// refused with a 503, never accepted unrecorded.
func TestAssertionReplayCacheDown(t *testing.T) {
	e := newEnv(t)
	e.auth.Replay = failingCache{}
	_, oerr := e.call("/v1/oauth2/token", assertionParams(newAssertion(pkjwt, "ec", jose.ES256, e.Now()).sign(t)))
	wantFail(t, oerr, oauth.ServerError, http.StatusServiceUnavailable)
}

// TestAssertionKeysChange: a client whose JWKS is replaced is checked with
// the new keys at once, although the old set was cached.
func TestAssertionKeysChange(t *testing.T) {
	e := newEnv(t)
	call := func(key string) *oauth.Error {
		_, oerr := e.call("/v1/oauth2/token", assertionParams(newAssertion(pkjwt2, key, jose.ES256, e.Now()).sign(t)))
		return oerr
	}
	if oerr := call("ec2"); oerr != nil {
		t.Fatalf("registered key refused: %v", oerr)
	}
	c, err := e.Store.Client(context.Background(), pkjwt2)
	if err != nil {
		t.Fatal(err)
	}
	c.JWKS = jwks(t, "ec")
	if err := e.Store.UpdateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	wantFail(t, call("ec2"), oauth.InvalidClient, http.StatusUnauthorized)
	if oerr := call("ec"); oerr != nil {
		t.Fatalf("the new key refused: %v", oerr)
	}
}

// TestMethods: each client authenticates the one way it is registered
// for; any other way is 401 invalid_client, even with the right secret.
func TestMethods(t *testing.T) {
	e := newEnv(t)
	goodAssertion := func(t *testing.T) oauth.Params {
		return assertionParams(newAssertion(pkjwt, "ec", jose.ES256, e.Now()).sign(t))
	}
	withID := func(p oauth.Params, id string) oauth.Params { p["client_id"] = id; return p }
	for _, tc := range []struct {
		name   string
		params func(t *testing.T) oauth.Params
		basic  []string
		method string // the Result's Method; "" when refused
		code   string
		status int
	}{
		{name: "basic client, Basic", params: nil, basic: []string{basicID, "basic"}, method: store.AuthSecretBasic},
		{name: "basic client, body", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": basicID, "client_secret": e.secrets[basicID]}
		}},
		{name: "post client, body", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": postID, "client_secret": e.secrets[postID]}
		}, method: store.AuthSecretPost},
		{name: "post client, Basic", basic: []string{postID, "post"}},
		{name: "unchosen, Basic", basic: []string{eitherID, "either"}, method: store.AuthSecretBasic},
		{name: "unchosen, body", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": eitherID, "client_secret": e.secrets[eitherID]}
		}, method: store.AuthSecretPost},
		{name: "private_key_jwt client, assertion", params: goodAssertion, method: store.AuthPrivateKeyJWT},
		{name: "private_key_jwt client, assertion and its client_id", params: func(t *testing.T) oauth.Params {
			return withID(goodAssertion(t), pkjwt)
		}, method: store.AuthPrivateKeyJWT},
		{name: "private_key_jwt client, assertion and another client_id", params: func(t *testing.T) oauth.Params {
			return withID(goodAssertion(t), pkjwt2)
		}},
		{name: "private_key_jwt client, secret in body", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": pkjwt, "client_secret": e.secrets[pkjwt]}
		}},
		{name: "private_key_jwt client, Basic", basic: []string{pkjwt, "pkjwt"}},
		{name: "private_key_jwt client, client_id only", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": pkjwt}
		}},
		{name: "public client, client_id", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": publicID}
		}, method: store.AuthNone},
		{name: "public client, a secret", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": publicID, "client_secret": e.secrets[basicID]}
		}},
		{name: "secret client, client_id only", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": eitherID}
		}},

		{name: "assertion and Basic", params: goodAssertion, basic: []string{pkjwt, "pkjwt"}, code: oauth.InvalidRequest, status: http.StatusBadRequest},
		{name: "assertion and client_secret", params: func(t *testing.T) oauth.Params {
			p := goodAssertion(t)
			p["client_secret"] = e.secrets[pkjwt]
			return p
		}, code: oauth.InvalidRequest, status: http.StatusBadRequest},
		{name: "assertion without its type", params: func(t *testing.T) oauth.Params {
			p := goodAssertion(t)
			delete(p, "client_assertion_type")
			return p
		}, code: oauth.InvalidRequest, status: http.StatusBadRequest},
		{name: "type without an assertion", params: func(*testing.T) oauth.Params {
			return oauth.Params{"client_id": pkjwt, "client_assertion_type": clientauth.AssertionType}
		}, code: oauth.InvalidRequest, status: http.StatusBadRequest},
		{name: "another assertion type", params: func(t *testing.T) oauth.Params {
			p := goodAssertion(t)
			p["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
			return p
		}},
		{name: "assertion not a JWS", params: func(*testing.T) oauth.Params { return assertionParams("not.a.jws") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := oauth.Params{}
			if tc.params != nil {
				p = tc.params(t)
			}
			var basic []string
			if tc.basic != nil {
				basic = []string{tc.basic[0], e.secrets[tc.basic[0]]}
			}
			res, oerr := e.call("/v1/oauth2/token", p, basic...)
			if tc.method == "" {
				code, status := tc.code, tc.status
				if code == "" {
					code, status = oauth.InvalidClient, http.StatusUnauthorized
				}
				wantFail(t, oerr, code, status)
				return
			}
			if oerr != nil {
				t.Fatalf("refused: %v", oerr)
			}
			if res.Method != tc.method {
				t.Errorf("got method %q, want %q", res.Method, tc.method)
			}
		})
	}
}

// TestAssertionReplayAcrossInstances: two instances, each with its own
// Authenticator over one database, share the replay cache the server
// gives them (package replay: the store's table, on PostgreSQL too with
// ARIES_TEST_POSTGRES_URL, or Redis with ARIES_TEST_REDIS_URL); an assertion accepted by one is refused by the
// other, and of concurrent uses on both exactly one wins.
func TestAssertionReplayAcrossInstances(t *testing.T) {
	e := newEnv(t)
	envs := map[string]*env{"sqlite": e, "redis": e}
	caches := map[string][2]clientauth.ReplayCache{
		"sqlite": {&replay.Store{Store: e.Store, Now: e.Now}, &replay.Store{Store: e.Store, Now: e.Now}},
	}
	if os.Getenv("ARIES_TEST_POSTGRES_URL") != "" {
		pg := newEnv(t, testenv.Postgres())
		envs["postgres"] = pg
		caches["postgres"] = [2]clientauth.ReplayCache{&replay.Store{Store: pg.Store, Now: pg.Now}, &replay.Store{Store: pg.Store, Now: pg.Now}}
	}
	if u := os.Getenv("ARIES_TEST_REDIS_URL"); u != "" {
		prefix := "aries:test:" + rand.Text() + ":"
		var pair [2]clientauth.ReplayCache
		for i := range pair {
			c, err := ratelimit.NewRedisClient(u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			pair[i] = replay.NewRedis(c, prefix)
		}
		caches["redis"] = pair
	}
	for name, pair := range caches {
		t.Run(name, func(t *testing.T) {
			e := envs[name]
			var instances [2]*clientauth.Authenticator
			for i := range instances {
				instances[i] = &clientauth.Authenticator{Store: e.Store, Hasher: e.Hasher, Issuer: issuer, Replay: pair[i], Now: e.Now}
			}
			call := func(i int, raw string) *oauth.Error {
				r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", nil)
				_, oerr := instances[i].Authenticate(context.Background(), r, assertionParams(raw))
				return oerr
			}
			raw := newAssertion(pkjwt, "ec", jose.ES256, e.Now()).sign(t)
			if oerr := call(0, raw); oerr != nil {
				t.Fatalf("instance 0: %v", oerr)
			}
			wantFail(t, call(1, raw), oauth.InvalidClient, http.StatusUnauthorized)

			raw = newAssertion(pkjwt, "ec", jose.ES256, e.Now()).sign(t)
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if call(i%2, raw) == nil {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d of 20 concurrent uses accepted, want 1", wins.Load())
			}
		})
	}
}
