package clientauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

// benchAuthenticator returns an Authenticator over a SQLite store holding
// one confidential client, with that client's id and secret.
func benchAuthenticator(b *testing.B) (*clientauth.Authenticator, string, string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "aries.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	h := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	id, sec := secret.ID(secret.ClientIDPrefix), secret.New(secret.ClientSecretPrefix)
	now := time.Now()
	c := store.Client{ID: id, Name: "Bench", Type: store.Confidential, SecretHash: h.Hash(sec),
		RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"user:information", "market:information"},
		CreatedAt: now, UpdatedAt: now}
	if err := st.CreateClient(ctx, c); err != nil {
		b.Fatal(err)
	}
	return &clientauth.Authenticator{Store: st, Hasher: h}, id, sec
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
