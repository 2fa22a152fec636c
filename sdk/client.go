package aries

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// The public Aries hosts (docs/protocol.md#hosts in the repository).
const (
	DefaultAuthURL = "https://app.aries.com" // hosted sign-in and consent pages
	DefaultAPIURL  = "https://api.aries.com" // token endpoint and API
)

// DefaultEarlyRefresh is how long before its expiry an access token is
// replaced when Config.EarlyRefresh is zero.
const DefaultEarlyRefresh = time.Minute

// maxBody caps every response the client reads.
const maxBody = 1 << 20

// Config describes an app registered with Aries and how to reach Aries.
// Only ClientID is needed for most uses; a bearer-token client needs
// nothing.
type Config struct {
	ClientID     string
	ClientSecret string   // empty for a public client (PKCE); keep it out of source code
	RedirectURL  string   // the registered redirect URI of the authorization code flow
	Scopes       []string // asked for when a call names none, e.g. []string{"read", "trade"}

	// ClientKey, instead of ClientSecret, authenticates the client with
	// private_key_jwt (RFC 7523): each request that authenticates it
	// carries a new assertion signed with this key (ES256 for P-256, EdDSA
	// for Ed25519, PS256 for RSA) whose public key is registered with the
	// client; its "aud" is Issuer, as Aries expects. ClientKeyID,
	// optional, is the key's "kid" in the registered JWKS.
	ClientKey   crypto.Signer
	ClientKeyID string

	// APIURL is the base URL of the token endpoint and the API, default
	// DefaultAPIURL. AuthURL is the base URL of the hosted sign-in pages,
	// default DefaultAuthURL, or APIURL when only APIURL is set: one
	// `aries serve` serves both.
	APIURL  string
	AuthURL string
	// Issuer is the issuer ID tokens must name (OpenID Connect Core 1.0
	// section 3.1.3.7) and the "aud" of ClientKey's assertions, default
	// the API base URL: the issuer of `aries serve` is the URL it serves
	// on.
	Issuer string

	// HTTPClient sends every request, default http.DefaultClient.
	HTTPClient *http.Client

	// EarlyRefresh is how long before expiry the client replaces its
	// access token, default DefaultEarlyRefresh. A margin keeps a token
	// from expiring between the check and the server's.
	EarlyRefresh time.Duration

	// Retry retries answers 429 Too Many Requests; the zero value never
	// retries.
	Retry RetryPolicy

	// Store receives every token the client obtains, in particular each
	// rotated refresh token. When it holds a token, that token is used
	// instead of the one the client was built with: it is the newer one.
	Store TokenStore

	// DPoP, when set, binds the client's tokens to a key it holds (RFC
	// 9449; see DPoP): &aries.DPoP{} makes an ES256 key for the client.
	DPoP *DPoP

	// PushAuthorizationRequests makes AuthorizationURLContext push each
	// authorization request to Aries first (RFC 9126), as clients
	// registered with require_pushed_authorization_requests, or with the
	// fapi2 profile, must: the URL then carries only client_id and a
	// one-time request_uri.
	PushAuthorizationRequests bool
}

// Client calls Aries for one app and, when it holds a token, for one user
// (or for the app itself with client credentials). It is safe for use by
// many goroutines.
type Client struct {
	cfg    Config
	api    string
	auth   string
	hc     *http.Client
	oauth  *oauth2.Config
	tokens *tokenManager
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	dpop   *dpopTransport // nil without Config.DPoP
	idKeys keyCache       // the JWKS that ID tokens are checked against (oidc.go)

	Users       *UsersService
	Accounts    *AccountsService
	Orders      *OrdersService
	Withdrawals *WithdrawalsService
}

// NewClient returns a client for the app cfg describes. Its API calls use
// the token in cfg.Store, or the one given to SetToken after a sign-in.
// Until it has one, a client with a secret acts as the app itself, with
// tokens of the client credentials grant (RFC 6749 section 4.4) that are
// not saved to the store; a user's token, once given, is never replaced by
// the app's.
func NewClient(cfg Config) (*Client, error) { return newClient(cfg, nil) }

