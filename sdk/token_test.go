package aries_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/sdk"
)

func config(f *fakeAries) aries.Config {
	return aries.Config{ClientID: testClientID, ClientSecret: testSecret, APIURL: f.URL}
}

func currentUser(t *testing.T, c *aries.Client) error {
	t.Helper()
	var out map[string]any
	return c.Do(context.Background(), http.MethodGet, "/v1/users/me", nil, &out)
}

func TestRefreshTokenClientRefreshesAndStoresEveryRotation(t *testing.T) {
	f := newFakeAries(t)
	store := &aries.MemoryStore{}
	cfg := config(f)
	cfg.Store = store
	first := f.issueRefresh()
	c, err := aries.NewClientFromRefreshToken(cfg, first)
	if err != nil {
		t.Fatal(err)
	}
	if err := currentUser(t, c); err != nil {
		t.Fatalf("first call: %v", err)
	}
	saved, _ := store.Load(context.Background())
	if saved == nil || saved.RefreshToken == "" || saved.RefreshToken == first {
		t.Fatalf("stored token %+v: want the rotated refresh token", saved)
	}
	if saved.AccessToken == "" || saved.Expiry.IsZero() || saved.Scope == "" {
		t.Errorf("stored token %+v: want access token, expiry and scope", saved)
	}
	// The access token is fresh: more calls do not refresh.
	for range 3 {
		if err := currentUser(t, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("got %d refreshes, want 1", got)
	}
}

func TestProactiveRefreshBeforeExpiry(t *testing.T) {
	f := newFakeAries(t)
	f.expiresIn = 30 // expires in 30 s: inside the one-minute default window
	store := &aries.MemoryStore{}
	cfg := config(f)
	cfg.Store = store
	c, _ := aries.NewClientFromRefreshToken(cfg, f.issueRefresh())

	var rotated []string
	for range 3 {
		if err := currentUser(t, c); err != nil {
			t.Fatal(err)
		}
		saved, _ := store.Load(context.Background())
		rotated = append(rotated, saved.RefreshToken)
	}
	// Each call found a token expiring within the window and replaced it,
	// and each rotated refresh token reached the store.
	if got := f.refreshes.Load(); got != 3 {
		t.Errorf("got %d refreshes, want 3", got)
	}
	if rotated[0] == rotated[1] || rotated[1] == rotated[2] {
		t.Errorf("stored refresh tokens %q: want a new one after each refresh", rotated)
	}

	// With a window shorter than the lifetime the token is kept.
	f.refreshes.Store(0)
	cfg.EarlyRefresh = 10 * time.Second
	cfg.Store = nil
	c, _ = aries.NewClientFromRefreshToken(cfg, f.issueRefresh())
	for range 3 {
		if err := currentUser(t, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("EarlyRefresh 10s, lifetime 30s: got %d refreshes, want 1", got)
	}
}

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	f := newFakeAries(t)
	f.refreshDelay = 50 * time.Millisecond
	c, _ := aries.NewClientFromRefreshToken(config(f), f.issueRefresh())
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			var out map[string]any
			errs <- c.Do(context.Background(), http.MethodGet, "/v1/users/me", nil, &out)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a concurrent call failed: %v", err)
		}
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("100 concurrent calls made %d refreshes, want exactly 1", got)
	}
}

func TestRevokedRefreshTokenSurfacesClearly(t *testing.T) {
	f := newFakeAries(t)
	spent := f.issueRefresh()
	other, _ := aries.NewClient(config(f))
	if _, err := other.RefreshToken(context.Background(), spent); err != nil {
		t.Fatal(err)
	}
	c, _ := aries.NewClientFromRefreshToken(config(f), spent)
	for range 2 {
		err := currentUser(t, c)
		if !errors.Is(err, aries.ErrRefreshTokenRevoked) {
			t.Fatalf("got %v, want ErrRefreshTokenRevoked", err)
		}
		var apiErr *aries.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "invalid_grant" {
			t.Errorf("got %v, want the server's 400 invalid_grant as *aries.Error too", err)
		}
	}
	// A dead refresh token is not presented again and again.
	if got := f.refreshes.Load(); got != 2 {
		t.Errorf("got %d refresh requests, want 2 (one by RefreshToken, one by the client)", got)
	}
	// A new sign-in revives the client.
	if err := c.SetToken(context.Background(), &aries.Token{RefreshToken: f.issueRefresh()}); err != nil {
		t.Fatal(err)
	}
	if err := currentUser(t, c); err != nil {
		t.Errorf("after SetToken: %v", err)
	}
}

