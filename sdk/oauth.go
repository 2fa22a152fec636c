package aries

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// GenerateVerifier returns a new PKCE code verifier (RFC 7636 section 4.1):
// 32 random bytes, base64url-encoded. Keep it until the code exchange.
func GenerateVerifier() string { return oauth2.GenerateVerifier() }

// S256Challenge returns the S256 code challenge of a verifier (RFC 7636
// section 4.2): BASE64URL(SHA256(verifier)).
func S256Challenge(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// GenerateState returns a new random state value (RFC 6749 section 10.12).
// Use one per authorization request and check it in the callback.
func GenerateState() string { return rand.Text() }

// AuthOption changes one authorization request or code exchange.
type AuthOption func(*authParams)

type authParams struct {
	scopes      []string
	redirectURL string
	verifier    string
	prompt      string
	oidc        oidcParams // nonce, max_age, login_hint (oidc.go)
}

// WithScopes asks for these scopes instead of Config.Scopes. Seed 002's
// coarse scopes (read, trade, withdraw, admin) and the fine ones of the
// guide (account:information, ...) can be mixed.
func WithScopes(scopes ...string) AuthOption {
	return func(p *authParams) { p.scopes = scopes }
}

// WithRedirectURL uses this registered redirect URI instead of
// Config.RedirectURL. The exchange must name the same one as the request.
func WithRedirectURL(u string) AuthOption {
	return func(p *authParams) { p.redirectURL = u }
}

// WithPKCE binds the code to a verifier (RFC 7636): AuthorizationURL and
// SignIn send its S256 challenge, ExchangeCode sends the verifier itself.
// Public clients must use it; confidential clients may.
func WithPKCE(verifier string) AuthOption {
	return func(p *authParams) { p.verifier = verifier }
}

// WithPrompt sets the prompt parameter: "login" asks the user to sign in
// again, "consent" shows the consent page even when consent was given,
// "none" fails instead of showing any page.
func WithPrompt(prompt string) AuthOption {
	return func(p *authParams) { p.prompt = prompt }
}

func (c *Client) authParams(opts []AuthOption) authParams {
	p := authParams{scopes: c.cfg.Scopes, redirectURL: c.cfg.RedirectURL}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// AuthorizationURL returns the URL of the hosted sign-in and consent pages
// to send the user to (RFC 6749 section 4.1.1). Aries sends the user back to
// the redirect URL with code and state, or with error. It makes no call;
// a client that must push its requests (Config.PushAuthorizationRequests)
// uses AuthorizationURLContext instead.
func (c *Client) AuthorizationURL(state string, opts ...AuthOption) string {
	return c.oauth.Endpoint.AuthURL + "?" + c.authorizationParams(state, opts).Encode()
}

// authorizationParams are the parameters of an authorization request, for
// the authorization URL or the pushed request (par.go).
func (c *Client) authorizationParams(state string, opts []AuthOption) url.Values {
	p := c.authParams(opts)
	q := url.Values{"response_type": {"code"}, "client_id": {c.cfg.ClientID}}
	if p.redirectURL != "" {
		q.Set("redirect_uri", p.redirectURL)
	}
	if len(p.scopes) > 0 {
		q.Set("scope", strings.Join(p.scopes, " "))
	}
	if state != "" {
		q.Set("state", state)
	}
	if p.verifier != "" {
		q.Set("code_challenge", S256Challenge(p.verifier))
		q.Set("code_challenge_method", "S256")
	}
	if p.prompt != "" {
		q.Set("prompt", p.prompt)
	}
	p.oidc.set(q)
	if c.dpop != nil {
		// RFC 9449 section 10: the code is bound to the key, so a code
		// intercepted on its way back is worthless without it.
		q.Set("dpop_jkt", c.dpop.signer.JKT())
	}
	return q
}

// ExchangeCode trades an authorization code for tokens (RFC 6749 section
// 4.1.3). A confidential client authenticates with its secret; a public one
// passes WithPKCE with the verifier of the authorization request. The
// result is not the client's own token until it is given to SetToken, or to
// NewClientFromToken for a client per user.
func (c *Client) ExchangeCode(ctx context.Context, code string, opts ...AuthOption) (*Token, error) {
	p := c.authParams(opts)
	var o []oauth2.AuthCodeOption
	if p.redirectURL != "" {
		o = append(o, oauth2.SetAuthURLParam("redirect_uri", p.redirectURL))
	}
	if p.verifier != "" {
		o = append(o, oauth2.VerifierOption(p.verifier))
	}
	conf := *c.oauth
	conf.RedirectURL = ""
	t, err := conf.Exchange(c.oauthContext(ctx), code, o...)
	if err != nil {
		return nil, fromRetrieveError(err)
	}
	return fromOAuth2(t), nil
}

// RefreshToken trades a refresh token for new tokens (RFC 6749 section 6).
// Aries rotates refresh tokens: the one passed is spent, keep the returned
// one. For a client whose refresh tokens Aries does not rotate, the returned
// Token carries the one passed (the answer has none). When Aries refuses it with invalid_grant the error matches
// ErrRefreshTokenRevoked. Clients built with a refresh token refresh by
// themselves; this is for programs that manage tokens on their own.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (*Token, error) {
	t, err := c.oauth.TokenSource(c.oauthContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		err = fromRetrieveError(err)
		if e, ok := errors.AsType[*Error](err); ok && e.Code == protocol.ErrInvalidGrant {
			return nil, fmt.Errorf("%w (%w)", ErrRefreshTokenRevoked, e)
		}
		return nil, err
	}
	return fromOAuth2(t), nil
}

// Revoke revokes a refresh token, and with it every token of its sign-in,
// or an access token (RFC 7009 section 2.1). Revoking a token that is
// already invalid succeeds.
func (c *Client) Revoke(ctx context.Context, token string) error {
	form := url.Values{"token": {token}, "client_id": {c.cfg.ClientID}}
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	return c.do(ctx, request{method: http.MethodPost, path: protocol.RevokePath, form: form, anonymous: true}, nil)
}

// SignInRequest is a first-party sign-in: the app itself collects the
// user's email and password (only apps registered as first-party may).
type SignInRequest struct {
	Email    string
	Password string
	// Options as for AuthorizationURL: WithScopes, WithRedirectURL and
	// WithPKCE (pass the same verifier to ExchangeCode).
	Options []AuthOption
}

// SignInResult is the outcome of SignIn or VerifyMFA: an authorization code
// to exchange, or, for a user with multi-factor authentication, a session
// token to pass to VerifyMFA with the user's 6-digit code.
type SignInResult struct {
	AuthorizationCode string
	MFARequired       bool
	SessionToken      string
	SessionExpiresIn  time.Duration // how long SessionToken can be verified
}

// SignIn signs a user in with email and password at POST /v1/oauth2/authorize
// (the first-party flow of the repository's
// docs/protocol.md#first-party-sign-in, after the IETF draft "OAuth 2.0 for
// First-Party Applications"). Wrong credentials fail with a 401 *Error
// access_denied, which does not tell whether the email exists.
func (c *Client) SignIn(ctx context.Context, in SignInRequest) (*SignInResult, error) {
	p := c.authParams(in.Options)
	body := protocol.AuthorizeRequest{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		Email: in.Email, Password: in.Password,
		Scope: strings.Join(p.scopes, " "), RedirectURI: p.redirectURL,
	}
	if p.verifier != "" {
		body.CodeChallenge, body.CodeChallengeMethod = S256Challenge(p.verifier), "S256"
	}
	var out protocol.AuthorizeResponse
	err := c.do(ctx, request{method: http.MethodPost, path: protocol.FirstPartyAuthorizePath, body: body, anonymous: true}, &out)
	if e, ok := errors.AsType[*Error](err); ok && e.StatusCode == http.StatusForbidden {
		// 403 insufficient_authorization with mfa_required is the next
		// step of the flow, not a failure.
		if mfa, ok := mfaChallenge(e.Body); ok {
			return mfa, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return authorized(out)
}

func mfaChallenge(body []byte) (*SignInResult, bool) {
	var b protocol.ErrorResponse
	if err := json.Unmarshal(body, &b); err != nil || !b.MFARequired || b.SessionToken == "" {
		return nil, false
	}
	return &SignInResult{MFARequired: true, SessionToken: b.SessionToken,
		SessionExpiresIn: time.Duration(b.ExpiresIn) * time.Second}, true
}

func authorized(out protocol.AuthorizeResponse) (*SignInResult, error) {
	if out.AuthorizationCode == "" {
		return nil, errors.New("aries: the answer has no authorization_code")
	}
	return &SignInResult{AuthorizationCode: out.AuthorizationCode}, nil
}

// VerifyMFA completes a sign-in that answered MFARequired with the user's
// 6-digit TOTP code. A wrong code fails with a 400 *Error invalid_mfa_code
// and may be tried again; after five wrong codes or five minutes the
// session is dead (invalid_grant) and the user must sign in again.
func (c *Client) VerifyMFA(ctx context.Context, sessionToken, code string) (*SignInResult, error) {
	body := protocol.MFAVerifyRequest{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		Code: code, SessionToken: sessionToken}
	var out protocol.AuthorizeResponse
	if err := c.do(ctx, request{method: http.MethodPost, path: protocol.MFAVerifyPath, body: body, anonymous: true}, &out); err != nil {
		return nil, err
	}
	return authorized(out)
}

func fromOAuth2(t *oauth2.Token) *Token {
	tok := &Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken,
		Expiry: t.Expiry, ExpiresIn: t.ExpiresIn}
	if s, ok := t.Extra("scope").(string); ok {
		tok.Scope = s
	}
	if s, ok := t.Extra("id_token").(string); ok {
		tok.IDToken = s
	}
	return tok
}