// NewClientFromRefreshToken returns a client that acts for the user the
// refresh token belongs to, getting access tokens as needed.
func NewClientFromRefreshToken(cfg Config, refreshToken string) (*Client, error) {
	if refreshToken == "" {
		return nil, errors.New("aries: empty refresh token")
	}
	return newClient(cfg, &Token{RefreshToken: refreshToken})
}

// NewClientFromToken returns a client that uses tok and refreshes it when it
// expires, if it has a refresh token.
func NewClientFromToken(cfg Config, tok *Token) (*Client, error) {
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return nil, errors.New("aries: the token has neither an access token nor a refresh token")
	}
	t := *tok
	return newClient(cfg, &t)
}

// NewClientFromBearerToken returns a client that sends accessToken as it is
// and never refreshes it. When Aries refuses it, calls fail with a 401
// *Error.
func NewClientFromBearerToken(cfg Config, accessToken string) (*Client, error) {
	if accessToken == "" {
		return nil, errors.New("aries: empty access token")
	}
	return newClient(cfg, &Token{AccessToken: accessToken, TokenType: "Bearer"})
}

func newClient(cfg Config, tok *Token) (*Client, error) {
	api, err := baseURL(cfg.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("aries: APIURL: %w", err)
	}
	authDefault := DefaultAuthURL
	if cfg.APIURL != "" {
		authDefault = api
	}
	auth, err := baseURL(cfg.AuthURL, authDefault)
	if err != nil {
		return nil, fmt.Errorf("aries: AuthURL: %w", err)
	}
	if cfg.EarlyRefresh < 0 {
		return nil, errors.New("aries: EarlyRefresh is negative")
	}
	if cfg.EarlyRefresh == 0 {
		cfg.EarlyRefresh = DefaultEarlyRefresh
	}
	c := &Client{
		cfg:   cfg,
		api:   api,
		auth:  auth,
		hc:    cfg.HTTPClient,
		now:   time.Now,
		sleep: sleep,
		oauth: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       cfg.Scopes,
			// Credentials go in the body (client_secret_post, RFC 6749
			// section 2.3.1), as the Aries documentation's examples send them.
			// Setting the style stops x/oauth2 from probing: its probe
			// resends a refused request the other way.
			Endpoint: oauth2.Endpoint{AuthURL: auth + "/oauth2/authorize", TokenURL: api + "/v1/oauth2/token",
				AuthStyle: oauth2.AuthStyleInParams},
		},
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	// Below DPoP's transport, so that a request it sends again for a
	// nonce gets a new assertion too (clientkey.go).
	keyed, err := newClientKeyTransport(cfg, c.hc.Transport, api, c.issuer(), func() time.Time { return c.now() })
	if err != nil {
		return nil, err
	}
	if keyed != nil {
		hc := *c.hc
		hc.Transport = keyed
		c.hc = &hc
	}
	if cfg.DPoP != nil {
		// Every request, x/oauth2's token requests included, goes through
		// c.hc: its transport adds the proofs.
		t, err := newDPoPTransport(cfg.DPoP, c.hc.Transport, c.oauth.Endpoint.TokenURL, func() time.Time { return c.now() })
		if err != nil {
			return nil, err
		}
		hc := *c.hc
		hc.Transport = t
		c.hc, c.dpop = &hc, t
	}
	var app appFunc
	if tok == nil && cfg.ClientID != "" && (cfg.ClientSecret != "" || cfg.ClientKey != nil) {
		app = c.clientCredentials
	}
	c.tokens = newTokenManager(tok, cfg.Store, cfg.EarlyRefresh, func() time.Time { return c.now() }, c.RefreshToken, app)
	c.Users = &UsersService{c}
	c.Accounts = &AccountsService{c}
	c.Orders = &OrdersService{c}
	c.Withdrawals = &WithdrawalsService{c}
	return c, nil
}

