package clientauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

// benchAuthenticator returns an Authenticator over a store holding
// one confidential client, with that client's id and secret.
func benchAuthenticator(b *testing.B) (*clientauth.Authenticator, string, string) {
	e := testenv.New(b, testenv.NoUser())
	c, sec := e.NewClient(store.Client{Name: "Bench", Scopes: []string{"user:information", "market:information"}})
	return &clientauth.Authenticator{Store: e.Store, Hasher: e.Hasher}, c.ID, sec
}

// BenchmarkAuthenticate is client authentication as the token endpoint
// does it on every request: credentials from the request, the client row
// from the store, one keyed hash.
func BenchmarkAuthenticate(b *testing.B) {
	a, id, sec := benchAuthenticator(b)
	ctx := context.Background()
	b.Run("basic", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", nil)
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
		p := oauth.Params{"grant_type": "client_credentials"}
		b.ReportAllocs()
		for b.Loop() {
			if _, oerr := a.Authenticate(ctx, r, p); oerr != nil {
				b.Fatal(oerr)
			}
		}
	})
	b.Run("post", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", strings.NewReader(""))
		p := oauth.Params{"grant_type": "client_credentials", "client_id": id, "client_secret": sec}
		b.ReportAllocs()
		for b.Loop() {
			if _, oerr := a.Authenticate(ctx, r, p); oerr != nil {
				b.Fatal(oerr)
			}
		}
	})
	b.Run("wrong-secret", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", strings.NewReader(""))
		p := oauth.Params{"client_id": id, "client_secret": secret.New(secret.ClientSecretPrefix)}
		b.ReportAllocs()
		for b.Loop() {
			if _, oerr := a.Authenticate(ctx, r, p); oerr == nil {
				b.Fatal("a wrong secret authenticated")
			}
		}
	})
}

// acceptAll is a replay cache that finds every jti new, so one assertion
// can be verified again and again: the benchmark measures verification,
// not the cache (package replay's tests measure those).
type acceptAll struct{}

func (acceptAll) Use(context.Context, string, time.Time) (bool, error) { return true, nil }

// oneClient is a store of one client, read from memory.
type oneClient struct{ c store.Client }

func (o oneClient) Client(_ context.Context, id string) (store.Client, error) {
	if id != o.c.ID {
		return store.Client{}, store.ErrNotFound
	}
	return o.c, nil
}

// BenchmarkPrivateKeyJWT is the cost of authenticating a client by a
// private_key_jwt assertion, per algorithm: parsing the JWS, the client
// row from the store (SQLite), the claims, the signature with the cached
// keys. "no-store" reads the row from memory: the assertion's own cost.
// "jwks-parse" is what the key cache saves on every request: parsing
// the client's JWK Set.
func BenchmarkPrivateKeyJWT(b *testing.B) {
	e := testenv.New(b, testenv.NoUser())
	ctx := context.Background()
	for _, k := range []struct {
		name, key string
		alg       jose.SignatureAlgorithm
	}{{"ES256", "ec", jose.ES256}, {"EdDSA", "ed", jose.EdDSA}, {"PS256", "rsa", jose.PS256}} {
		c, _ := e.NewClient(store.Client{TokenEndpointAuthMethod: store.AuthPrivateKeyJWT, JWKS: jwks(b, k.key)})
		a := &clientauth.Authenticator{Store: e.Store, Hasher: e.Hasher, Issuer: issuer, Replay: acceptAll{}, Now: e.Now}
		p := assertionParams(newAssertion(c.ID, k.key, k.alg, e.Now()).sign(b))
		r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", nil)
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, oerr := a.Authenticate(ctx, r, p); oerr != nil {
					b.Fatal(oerr)
				}
			}
		})
		// The same without the store's round trip: what the assertion
		// itself costs.
		mem := &clientauth.Authenticator{Store: oneClient{c}, Hasher: e.Hasher, Issuer: issuer, Replay: acceptAll{}, Now: e.Now}
		b.Run(k.name+"/no-store", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, oerr := mem.Authenticate(ctx, r, p); oerr != nil {
					b.Fatal(oerr)
				}
			}
		})
		b.Run(k.name+"/jwks-parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := registry.ClientKeys(c.JWKS); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