func TestStoredTokenWinsOverTheConstructorsOne(t *testing.T) {
	f := newFakeAries(t)
	spent := f.issueRefresh()
	latest, err := func() (*aries.Token, error) {
		c, _ := aries.NewClient(config(f))
		return c.RefreshToken(context.Background(), spent)
	}()
	if err != nil {
		t.Fatal(err)
	}
	store := &aries.MemoryStore{}
	store.Save(context.Background(), &aries.Token{RefreshToken: latest.RefreshToken})
	cfg := config(f)
	cfg.Store = store
	// A program restarted with the refresh token it was first given.
	c, _ := aries.NewClientFromRefreshToken(cfg, spent)
	if err := currentUser(t, c); err != nil {
		t.Fatalf("got %v, want the stored (latest) refresh token used", err)
	}
}

func TestClientCredentialsWithoutUserToken(t *testing.T) {
	f := newFakeAries(t)
	c, _ := aries.NewClient(config(f))
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Errorf("token %+v: want a client credentials access token without refresh token", tok)
	}
	if form, _ := f.form(); form["grant_type"][0] != "client_credentials" {
		t.Errorf("grant_type %q, want client_credentials", form["grant_type"])
	}

	public, _ := aries.NewClient(aries.Config{ClientID: testClientID, APIURL: f.URL})
	if _, err := public.Token(context.Background()); !errors.Is(err, aries.ErrNoToken) {
		t.Errorf("public client without token: got %v, want ErrNoToken", err)
	}
}

func TestBearerTokenIsSentAsIs(t *testing.T) {
	f := newFakeAries(t)
	signer, _ := aries.NewClient(config(f))
	tok, err := signer.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: f.URL}, tok.AccessToken)
	if err := currentUser(t, c); err != nil {
		t.Fatal(err)
	}
	hits := f.tokenHits.Load()
	bad, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: f.URL}, "not-a-token")
	err = currentUser(t, bad)
	var apiErr *aries.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_token" {
		t.Errorf("got %v, want 401 invalid_token", err)
	}
	if f.tokenHits.Load() != hits {
		t.Error("a bearer-token client called the token endpoint")
	}
}

func TestFailedProactiveRefreshKeepsTheLiveToken(t *testing.T) {
	f := newFakeAries(t)
	// Expiring in 30 s, inside the 1-minute window, but still valid.
	tok := &aries.Token{AccessToken: "at_live", RefreshToken: "rt_x", Expiry: time.Now().Add(30 * time.Second)}
	f.mu.Lock()
	f.access["at_live"] = tok.Expiry
	f.mu.Unlock()
	cfg := config(f)
	cfg.APIURL = f.URL
	down := httpClientFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/v1/oauth2/token" {
			return nil, errors.New("network down")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	cfg.HTTPClient = &http.Client{Transport: down}
	c, _ := aries.NewClientFromToken(cfg, tok)
	if err := currentUser(t, c); err != nil {
		t.Errorf("got %v, want the call made with the still-valid token", err)
	}
	// Once expired, the failure is the caller's.
	expired := &aries.Token{AccessToken: "at_old", RefreshToken: "rt_x", Expiry: time.Now().Add(-time.Second)}
	c, _ = aries.NewClientFromToken(cfg, expired)
	if err := currentUser(t, c); err == nil {
		t.Error("got no error, want the refresh failure")
	}
}

type httpClientFunc func(*http.Request) (*http.Response, error)

func (f httpClientFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTokenWaitRespectsContext(t *testing.T) {
	f := newFakeAries(t)
	f.refreshDelay = 300 * time.Millisecond
	c, _ := aries.NewClientFromRefreshToken(config(f), f.issueRefresh())
	go c.Token(context.Background()) // holds the refresh
	for deadline := time.Now().Add(10 * time.Second); f.refreshes.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first refresh did not reach the server within 10s")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 200*time.Millisecond {
		t.Errorf("waited %v for another goroutine's refresh, want the context's 20ms", waited)
	}
}

func TestUserSessionNeverBecomesTheApps(t *testing.T) {
	f := newFakeAries(t)
	ctx := context.Background()
	c, _ := aries.NewClient(config(f))
	if _, err := c.Token(ctx); err != nil { // the app's own token
		t.Fatal(err)
	}
	// A user signs in without a refresh token, and the token expires.
	expired := &aries.Token{AccessToken: "at_user", Expiry: time.Now().Add(-time.Minute)}
	if err := c.SetToken(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(ctx); !errors.Is(err, aries.ErrTokenExpired) {
		t.Errorf("got %v, want ErrTokenExpired rather than a token of the app", err)
	}
	// The same for a client built with the user's token.
	c, _ = aries.NewClientFromToken(config(f), expired)
	if _, err := c.Token(ctx); !errors.Is(err, aries.ErrTokenExpired) {
		t.Errorf("NewClientFromToken: got %v, want ErrTokenExpired", err)
	}
}

func TestAppTokensAreNotStored(t *testing.T) {
	f := newFakeAries(t)
	store := &aries.MemoryStore{}
	cfg := config(f)
	cfg.Store = store
	c, _ := aries.NewClient(cfg)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tok, _ := store.Load(context.Background()); tok != nil {
		t.Errorf("the store holds %+v, want nothing: it keeps a user's tokens", tok)
	}
}
