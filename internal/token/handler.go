package token

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/metrics"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

// Handler serves the token endpoint.
type Handler struct {
	Store      store.Store
	Hasher     *secret.Hasher
	Clients    *clientauth.Authenticator
	Tokens     *accesstoken.Minter
	RefreshTTL time.Duration // idle lifetime of a refresh token
	Now        func() time.Time
	Logger     *slog.Logger
	Metrics    *metrics.Metrics
}

// Response is the successful token response of RFC 6749 section 5.1.
type Response struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// Grant types; "code" is the spelling of the Aries guide.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantCode              = "code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// request is a token request after parsing and client authentication.
type request struct {
	params oauth.Params
	client store.Client
	now    time.Time
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := h.serve(r.Context(), w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	oauth.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Response, error) {
	params, oerr := oauth.ParseBody(w, r)
	if oerr != nil {
		return nil, oerr
	}
	grantType, oerr := params.Require("grant_type")
	if oerr != nil {
		return nil, oerr
	}
	var issue func(context.Context, request) (*Response, error)
	switch grantType {
	case GrantAuthorizationCode, GrantCode:
		issue, grantType = h.authorizationCode, GrantAuthorizationCode
	case GrantRefreshToken:
		issue = h.refreshToken
	case GrantClientCredentials:
		issue = h.clientCredentials
	default:
		return nil, oauth.Errorf(oauth.UnsupportedGrantType, "grant_type %q is not supported", grantType)
	}
	auth, oerr := h.Clients.Authenticate(ctx, r, params)
	if oerr != nil {
		return nil, oerr
	}
	resp, err := issue(ctx, request{params: params, client: auth.Client, now: h.Now()})
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

// mint signs an access token and completes the response.
func (h *Handler) mint(c accesstoken.Claims, refresh string) (*Response, error) {
	tok, claims, err := h.Tokens.Mint(c)
	if err != nil {
		return nil, err
	}
	return &Response{
		AccessToken:  tok,
		TokenType:    "Bearer",
		ExpiresIn:    claims.ExpiresAt - claims.IssuedAt,
		RefreshToken: refresh,
		Scope:        claims.Scope,
	}, nil
}
