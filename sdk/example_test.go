package aries_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// In these examples an httptest server (startFake) plays api.aries.com, so
// they run offline; a real program leaves Config.APIURL empty, or points it
// at `aries serve`, and reads its credentials from the environment
// (os.Getenv("ARIES_CLIENT_ID"), ...), never from source code.
var clientID, clientSecret = testClientID, testSecret

// An app with a client id and secret. Until it is given a user's token it
// acts as itself, with tokens of the client credentials grant.
func ExampleNewClient() {
	fake := startFake()
	defer fake.Close()

	client, err := aries.NewClient(aries.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		APIURL:       fake.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token type:", tok.TokenType)
	fmt.Println("acts for a user:", tok.RefreshToken != "")
	// Output:
	// token type: Bearer
	// acts for a user: false
}

// Step 1 of the authorization code flow: send the user to Aries.
func ExampleClient_AuthorizationURL() {
	client, err := aries.NewClient(aries.Config{
		ClientID:    "fakeci_123",
		RedirectURL: "https://yourapp.com/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Generate the state per request (aries.GenerateState) and keep it in
	// the user's session to check it in the callback.
	state := "random_state_string"
	fmt.Println(client.AuthorizationURL(state, aries.WithScopes("read", "trade")))

	// Request only the scopes you need: read-only access...
	fmt.Println(client.AuthorizationURL(state, aries.WithScopes("read")))
	// ...or full trading access.
	fmt.Println(client.AuthorizationURL(state, aries.WithScopes("read", "trade", "withdraw")))
	// Output:
	// https://app.aries.com/oauth2/authorize?client_id=fakeci_123&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback&response_type=code&scope=read+trade&state=random_state_string
	// https://app.aries.com/oauth2/authorize?client_id=fakeci_123&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback&response_type=code&scope=read&state=random_state_string
	// https://app.aries.com/oauth2/authorize?client_id=fakeci_123&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback&response_type=code&scope=read+trade+withdraw&state=random_state_string
}

// PKCE for public clients (mobile apps, SPAs, command-line tools): the
// verifier replaces the client secret.
func ExampleClient_AuthorizationURL_pkce() {
	client, err := aries.NewClient(aries.Config{
		ClientID:    "fakeci_123", // a public client: no secret
		RedirectURL: "https://yourapp.com/callback",
		Scopes:      []string{"read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Generate the verifier with aries.GenerateVerifier() and keep it
	// until the exchange; this one is RFC 7636's example.
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	fmt.Println(client.AuthorizationURL("random_state_string", aries.WithPKCE(verifier)))
	// Output:
	// https://app.aries.com/oauth2/authorize?client_id=fakeci_123&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback&response_type=code&scope=read&state=random_state_string
}

func ExampleS256Challenge() {
	verifier := aries.GenerateVerifier() // 43 characters, 256 random bits
	challenge := aries.S256Challenge(verifier)
	fmt.Println(len(verifier), len(challenge))
	fmt.Println(aries.S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	// Output:
	// 43 43
	// E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}

// Steps 2 and 3: the callback receives the code; a backend exchanges it
// with its client secret.
func ExampleClient_ExchangeCode() {
	fake := startFake()
	defer fake.Close()
	authorizationCode := fake.newCode("") // "code_from_callback"

	client, err := aries.NewClient(aries.Config{
		ClientID: clientID, ClientSecret: clientSecret,
		RedirectURL: "https://yourapp.com/callback", APIURL: fake.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := client.ExchangeCode(context.Background(), authorizationCode)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("access token:", tokens.AccessToken != "")
	fmt.Println("refresh token:", tokens.RefreshToken != "")
	fmt.Println("expires in:", tokens.ExpiresIn, "seconds")
	// Output:
	// access token: true
	// refresh token: true
	// expires in: 900 seconds
}

// A public client exchanges the code with the verifier of its
// authorization request.
func ExampleClient_ExchangeCode_pkce() {
	fake := startFake()
	defer fake.Close()

	client, err := aries.NewClient(aries.Config{
		ClientID: clientID, RedirectURL: "https://yourapp.com/callback", APIURL: fake.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	verifier := aries.GenerateVerifier()
	_ = client.AuthorizationURL(aries.GenerateState(), aries.WithPKCE(verifier))
	authorizationCode := fake.newCode(aries.S256Challenge(verifier)) // from the callback

	tokens, err := client.ExchangeCode(context.Background(), authorizationCode, aries.WithPKCE(verifier))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refresh token:", tokens.RefreshToken != "")
	// Output:
	// refresh token: true
}

// A first-party app signs the user in itself; when the user has MFA the
// answer asks for their 6-digit code.
func ExampleClient_VerifyMFA() {
	fake := startFake()
	defer fake.Close()
	ctx := context.Background()

	client, err := aries.NewClient(aries.Config{ClientID: clientID, ClientSecret: clientSecret, APIURL: fake.URL})
	if err != nil {
		log.Fatal(err)
	}
	authResponse, err := client.SignIn(ctx, aries.SignInRequest{Email: "mfa.trader@example.com", Password: testPassword})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("MFA required:", authResponse.MFARequired, "for", authResponse.SessionExpiresIn)

	mfaResult, err := client.VerifyMFA(ctx, authResponse.SessionToken, "123456")
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := client.ExchangeCode(ctx, mfaResult.AuthorizationCode)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", tokens.AccessToken != "")
	// Output:
	// MFA required: true for 5m0s
	// signed in: true
}

// Refreshing by hand. Aries rotates refresh tokens: keep the new one.
func ExampleClient_RefreshToken() {
	fake := startFake()
	defer fake.Close()
	refreshToken := fake.issueRefresh()

	client, err := aries.NewClient(aries.Config{ClientID: clientID, ClientSecret: clientSecret, APIURL: fake.URL})
	if err != nil {
		log.Fatal(err)
	}
	newTokens, err := client.RefreshToken(context.Background(), refreshToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new access token:", newTokens.AccessToken != "")
	fmt.Println("rotated:", newTokens.RefreshToken != refreshToken)
	fmt.Println("expires in:", newTokens.ExpiresIn, "seconds")

	// The old refresh token is spent.
	_, err = client.RefreshToken(context.Background(), refreshToken)
	fmt.Println("old one revoked:", errors.Is(err, aries.ErrRefreshTokenRevoked))
	// Output:
	// new access token: true
	// rotated: true
	// expires in: 900 seconds
	// old one revoked: true
}

// Automatic refresh: a client built from a refresh token gets access
// tokens as needed and saves every rotated refresh token in its store.
func ExampleNewClientFromRefreshToken() {
	fake := startFake()
	defer fake.Close()
	refreshToken := fake.issueRefresh() // os.Getenv("ARIES_REFRESH_TOKEN")
	dir, _ := os.MkdirTemp("", "aries-example")
	defer os.RemoveAll(dir)

	client, err := aries.NewClientFromRefreshToken(aries.Config{
		ClientID: clientID, ClientSecret: clientSecret, APIURL: fake.URL,
		Store: aries.NewFileStore(filepath.Join(dir, "token.json")), // mode 0600
	}, refreshToken)
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := client.Users.Accounts(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accounts:", len(accounts))

	saved, _ := aries.NewFileStore(filepath.Join(dir, "token.json")).Load(context.Background())
	fmt.Println("rotated refresh token saved:", saved.RefreshToken != refreshToken)
	// Output:
	// accounts: 1
	// rotated refresh token saved: true
}

// An access token you already have.
func ExampleNewClientFromBearerToken() {
	fake := startFake()
	defer fake.Close()
	accessToken := fake.accessToken() // "your_access_token"

	client, err := aries.NewClientFromBearerToken(aries.Config{APIURL: fake.URL}, accessToken)
	if err != nil {
		log.Fatal(err)
	}
	user, err := client.Users.Current(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.Email)
	// Output:
	// trader@example.com
}

// Handling errors: every error answer is an *aries.Error.
func ExampleError() {
	fake := startFake()
	defer fake.Close()

	client, err := aries.NewClientFromBearerToken(aries.Config{APIURL: fake.URL}, "an_expired_token")
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Users.Current(context.Background())
	var apiErr *aries.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		fmt.Println("Authentication failed:", apiErr.Code)
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
		fmt.Println("Forbidden: insufficient permissions")
	case err != nil:
		fmt.Println("Error:", err)
	}
	// Output:
	// Authentication failed: invalid_token
}

// Rate limits: a 429 carries the time to wait.
func ExampleError_RetryAfter() {
	limited := answerOnce(http.StatusTooManyRequests, map[string]string{"Retry-After": "30"}, `{"error":"rate_limited"}`)
	defer limited.Close()

	client, err := aries.NewClientFromBearerToken(aries.Config{APIURL: limited.URL}, "your_access_token")
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Orders.Place(context.Background(),
		protocol.PlaceOrderRequest{Symbol: "AAPL", Side: protocol.Buy, Quantity: 10}, "")
	var apiErr *aries.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
		fmt.Println("Rate limit exceeded. Retry after", apiErr.RetryAfter())
	}
	// Output:
	// Rate limit exceeded. Retry after 30s
}

// Or let the client wait and retry, within bounds.
func ExampleRetryPolicy() {
	fake := startFake()
	defer fake.Close()

	client, err := aries.NewClientFromBearerToken(aries.Config{
		APIURL: fake.URL,
		Retry:  aries.RetryPolicy{MaxAttempts: 3, MaxWait: 10 * time.Second},
	}, fake.accessToken())
	if err != nil {
		log.Fatal(err)
	}
	// A context deadline bounds the call, waits included.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	user, err := client.Users.Current(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.ID)
	// Output:
	// usr_7Hq2
}

func ExampleUsersService_Current() {
	client, done := exampleUserClient()
	defer done()

	user, err := client.Users.Current(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Authenticated as: %s\n", user.Email)
	// Output:
	// Authenticated as: trader@example.com
}

func ExampleUsersService_Update() {
	client, done := exampleUserClient()
	defer done()

	name, phone := "Ada Lovelace", "+14155550123"
	profile, err := client.Users.Update(context.Background(), protocol.ProfileUpdate{DisplayName: &name, Phone: &phone})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(profile.DisplayName, profile.Phone)
	// Output:
	// Ada Lovelace +14155550123
}

func ExampleAccountsService_Balances() {
	client, done := exampleUserClient()
	defer done()
	ctx := context.Background()

	accounts, err := client.Users.Accounts(ctx)
	if err != nil {
		log.Fatal(err)
	}
	balances, err := client.Accounts.Balances(ctx, accounts[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	positions, err := client.Accounts.Positions(ctx, accounts[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cash:", balances.Cash, balances.Currency)
	for _, p := range positions {
		fmt.Println(p.Symbol, p.Quantity, "shares worth", p.MarketValue)
	}
	// Output:
	// cash: 98512.50 USD
	// AAPL 10 shares worth 1487.50
}

func ExampleOrdersService_Place() {
	client, done := exampleUserClient()
	defer done()

	// Keep the key with the order in your records: sending the same order
	// again with it, after a crash or timeout, cannot buy twice.
	key := aries.GenerateState()
	order, err := client.Orders.Place(context.Background(), protocol.PlaceOrderRequest{
		Symbol: "AAPL", Side: protocol.Buy, Type: protocol.Market, Quantity: 10,
	}, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.Status, order.Quantity, order.Symbol, "at", *order.FilledPrice)
	// Output:
	// filled 10 AAPL at 148.75
}

func ExampleOrdersService_Modify() {
	client, done := exampleUserClient()
	defer done()
	ctx := context.Background()

	limit := protocol.Dollars(120, 0)
	order, err := client.Orders.Modify(ctx, protocol.ModifyOrderRequest{OrderID: "ord_4Lm8", LimitPrice: &limit})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.Status, "limit", *order.LimitPrice)
	order, err = client.Orders.Cancel(ctx, order.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.Status)
	// Output:
	// open limit 120.00
	// cancelled
}

func ExampleOrdersService_List() {
	client, done := exampleUserClient()
	defer done()

	orders, err := client.Orders.List(context.Background(), "acc_9fK1", aries.ListOrdersOptions{Status: protocol.OrderFilled, Limit: 20})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range orders {
		fmt.Println(o.ID, o.Side, o.Quantity, o.Symbol, o.Status)
	}
	// Output:
	// ord_3xP0 buy 10 AAPL filled
}

func ExampleWithdrawalsService_Create() {
	client, done := exampleUserClient()
	defer done()

	wd, err := client.Withdrawals.Create(context.Background(), "acc_9fK1", protocol.Dollars(250, 0), aries.GenerateState())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(wd.Status, wd.Amount)
	// Output:
	// completed 250.00
}

// exampleUserClient is a client acting for a signed-in user of the fake.
func exampleUserClient() (*aries.Client, func()) {
	f := startFake()
	c, err := aries.NewClientFromRefreshToken(aries.Config{ClientID: clientID, ClientSecret: clientSecret, APIURL: f.URL},
		f.issueRefresh())
	if err != nil {
		log.Fatal(err)
	}
	return c, f.Close
}

// The complete example of the SDK guide: an app with its credentials and a
// user's refresh token (kept, rotated, in a token file) reads who it acts
// for and the user's accounts. examples/complete is the same program.
func Example() {
	fake := startFake()
	defer fake.Close()
	os.Setenv("ARIES_REFRESH_TOKEN", fake.issueRefresh())
	dir, _ := os.MkdirTemp("", "aries-example")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	cfg := aries.Config{
		ClientID:     clientID,     // os.Getenv("ARIES_CLIENT_ID")
		ClientSecret: clientSecret, // os.Getenv("ARIES_CLIENT_SECRET")
		APIURL:       fake.URL,
		Store:        aries.NewFileStore(filepath.Join(dir, "token.json")),
	}
	client, err := aries.NewClientFromRefreshToken(cfg, os.Getenv("ARIES_REFRESH_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}

	user, err := client.Users.Current(ctx)
	if err == nil {
		fmt.Printf("Authenticated as: %s\n", user.Email)
		var accounts []protocol.Account
		accounts, err = client.Users.Accounts(ctx)
		if err == nil {
			fmt.Printf("Found %d accounts\n", len(accounts))
		}
	}
	var apiErr *aries.Error
	switch {
	case err == nil:
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		fmt.Println("Authentication failed")
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
		fmt.Println("Access forbidden")
	default:
		fmt.Println("API Error:", err)
	}
	// Output:
	// Authenticated as: trader@example.com
	// Found 1 accounts
}

// Signing a user out: revoking the refresh token ends the whole sign-in.
func ExampleClient_Revoke() {
	fake := startFake()
	defer fake.Close()
	ctx := context.Background()
	refreshToken := fake.issueRefresh()

	client, err := aries.NewClient(aries.Config{ClientID: clientID, ClientSecret: clientSecret, APIURL: fake.URL})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Revoke(ctx, refreshToken); err != nil {
		log.Fatal(err)
	}
	_, err = client.RefreshToken(ctx, refreshToken)
	fmt.Println(errors.Is(err, aries.ErrRefreshTokenRevoked))
	// Output:
	// true
}

// A program that signs the user in once and keeps the token between runs.
func ExampleClient_SetToken() {
	fake := startFake()
	defer fake.Close()
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "aries-example")
	defer os.RemoveAll(dir)
	store := aries.NewFileStore(filepath.Join(dir, "token.json"))

	client, err := aries.NewClient(aries.Config{ClientID: clientID, APIURL: fake.URL, Store: store})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Users.Current(ctx); errors.Is(err, aries.ErrNoToken) {
		fmt.Println("not signed in yet")
		// ... the authorization code flow with PKCE, then:
		verifier := aries.GenerateVerifier()
		tok, err := client.ExchangeCode(ctx, fake.newCode(aries.S256Challenge(verifier)), aries.WithPKCE(verifier))
		if err != nil {
			log.Fatal(err)
		}
		if err := client.SetToken(ctx, tok); err != nil { // saved to the file
			log.Fatal(err)
		}
	}

	// The next run starts from the file.
	again, _ := aries.NewClient(aries.Config{ClientID: clientID, APIURL: fake.URL, Store: store})
	user, err := again.Users.Current(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", user.Email)
	// Output:
	// not signed in yet
	// signed in as trader@example.com
}
