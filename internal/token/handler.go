package token

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/metrics"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Handler serves the token endpoint.
type Handler struct {
	Store      store.GrantStore
	Hasher     *secret.Hasher
	Clients    *clientauth.Authenticator
	Tokens     *accesstoken.Minter
	RefreshTTL time.Duration // idle lifetime of a refresh token
	Now        func() time.Time
	Logger     *slog.Logger
	Metrics    *metrics.Metrics
	// RateLimit, when set, charges every parsed request to the
	// authentication category (docs/rate-limits.md) under limitKey.
	RateLimit *ratelimit.Policy

	// IDTokens, when set, adds an OpenID Connect ID token to the answers
	// of the code and refresh grants whose scope holds openid.
	IDTokens *idtoken.Issuer

	// DPoP checks the DPoP proofs of token requests (RFC 9449 section 5,
	// dpop.go); nil leaves the DPoP header unread and every token a
	// bearer token. TokenURL is this endpoint's public URL, the "htu"
	// every proof must name: the token_endpoint of the metadata.
	DPoP     *dpop.Verifier
	TokenURL string
	// DPoPFAPI2 checks the proofs of FAPI 2.0 clients instead of DPoP:
	// ES256, PS256 and EdDSA only, iat at most 10 s ahead (docs/fapi.md).
	// It shares DPoP's replay cache and nonces. nil issues such a client
	// no token.
	DPoPFAPI2 *dpop.Verifier

	// RefreshGraceKey encrypts the copy of a rotated refresh token's child
	// kept for its client's grace window (grace.go; secret.Keys
	// RefreshGrace). Needed only once a client has a grace window.
	RefreshGraceKey []byte
}

// request is a token request after parsing and client authentication.
type request struct {
	params oauth.Params
	client store.Client
	now    time.Time
	source string // the caller's address, for the security log
	// proof is the request's DPoP proof, nil for none: the key the
	// tokens it gets are bound to.
	proof *dpop.Proof
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := h.serve(r.Context(), w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	oauth.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (*protocol.TokenResponse, error) {
	params, oerr := oauth.ParseBody(w, r)
	if oerr != nil {
		return nil, oerr
	}
	// The key costs a store read, so a disabled policy skips it. The
	// X-RateLimit headers go on every answer, 429 or not.
	if h.RateLimit != nil && !h.RateLimit.Disabled {
		d := h.RateLimit.Check(r, ratelimit.Authentication, h.limitKey(ctx, r, params))
		d.SetHeaders(w.Header())
		if oerr := d.Err(); oerr != nil {
			return nil, oerr
		}
	}
	grantType, oerr := params.Require("grant_type")
	if oerr != nil {
		return nil, oerr
	}
	var issue func(context.Context, request) (*protocol.TokenResponse, error)
	switch grantType {
	case protocol.GrantAuthorizationCode, protocol.GrantCode:
		issue, grantType = h.authorizationCode, protocol.GrantAuthorizationCode
	case protocol.GrantRefreshToken:
		issue = h.refreshToken
	case protocol.GrantClientCredentials:
		issue = h.clientCredentials
	default:
		return nil, oauth.Errorf(oauth.UnsupportedGrantType, "grant_type %q is not supported", grantType)
	}
	auth, oerr := h.Clients.Authenticate(ctx, r, params)
	if oerr != nil {
		return nil, oerr
	}
	proof, err := h.checkProof(ctx, w, r, auth.Client)
	if err != nil {
		return nil, err
	}
	resp, err := issue(ctx, request{params: params, client: auth.Client, now: h.Now(), source: ratelimit.RemoteIP(r), proof: proof})
	if err != nil {
		return nil, err
	}
	h.Metrics.TokensIssued.WithLabelValues(grantType).Inc()
	return resp, nil
}

// writeError renders protocol errors as they are and hides every other
// failure behind server_error, logging the cause.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if oerr, ok := errors.AsType[*oauth.Error](err); ok {
		oauth.Write(w, oerr)
		return
	}
	h.Metrics.StoreErrors.Inc()
	h.Logger.ErrorContext(r.Context(), "token request failed", "err", err)
	w.Header().Set("Retry-After", "1")
	oauth.Write(w, &oauth.Error{Code: oauth.ServerError, Description: "the token could not be issued; try again", Status: http.StatusServiceUnavailable})
}

// mint signs an access token and completes the response (RFC 6749
// section 5.1): a DPoP-bound token (c.Confirmation set) is of type DPoP
// (RFC 9449 section 5).
func (h *Handler) mint(c protocol.Claims, refresh string) (*protocol.TokenResponse, error) {
	tok, claims, err := h.Tokens.Mint(c)
	if err != nil {
		return nil, err
	}
	tokenType := protocol.TokenTypeBearer
	if claims.Bound() {
		tokenType = protocol.TokenTypeDPoP
	}
	return &protocol.TokenResponse{
		AccessToken:  tok,
		TokenType:    tokenType,
		ExpiresIn:    claims.Expiry.Unix() - claims.IssuedAt.Unix(),
		RefreshToken: refresh,
		Scope:        scope.Join(claims.Scopes),
	}, nil
}

// maxKeyedClientID bounds the client_id a rate-limit key is made of: real
// ids are about 50 characters, and a key is kept in memory for a minute.
const maxKeyedClientID = 100

// limitKey is the authentication rate-limit key of a token request
// (docs/rate-limits.md#how-requests-are-keyed): the client it names plus the
// user its code or refresh token belongs to, so that a backend redeeming and
// refreshing for many users is not throttled as one; or, when it names no
// valid user (a bad or spent code or refresh token, client_credentials), the
// client plus the source address, so that guessing from one address is
// throttled. The client is taken as named, before it is authenticated: a code
// or refresh token counts only for the client it was issued to, so guessing
// secrets with someone else's valid token spends that user's budget, never a
// fresh one. Looking the user up is one indexed read, done before anything is
// spent.
func (h *Handler) limitKey(ctx context.Context, r *http.Request, p oauth.Params) string {
	clientID := p["client_id"]
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			clientID = id
		}
	}
	if len(clientID) > maxKeyedClientID {
		clientID = "(invalid)"
	}
	now := h.Now()
	var userID string
	switch p["grant_type"] {
	case protocol.GrantAuthorizationCode, protocol.GrantCode:
		if code := p["code"]; code != "" {
			if ac, err := h.Store.AuthCode(ctx, h.Hasher.Hash(code), now); err == nil && ac.ClientID == clientID {
				userID = ac.UserID
			}
		}
	case protocol.GrantRefreshToken:
		if rt := p["refresh_token"]; rt != "" {
			if t, g, err := h.Store.RefreshTokenGrant(ctx, h.Hasher.Hash(rt), now); err == nil && t.ClientID == clientID {
				userID = g.UserID
			}
		}
	}
	if userID != "" {
		return "client=" + clientID + " user=" + userID
	}
	return "client=" + clientID + " addr=" + ratelimit.RemoteIP(r)
}
