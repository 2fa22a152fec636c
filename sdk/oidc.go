package aries

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// "Sign in with Aries": OpenID Connect on top of the authorization code
// flow (OpenID Connect Core 1.0; docs/oidc.md in the repository). Ask for
// the openid scope with a nonce, exchange the code, check the ID token
// with VerifyIDToken, and read the user's claims with UserInfo.

// oidcParams are the OpenID Connect parameters of an authorization request
// (Core 1.0 section 3.1.2.1).
type oidcParams struct {
	nonce     string
	maxAge    *time.Duration
	loginHint string
}

func (p oidcParams) set(q url.Values) {
	if p.nonce != "" {
		q.Set("nonce", p.nonce)
	}
	if p.maxAge != nil {
		q.Set("max_age", strconv.FormatInt(int64(*p.maxAge/time.Second), 10))
	}
	if p.loginHint != "" {
		q.Set("login_hint", p.loginHint)
	}
}

// GenerateNonce returns a new random nonce (OpenID Connect Core 1.0 section
// 15.5.2). Use one per authorization request, keep it with the state, and
// pass it to VerifyIDToken.
func GenerateNonce() string { return rand.Text() }

// WithNonce sends nonce, which Aries repeats in the ID token so that an ID
// token cannot be replayed into another sign-in.
func WithNonce(nonce string) AuthOption {
	return func(p *authParams) { p.oidc.nonce = nonce }
}

// WithMaxAge asks Aries to make the user sign in again when their last
// sign-in is older than d (whole seconds; 0 always asks). The ID token's
// AuthTime says when it was.
func WithMaxAge(d time.Duration) AuthOption {
	return func(p *authParams) { p.oidc.maxAge = &d }
}

// WithLoginHint fills in the email on the sign-in page, and asks for that
// account when another is signed in.
func WithLoginHint(email string) AuthOption {
	return func(p *authParams) { p.oidc.loginHint = email }
}

// ErrInvalidIDToken matches (with errors.Is) every error of VerifyIDToken
// that is the token's fault. Other errors mean the key set could not be
// fetched.
var ErrInvalidIDToken = errors.New("aries: invalid ID token")

// IDTokenError says why VerifyIDToken refused an ID token.
type IDTokenError struct{ Reason string }

func (e *IDTokenError) Error() string        { return "aries: invalid ID token: " + e.Reason }
func (e *IDTokenError) Is(target error) bool { return target == ErrInvalidIDToken }

func badIDToken(format string, args ...any) error {
	return &IDTokenError{Reason: fmt.Sprintf(format, args...)}
}

// idTokenLeeway is the clock skew tolerated on exp and iat.
const idTokenLeeway = time.Minute

// VerifyIDToken checks an ID token as OpenID Connect Core 1.0 section
// 3.1.3.7 asks a client to, and returns its claims: an RS256 or ES256
// signature by a key of the issuer's JWKS, iss equal to Config.Issuer (the
// API URL by default), the client among the audiences (and as azp when
// there are several), not expired, and the nonce equal to nonce: the one
// sent with WithNonce, or "" for an ID token that must carry none (after a
// refresh, Core 1.0 section 12.2). The keys are fetched from the issuer's
// /.well-known/jwks.json and fetched again for a key id they do not hold,
// at most every ten seconds. Errors that are the token's fault match
// ErrInvalidIDToken.
func (c *Client) VerifyIDToken(ctx context.Context, rawIDToken, nonce string) (*protocol.IDTokenClaims, error) {
	if rawIDToken == "" || len(rawIDToken) > maxIDToken {
		return nil, badIDToken("empty or too large")
	}
	jws, err := jose.ParseSignedCompact(rawIDToken, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, badIDToken("not an RS256 or ES256 JWS")
	}
	h := jws.Signatures[0].Header
	// An access token signed by the same keys is no ID token (RFC 9068
	// section 4 makes access tokens say so).
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt") {
		return nil, badIDToken("an access token, not an ID token")
	}
	key, err := c.idKeys.key(ctx, c, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, badIDToken("its algorithm does not match its key")
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, badIDToken("bad signature")
	}
	var claims protocol.IDTokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, badIDToken("malformed claims")
	}
	now := c.now()
	switch {
	case claims.Issuer != c.issuer():
		return nil, badIDToken("issued by %q, want %q", claims.Issuer, c.issuer())
	case !slices.Contains(claims.Audience, c.cfg.ClientID):
		return nil, badIDToken("not issued to this client")
	case len(claims.Audience) > 1 && claims.AuthorizedParty == "",
		claims.AuthorizedParty != "" && claims.AuthorizedParty != c.cfg.ClientID:
		return nil, badIDToken("authorized party (azp) is not this client")
	case claims.Expiry.IsZero() || !now.Before(claims.Expiry.Add(idTokenLeeway)):
		return nil, badIDToken("expired")
	case claims.IssuedAt.IsZero() || now.Add(idTokenLeeway).Before(claims.IssuedAt):
		return nil, badIDToken("no issue time, or one in the future")
	case claims.Subject == "":
		return nil, badIDToken("no subject")
	case claims.Nonce != nonce:
		return nil, badIDToken("the nonce is not the one of the authorization request")
	}
	return &claims, nil
}