func baseURL(s, def string) (string, error) {
	if s == "" {
		s = def
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an http(s) base URL", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// Token returns the client's access token, refreshing it first when it
// expires within Config.EarlyRefresh. Concurrent callers share one refresh.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	t, err := c.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	cp := *t
	return &cp, nil
}

// SetToken makes tok the client's token, after a sign-in for instance, and
// hands it to Config.Store.
func (c *Client) SetToken(ctx context.Context, tok *Token) error {
	if tok == nil {
		return errors.New("aries: nil token")
	}
	t := *tok
	return c.tokens.set(ctx, &t)
}

// clientCredentials gets a token for the app itself (RFC 6749 section 4.4).
func (c *Client) clientCredentials(ctx context.Context) (*Token, error) {
	cc := &clientcredentials.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		TokenURL: c.oauth.Endpoint.TokenURL, Scopes: c.cfg.Scopes, AuthStyle: oauth2.AuthStyleInParams}
	t, err := cc.Token(c.oauthContext(ctx))
	if err != nil {
		return nil, fromRetrieveError(err)
	}
	return fromOAuth2(t), nil
}

// oauthContext carries the client's *http.Client to golang.org/x/oauth2.
func (c *Client) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.hc)
}

// request is one call to Aries.
type request struct {
	method    string
	path      string      // below the API base URL
	query     url.Values  // optional
	body      any         // sent as JSON when not nil
	form      url.Values  // sent form-encoded when not nil
	header    http.Header // extra headers, such as Idempotency-Key
	anonymous bool        // sent without an access token
}

// retryable reports whether a request may be sent again after a 429:
// RFC 9110 section 9.2.2 idempotent methods, and requests that carry an
// Idempotency-Key, which the server uses to answer a repeat with the first
// result instead of acting twice.
func (r *request) retryable() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.header.Get("Idempotency-Key") != ""
}

// do sends r, retrying answers 429 as Config.Retry allows, and decodes a
// successful JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	var payload []byte
	var contentType string
	switch {
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("aries: encoding the request: %w", err)
		}
		payload, contentType = b, "application/json"
	case r.form != nil:
		payload, contentType = []byte(r.form.Encode()), "application/x-www-form-urlencoded"
	}
	u := c.api + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	policy := c.cfg.Retry.normalized()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		status, header, body, err := c.send(ctx, r, u, payload, contentType)
		if err != nil {
			return err
		}
		if status >= 200 && status < 300 {
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("aries: %s %s: decoding the %d answer: %w", r.method, r.path, status, err)
			}
			return nil
		}
		apiErr := newError(status, header, body)
		if status != http.StatusTooManyRequests || !r.retryable() || attempt >= policy.MaxAttempts {
			return apiErr
		}
		wait, ok := retryAfter(header, c.now())
		if !ok {
			wait = policy.backoff(attempt)
		}
		if waited+wait > policy.MaxWait {
			return apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("aries: %s %s: gave up waiting to retry: %w (last answer: %w)", r.method, r.path, err, apiErr)
		}
		waited += wait
	}
}

// send makes one attempt and reads its answer.
func (c *Client) send(ctx context.Context, r request, u string, payload []byte, contentType string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, u, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("aries: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !r.anonymous {
		// Each attempt asks again: a retry may come after the expiry.
		tok, err := c.tokens.token(ctx)
		if err != nil {
			return 0, nil, nil, err
		}
		// A DPoP-bound token goes with its scheme; the transport adds the
		// proof (RFC 9449 section 7.1).
		scheme := protocol.TokenTypeBearer
		if strings.EqualFold(tok.TokenType, protocol.TokenTypeDPoP) {
			scheme = protocol.TokenTypeDPoP
		}
		req.Header.Set("Authorization", scheme+" "+tok.AccessToken)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("aries: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("aries: %s %s: reading the answer: %w", r.method, r.path, err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// Do calls an Aries API endpoint the services do not cover, with the
// client's token, retry policy and error handling: body (when not nil) is
// sent as JSON and a JSON answer decoded into out (when not nil). path is
// relative to the API base URL, such as "/v1/users/me".
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.do(ctx, request{method: method, path: path, body: body}, out)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
