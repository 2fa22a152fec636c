package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	sdk "github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// The Go SDK against the whole server. (cmd/aries runs the SDK's complete
// example against `aries serve --demo`.)

// countingTransport counts the requests to the token endpoint.
type countingTransport struct{ tokenHits atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/v1/oauth2/token" {
		c.tokenHits.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// sdkFixture is newFixture whose confidential client may hold every bundle.
func sdkFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	f := newEmptyFixture(t, testenv.New(t))
	f.userID, f.email, f.password = f.User.ID, f.User.Email, testenv.Password
	f.conf = f.newClient(t, store.Client{Name: "Backend app"}, "read trade withdraw")
	f.public = f.newClient(t, store.Client{Name: "Mobile app", Type: store.Public}, "read")
	f.rs = f.newClient(t, store.Client{Name: "Orders API", ResourceServer: true}, "read")
	f.URL, f.server = serve(t, f.Env, opts...)
	return f
}

func (f *fixture) sdkConfig(c client, scopes ...string) (sdk.Config, *countingTransport) {
	ct := &countingTransport{}
	return sdk.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: f.redirectURI,
		Scopes: scopes, APIURL: f.URL, HTTPClient: &http.Client{Transport: ct, Timeout: 30 * time.Second}}, ct
}

// signIn sends the browser to the SDK's authorization URL and returns the
// code, checking the state on the way back.
func (f *fixture) signIn(t *testing.T, c *sdk.Client, opts ...sdk.AuthOption) string {
	t.Helper()
	state := sdk.GenerateState()
	u, err := url.Parse(c.AuthorizationURL(state, opts...))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.URL+"/oauth2/authorize" {
		t.Fatalf("authorization endpoint %s, want %s/oauth2/authorize", got, f.URL)
	}
	back := f.authorize(t, testenv.Browser(t), u.Query()).Query()
	if back.Get("state") != state || back.Get("code") == "" {
		t.Fatalf("redirect %v: want a code and state %s", back, state)
	}
	return back.Get("code")
}

func TestSDKCodeFlowWithSecret(t *testing.T) {
	f := sdkFixture(t)
	ctx := context.Background()
	cfg, _ := f.sdkConfig(f.conf, "read", "trade")
	app, err := sdk.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := app.ExchangeCode(ctx, f.signIn(t, app))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.ExpiresIn != 900 || !strings.Contains(tok.Scope, "order:execution") {
		t.Errorf("token %+v: want a refresh token, 15 minutes and the expanded scopes", tok)
	}
	if in := f.introspect(t, tok.AccessToken); !in.Active || in.Sub != f.userID || in.ClientID != f.conf.ClientID {
		t.Errorf("introspection %+v: want the user's active token", in)
	}

	// The code works once; the SDK reports the server's answer.
	code := f.signIn(t, app)
	if _, err := app.ExchangeCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	_, err = app.ExchangeCode(ctx, code)
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "invalid_grant" {
		t.Errorf("reused code: got %v, want 400 invalid_grant", err)
	}

	// A wrong secret is invalid_client, and it does not burn the code:
	// the SDK sends it once, in the body, without x/oauth2's second try.
	code = f.signIn(t, app)
	bad := cfg
	bad.ClientSecret = "aries_cs_wrong"
	badApp, _ := sdk.NewClient(bad)
	_, err = badApp.ExchangeCode(ctx, code)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_client" {
		t.Errorf("wrong secret: got %v, want 401 invalid_client", err)
	}
	if _, err := app.ExchangeCode(ctx, code); err != nil {
		t.Errorf("the code after a failed client authentication: %v", err)
	}

	// Revoking the refresh token ends the sign-in.
	if err := app.Revoke(ctx, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := app.RefreshToken(ctx, tok.RefreshToken); !errors.Is(err, sdk.ErrRefreshTokenRevoked) {
		t.Errorf("refresh after revocation: got %v, want ErrRefreshTokenRevoked", err)
	}
}

