package clientauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
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
