package token_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/metrics"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/internal/token"
)

// The benchmarks below run the token endpoint's handler in process, over
// httptest, on a real SQLite store (durable commits included): the cost of
// one request with HTTP, the network and the rate limiter left out.
// cmd/aries-bench measures the same over loopback against a floor.

type benchEnv struct {
	*testenv.Env
	h        *token.Handler
	clientID string
	secret   string
	userID   string
}

func newBenchEnv(b *testing.B) *benchEnv {
	te := testenv.New(b, testenv.NoUser())
	user := te.NewUser(store.User{Email: "bench@example.com"}, "")
	c, sec := te.NewClient(store.Client{Name: "Bench",
		Scopes: []string{"user:information", "market:information", "order:execution"}})
	e := &benchEnv{Env: te, clientID: c.ID, secret: sec, userID: user.ID}
	e.h = &token.Handler{
		Store: te.Store, Hasher: te.Hasher, Clients: &clientauth.Authenticator{Store: te.Store, Hasher: te.Hasher},
		Tokens: &accesstoken.Minter{Keys: te.Keyring(), Issuer: "https://aries.example", Audience: "https://aries.example",
			TTL: 15 * time.Minute, Now: te.Clock.Now},
		RefreshTTL: 30 * 24 * time.Hour, Now: te.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
	}
	return e
}

// code stores a fresh authorization code for the bench user and returns it.
func (e *benchEnv) code(b *testing.B) string {
	code, _ := e.IssueCode(testenv.Code{ClientID: e.clientID, UserID: e.userID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"user:information", "market:information"}})
	return code
}

// post runs one token request through the handler and returns the
// recorder, failing the benchmark on anything but 200.
func (e *benchEnv) post(b *testing.B, form url.Values, basic bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		r.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.secret))
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("got status %d, want 200: %s", w.Code, w.Body)
	}
	return w
}

func BenchmarkClientCredentials(b *testing.B) {
	e := newBenchEnv(b)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}
	b.ReportAllocs()
	for b.Loop() {
		e.post(b, form, true)
	}
}

func BenchmarkAuthorizationCode(b *testing.B) {
	e := newBenchEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		code := e.code(b)
		b.StartTimer()
		e.post(b, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"https://app.example/cb"}, "client_id": {e.clientID}, "client_secret": {e.secret}}, false)
	}
}

func BenchmarkRefreshToken(b *testing.B) {
	e := newBenchEnv(b)
	rt := firstRefreshToken(b, e)
	b.ReportAllocs()
	for b.Loop() {
		w := e.post(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {e.clientID}, "client_secret": {e.secret}}, false)
		rt = refreshTokenOf(b, w)
	}
}

// BenchmarkRefreshTokenParallel rotates one family per goroutine, as a busy
// server does for many users at once; SQLite's single writer is shared.
func BenchmarkRefreshTokenParallel(b *testing.B) {
	e := newBenchEnv(b)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		rt := firstRefreshToken(b, e)
		for pb.Next() {
			w := e.post(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
				"client_id": {e.clientID}, "client_secret": {e.secret}}, false)
			rt = refreshTokenOf(b, w)
		}
	})
}

func firstRefreshToken(b *testing.B, e *benchEnv) string {
	w := e.post(b, url.Values{"grant_type": {"authorization_code"}, "code": {e.code(b)},
		"redirect_uri": {"https://app.example/cb"}, "client_id": {e.clientID}, "client_secret": {e.secret}}, false)
	return refreshTokenOf(b, w)
}

// refreshTokenOf reads refresh_token from a token response without a JSON
// decoder, so the benchmark measures the server, not its own parsing.
func refreshTokenOf(b *testing.B, w *httptest.ResponseRecorder) string {
	_, rest, ok := strings.Cut(w.Body.String(), `"refresh_token":"`)
	tok, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		b.Fatalf("no refresh_token in %s", w.Body)
	}
	return tok
}