// maxIDToken bounds the work spent on an ID token before its signature is
// checked.
const maxIDToken = 16 << 10

func (c *Client) issuer() string {
	if c.cfg.Issuer != "" {
		return c.cfg.Issuer
	}
	return c.api
}

// UserInfo returns what Aries says about the signed-in user (OpenID Connect
// Core 1.0 section 5.3): sub always, email and email_verified with the
// email scope, name with the profile scope. The client's token must carry
// openid. Check that Subject is the ID token's before trusting the rest
// (section 5.3.4).
func (c *Client) UserInfo(ctx context.Context) (*protocol.UserInfo, error) {
	var out protocol.UserInfo
	if err := c.do(ctx, request{method: http.MethodGet, path: protocol.UserInfoPath}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogoutURL returns the URL that signs the user out of Aries
// (RP-Initiated Logout 1.0 section 2) and sends them to
// postLogoutRedirectURI, which must be registered for the client exactly
// as written (`aries clients update --post-logout-redirect-uri`), with
// state. idTokenHint is an ID token of the user's sign-in: without it
// Aries asks the user and sends them nowhere.
func (c *Client) LogoutURL(idTokenHint, postLogoutRedirectURI, state string) string {
	q := url.Values{}
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
		q.Set("client_id", c.cfg.ClientID)
	}
	if state != "" {
		q.Set("state", state)
	}
	return c.auth + protocol.EndSessionPath + "?" + q.Encode()
}

// keyCache holds the issuer's signing keys for VerifyIDToken.
type keyCache struct {
	mu          sync.Mutex
	keys        map[string]jose.JSONWebKey
	lastAttempt time.Time
	lastErr     error
}

// keyRefetch is the least time between two fetches of the JWKS: a token
// naming a key the set lacks makes the client fetch again (the server may
// have rotated), but made-up key ids cannot make it fetch on every call.
const keyRefetch = 10 * time.Second

// maxJWKS bounds the JWKS document.
const maxJWKS = 1 << 20

func (k *keyCache) key(ctx context.Context, c *Client, kid string) (jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[kid]; ok && kid != "" {
		return key, nil
	}
	now := c.now()
	if k.lastAttempt.IsZero() || now.Sub(k.lastAttempt) >= keyRefetch {
		k.lastAttempt = now
		k.keys, k.lastErr = c.fetchJWKS(ctx)
	}
	if k.lastErr != nil {
		return jose.JSONWebKey{}, k.lastErr
	}
	if key, ok := k.keys[kid]; ok && kid != "" {
		return key, nil
	}
	return jose.JSONWebKey{}, badIDToken("signed by a key the issuer does not publish")
}

// fetchJWKS reads the issuer's public signing keys (RFC 7517 section 5),
// keeping only public keys with a key id.
func (c *Client) fetchJWKS(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	u := c.issuer() + "/.well-known/jwks.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("aries: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("aries: fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return nil, fmt.Errorf("aries: fetching the JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("aries: fetching the JWKS: GET %s: %s", u, resp.Status)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("aries: the JWKS at %s: %w", u, err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		// A key this package cannot read is skipped, not fatal: the
		// server may publish newer kinds of keys.
		if err := k.UnmarshalJSON(raw); err != nil || k.KeyID == "" || !k.IsPublic() || !k.Valid() {
			continue
		}
		if _, dup := keys[k.KeyID]; !dup {
			keys[k.KeyID] = k
		}
	}
	return keys, nil
}