func TestSDKCodeFlowWithPKCE(t *testing.T) {
	f := sdkFixture(t)
	ctx := context.Background()
	cfg, _ := f.sdkConfig(f.public, "read")
	app, _ := sdk.NewClient(cfg)
	verifier := sdk.GenerateVerifier()
	code := f.signIn(t, app, sdk.WithPKCE(verifier))
	if _, err := app.ExchangeCode(ctx, code, sdk.WithPKCE(sdk.GenerateVerifier())); err == nil {
		t.Fatal("a wrong verifier was accepted")
	}
	code = f.signIn(t, app, sdk.WithPKCE(verifier))
	tok, err := app.ExchangeCode(ctx, code, sdk.WithPKCE(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if in := f.introspect(t, tok.AccessToken); !in.Active || in.ClientID != f.public.ClientID {
		t.Errorf("introspection %+v: want an active token of the public client", in)
	}
	// A public client refreshes with its id alone.
	user, _ := sdk.NewClientFromRefreshToken(cfg, tok.RefreshToken)
	if _, err := user.Token(ctx); err != nil {
		t.Errorf("refresh by the public client: %v", err)
	}
}

// The SDK refreshes a token that is due (within EarlyRefresh of its
// Expiry) once, however many goroutines ask, and hands every rotated
// refresh token to its Store. The SDK decides "due" on its own clock from
// Token.Expiry, so the test gives it a token that is due instead of
// waiting for one to become due.
func TestSDKAutoRefreshStoresEveryRotation(t *testing.T) {
	// A fresh token stays out of the early-refresh window for minutes, so
	// however slowly the 100 goroutines below run (the race detector on a
	// busy machine), exactly one refresh is due.
	f := sdkFixture(t, rateLimit("user=1000/1m"), func(c *Config) { c.AccessTokenTTL = 10 * time.Minute })
	ctx := context.Background()
	cfg, ct := f.sdkConfig(f.conf, "read")
	cfg.EarlyRefresh = time.Minute
	tokenFile := filepath.Join(t.TempDir(), "token.json")
	cfg.Store = sdk.NewFileStore(tokenFile)
	app, _ := sdk.NewClient(cfg)
	first, err := app.ExchangeCode(ctx, f.signIn(t, app))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.SetToken(ctx, first); err != nil {
		t.Fatal(err)
	}
	if tok, _ := app.Token(ctx); tok.AccessToken != first.AccessToken {
		t.Error("a fresh token was replaced")
	}

	// The first token is now within the one-minute window.
	due := *first
	due.Expiry = time.Now().Add(cfg.EarlyRefresh - time.Second)
	if err := app.SetToken(ctx, &due); err != nil {
		t.Fatal(err)
	}
	hits := ct.tokenHits.Load()
	var wg sync.WaitGroup
	got := make([]string, 100)
	for i := range got {
		wg.Go(func() {
			if _, err := app.Users.Current(ctx); err != nil {
				t.Errorf("goroutine %d: %v", i, err)
				return
			}
			tok, err := app.Token(ctx)
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
				return
			}
			got[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if n := ct.tokenHits.Load() - hits; n != 1 {
		t.Errorf("100 goroutines during the expiry made %d refresh requests, want exactly 1", n)
	}
	for i := range got {
		if got[i] != got[0] || got[i] == first.AccessToken {
			t.Fatalf("goroutine %d got %.12s..., want the one new token %.12s...", i, got[i], got[0])
		}
	}

	// The rotated refresh token reached the store, on disk, and is the
	// only live one: the first is spent.
	saved, err := sdk.NewFileStore(tokenFile).Load(ctx)
	if err != nil || saved == nil || saved.RefreshToken == first.RefreshToken || saved.AccessToken != got[0] {
		t.Fatalf("stored token %+v, %v: want the rotated one", saved, err)
	}
	if in := f.introspect(t, saved.AccessToken); !in.Active || in.Sub != f.userID {
		t.Errorf("introspection of the refreshed token %+v: want active for the user", in)
	}

	// A later run of the program, once the stored access token is due,
	// starts from the stored token.
	later := cfg
	later.EarlyRefresh = 11 * time.Minute // the stored token (ten minutes) is due at once
	restarted, _ := sdk.NewClientFromRefreshToken(later, first.RefreshToken)
	hits = ct.tokenHits.Load()
	if _, err := restarted.Token(ctx); err != nil {
		t.Errorf("restarted client: %v (it must use the stored refresh token, not the spent one)", err)
	}
	if n := ct.tokenHits.Load() - hits; n != 1 {
		t.Errorf("restarted client made %d refresh requests, want 1", n)
	}
}

// userClient signs the fixture's user in with the confidential client and
// returns an SDK client acting for them.
func (f *fixture) userClient(t *testing.T, scopes ...string) *sdk.Client {
	t.Helper()
	cfg, _ := f.sdkConfig(f.conf, scopes...)
	app, _ := sdk.NewClient(cfg)
	tok, err := app.ExchangeCode(context.Background(), f.signIn(t, app))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sdk.NewClientFromToken(cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != status || apiErr.Code != code {
		t.Errorf("got %v, want %d %s", err, status, code)
	}
}

func TestSDKSandboxServices(t *testing.T) {
	f := sdkFixture(t)
	ctx := context.Background()
	c := f.userClient(t, "read", "trade", "withdraw")

	user, err := c.Users.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if user.ID != f.userID || user.Email != f.email || user.CreatedAt.IsZero() {
		t.Errorf("current user %+v: want %s %s", user, f.userID, f.email)
	}
	name, phone := "Ada Lovelace", "+14155550123"
	updated, err := c.Users.Update(ctx, protocol.ProfileUpdate{DisplayName: &name, Phone: &phone})
	if err != nil {
		t.Fatal(err)
	}
	profile, err := c.Users.Profile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if profile.DisplayName != name || profile.Phone != phone || profile.UpdatedAt == nil || updated.DisplayName != name {
		t.Errorf("profile %+v after the update: want %q %q", profile, name, phone)
	}

	accounts, err := c.Users.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts %+v, %v: want the paper account", accounts, err)
	}
	acc := accounts[0].ID
	before, err := c.Accounts.Balances(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	if before.Cash != protocol.Dollars(100_000, 0) || before.Currency != "USD" {
		t.Errorf("balances %+v: want $100,000.00 of cash", before)
	}

	// An order placed twice with one Idempotency-Key executes once.
	buy := protocol.PlaceOrderRequest{AccountID: acc, Symbol: "AAPL", Side: protocol.Buy, Quantity: 10}
	first, err := c.Orders.Place(ctx, buy, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Orders.Place(ctx, buy, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != protocol.OrderFilled || first.FilledPrice == nil || again.ID != first.ID {
		t.Errorf("orders %+v and %+v: want one filled order", first, again)
	}
	positions, err := c.Accounts.Positions(ctx, acc)
	if err != nil || len(positions) != 1 || positions[0].Symbol != "AAPL" || positions[0].Quantity != 10 {
		t.Errorf("positions %+v, %v: want 10 AAPL", positions, err)
	}

	// A limit order far below the price rests; it can be changed and
	// cancelled once. (A second later, so that it lists first.)
	f.Clock.Add(time.Second)
	low := protocol.Dollars(1, 0)
	resting, err := c.Orders.Place(ctx, protocol.PlaceOrderRequest{Symbol: "MSFT", Side: protocol.Buy,
		Type: protocol.Limit, Quantity: 5, LimitPrice: &low}, "")
	if err != nil || resting.Status != protocol.OrderOpen {
		t.Fatalf("limit order %+v, %v: want open", resting, err)
	}
	qty := int64(7)
	changed, err := c.Orders.Modify(ctx, protocol.ModifyOrderRequest{OrderID: resting.ID, Quantity: &qty})
	if err != nil || changed.Quantity != 7 || changed.Status != protocol.OrderOpen {
		t.Errorf("modified order %+v, %v: want 7 shares, open", changed, err)
	}
	cancelled, err := c.Orders.Cancel(ctx, resting.ID)
	if err != nil || cancelled.Status != protocol.OrderCancelled || cancelled.CancelledAt == nil {
		t.Errorf("cancelled order %+v, %v: want cancelled", cancelled, err)
	}
	_, err = c.Orders.Cancel(ctx, resting.ID)
	wantAPIError(t, err, http.StatusConflict, protocol.ErrOrderNotOpen)

	orders, err := c.Orders.List(ctx, acc, sdk.ListOrdersOptions{})
	if err != nil || len(orders) != 2 || orders[0].ID != resting.ID {
		t.Errorf("orders %+v, %v: want the two orders, newest first", orders, err)
	}
	filled, err := c.Orders.List(ctx, acc, sdk.ListOrdersOptions{Status: protocol.OrderFilled, Limit: 10})
	if err != nil || len(filled) != 1 || filled[0].ID != first.ID {
		t.Errorf("filled orders %+v, %v: want the market order", filled, err)
	}

	wd, err := c.Withdrawals.Create(ctx, acc, protocol.Dollars(250, 0), "wd-1")
	if err != nil || wd.Amount != protocol.Dollars(250, 0) || wd.Status != "completed" {
		t.Fatalf("withdrawal %+v, %v: want $250.00 completed", wd, err)
	}
	after, err := c.Accounts.Balances(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	if want := before.Cash - protocol.Cents(10)*(*first.FilledPrice) - protocol.Dollars(250, 0); after.Cash != want {
		t.Errorf("cash %s after the order and the withdrawal, want %s", after.Cash, want)
	}
	_, err = c.Withdrawals.Create(ctx, acc, protocol.Dollars(1_000_000, 0), "")
	wantAPIError(t, err, http.StatusUnprocessableEntity, protocol.ErrInsufficientFunds)

	// Scopes and identities the API refuses.
	reader := f.userClient(t, "read")
	_, err = reader.Orders.Place(ctx, buy, "")
	wantAPIError(t, err, http.StatusForbidden, protocol.ErrInsufficientScope)
	cfg, _ := f.sdkConfig(f.conf, "read")
	app, _ := sdk.NewClient(cfg) // client credentials: acts for no user
	_, err = app.Users.Current(ctx)
	wantAPIError(t, err, http.StatusForbidden, protocol.ErrUserRequired)
	bogus, _ := sdk.NewClientFromBearerToken(sdk.Config{APIURL: f.URL}, "not-a-token")
	_, err = bogus.Users.Current(ctx)
	wantAPIError(t, err, http.StatusUnauthorized, protocol.ErrInvalidToken)
}

// The SDK's wire types hold every field the server sends: decoding the
// server's answers strictly into them fails on a field they lack.
func TestSDKProtocolTypesMatchTheServer(t *testing.T) {
	f := sdkFixture(t)
	ctx := context.Background()
	c := f.userClient(t, "read", "trade", "withdraw")
	accounts, err := c.Users.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc := accounts[0].ID
	limit := protocol.Dollars(1, 0)
	tests := []struct {
		method, path string
		body         any
		into         any
	}{
		{"GET", "/v1/users/me", nil, &protocol.User{}},
		{"GET", "/v1/users/me/profile", nil, &protocol.Profile{}},
		{"PATCH", "/v1/users/me", map[string]string{"display_name": "Ada"}, &protocol.Profile{}},
		{"GET", "/v1/users/me/accounts", nil, &protocol.AccountList{}},
		{"GET", "/v1/accounts/" + acc + "/balances", nil, &protocol.Balances{}},
		{"POST", "/v1/orders", protocol.PlaceOrderRequest{Symbol: "AAPL", Side: protocol.Buy, Quantity: 1}, &protocol.Order{}},
		{"POST", "/v1/orders", protocol.PlaceOrderRequest{Symbol: "MSFT", Side: protocol.Buy, Type: protocol.Limit, Quantity: 1, LimitPrice: &limit}, &protocol.Order{}},
		{"GET", "/v1/accounts/" + acc + "/positions", nil, &protocol.PositionList{}},
		{"GET", "/v2/accounts/" + acc + "/orders", nil, &protocol.OrderList{}},
		{"POST", "/v1/accounts/" + acc + "/withdrawals", protocol.WithdrawalRequest{Amount: 100}, &protocol.Withdrawal{}},
	}
	for _, tt := range tests {
		var raw json.RawMessage
		if err := c.Do(ctx, tt.method, tt.path, tt.body, &raw); err != nil {
			t.Errorf("%s %s: %v", tt.method, tt.path, err)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(tt.into); err != nil {
			t.Errorf("%s %s: %v\n%s", tt.method, tt.path, err, raw)
		}
	}
	// The token endpoint's answers too.
	cfg, _ := f.sdkConfig(f.conf, "read")
	app, _ := sdk.NewClient(cfg)
	exchange := url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID},
		"client_secret": {f.conf.ClientSecret}, "code": {f.signIn(t, app)}, "redirect_uri": {f.redirectURI}}
	strictPost(t, f.URL+"/v1/oauth2/token", exchange, http.StatusOK, &protocol.TokenResponse{})
	strictPost(t, f.URL+"/v1/oauth2/token", exchange, http.StatusBadRequest, &protocol.ErrorResponse{})
}

// strictPost posts a form and decodes the answer into v, refusing fields v
// lacks.
func strictPost(t *testing.T, u string, form url.Values, status int, v any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("POST %s: status %d, want %d", u, resp.StatusCode, status)
	}
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("POST %s: %v", u, err)
	}
}

func TestSDKFirstPartySignInWithMFA(t *testing.T) {
	f := newEmptyFixture(t, testenv.New(t, testenv.NoUser()))
	const pw = testenv.Password
	f.NewUser(store.User{Email: "plain@example.com"}, pw)
	mfaUser := f.newMFAUser(t, "mfa@example.com")
	app := f.newClient(t, store.Client{Name: "Aries app", FirstParty: true}, "read trade")
	third := f.newClient(t, store.Client{Name: "Third party"}, "read")
	f.rs = f.newClient(t, store.Client{Name: "Orders API", ResourceServer: true}, "read")
	f.URL, f.server = serve(t, f.Env)
	ctx := context.Background()
	cfg := sdk.Config{ClientID: app.ClientID, ClientSecret: app.ClientSecret, APIURL: f.URL, Scopes: []string{"read"}}

	signIn := func(email, password string, opts ...sdk.AuthOption) (*sdk.Client, *sdk.SignInResult, error) {
		c, _ := sdk.NewClient(cfg)
		res, err := c.SignIn(ctx, sdk.SignInRequest{Email: email, Password: password, Options: opts})
		return c, res, err
	}

	t.Run("user without MFA", func(t *testing.T) {
		c, res, err := signIn("plain@example.com", pw)
		if err != nil || res.MFARequired || res.AuthorizationCode == "" {
			t.Fatalf("got %+v, %v; want a code", res, err)
		}
		tok, err := c.ExchangeCode(ctx, res.AuthorizationCode)
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(ctx, tok)
		if u, err := c.Users.Current(ctx); err != nil || u.Email != "plain@example.com" {
			t.Errorf("current user %+v, %v", u, err)
		}
	})

	t.Run("user with MFA, PKCE", func(t *testing.T) {
		verifier := sdk.GenerateVerifier()
		c, res, err := signIn("mfa@example.com", mfaUser.password, sdk.WithPKCE(verifier))
		if err != nil || !res.MFARequired || res.SessionToken == "" || res.AuthorizationCode != "" {
			t.Fatalf("got %+v, %v; want MFARequired with a session token", res, err)
		}
		if res.SessionExpiresIn != 5*time.Minute {
			t.Errorf("session lives %v, want 5m", res.SessionExpiresIn)
		}
		code := mfaUser.code(t, 0)
		wrong := string('0'+(code[0]-'0'+1)%10) + code[1:]
		_, err = c.VerifyMFA(ctx, res.SessionToken, wrong)
		wantAPIError(t, err, http.StatusBadRequest, protocol.ErrInvalidMFACode)

		verified, err := c.VerifyMFA(ctx, res.SessionToken, code)
		if err != nil || verified.AuthorizationCode == "" {
			t.Fatalf("right code: got %+v, %v; want a code", verified, err)
		}
		tok, err := c.ExchangeCode(ctx, verified.AuthorizationCode, sdk.WithPKCE(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if in := f.introspect(t, tok.AccessToken); !in.Active || in.Sub != mfaUser.ID || !slices.Contains(in.AMR, "otp") {
			t.Errorf("introspection %+v: want the MFA user's token with amr otp", in)
		}
		// The session token worked once, and the TOTP code too.
		_, err = c.VerifyMFA(ctx, res.SessionToken, code)
		wantAPIError(t, err, http.StatusBadRequest, protocol.ErrInvalidGrant)
		_, again, _ := signIn("mfa@example.com", mfaUser.password)
		_, err = c.VerifyMFA(ctx, again.SessionToken, code)
		wantAPIError(t, err, http.StatusBadRequest, protocol.ErrInvalidMFACode)
	})

	t.Run("wrong password", func(t *testing.T) {
		_, _, err := signIn("mfa@example.com", "wrong password")
		wantAPIError(t, err, http.StatusUnauthorized, protocol.ErrAccessDenied)
		_, _, err = signIn("nobody@example.com", pw)
		wantAPIError(t, err, http.StatusUnauthorized, protocol.ErrAccessDenied)
	})

	t.Run("a third-party client may not", func(t *testing.T) {
		c, _ := sdk.NewClient(sdk.Config{ClientID: third.ClientID, ClientSecret: third.ClientSecret, APIURL: f.URL})
		_, err := c.SignIn(ctx, sdk.SignInRequest{Email: "plain@example.com", Password: pw})
		wantAPIError(t, err, http.StatusBadRequest, protocol.ErrUnauthorizedClient)
	})
}

// statusCounter counts the answers 429 of the API.
type statusCounter struct{ limited atomic.Int64 }

func (c *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.limited.Add(1)
	}
	return resp, err
}

// The server's 429 answers, with their Retry-After, drive the SDK's retry.
// The SDK waits the Retry-After in real time (its clock is its own); the
// server's limit refills on the server's clock, which the test moves while
// the SDK waits.
func TestSDKRetriesTheServersRateLimit(t *testing.T) {
	f := sdkFixture(t, rateLimit("user=2/2s"))
	ctx := context.Background()
	c := f.userClient(t, "read")
	counter := &statusCounter{}
	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}

	plain, _ := sdk.NewClientFromBearerToken(sdk.Config{APIURL: f.URL, HTTPClient: &http.Client{Transport: counter}}, tok.AccessToken)
	var limited *sdk.Error
	for range 10 {
		if _, err := plain.Users.Current(ctx); errors.As(err, &limited) {
			break
		}
	}
	if limited == nil || limited.StatusCode != http.StatusTooManyRequests || limited.Code != protocol.ErrRateLimited ||
		limited.RetryAfter() <= 0 || limited.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("got %v, want a 429 rate_limited with Retry-After and X-RateLimit-Reset", limited)
	}

	// Each refused call moves the server's clock by the wait it asked for.
	moving := &clockMover{next: http.DefaultTransport, counter: counter, advance: f.Clock.Add}
	retrying, _ := sdk.NewClientFromBearerToken(sdk.Config{APIURL: f.URL, HTTPClient: &http.Client{Transport: moving},
		Retry: sdk.RetryPolicy{MaxAttempts: 5, MaxWait: 10 * time.Second}}, tok.AccessToken)
	before := counter.limited.Load()
	start := time.Now()
	for i := range 4 {
		if _, err := retrying.Users.Current(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if counter.limited.Load() == before {
		t.Error("no call was rate-limited; the test proves nothing")
	}
	if elapsed := time.Since(start); elapsed > 12*time.Second {
		t.Errorf("4 calls took %v", elapsed)
	}
}

// clockMover counts 429s like statusCounter and, for each, moves the
// server's clock by its Retry-After, the time the SDK is about to wait.
type clockMover struct {
	next    http.RoundTripper
	counter *statusCounter
	advance func(time.Duration)
}

func (m *clockMover) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		m.counter.limited.Add(1)
		var wait time.Duration
		if s, perr := time.ParseDuration(resp.Header.Get("Retry-After") + "s"); perr == nil {
			wait = s
		}
		m.advance(wait)
	}
	return resp, err
}
