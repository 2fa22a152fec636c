// Package introspect serves token revocation (RFC 7009) at
// POST /v1/oauth2/revoke and token introspection (RFC 7662) at
// POST /v1/oauth2/introspect.
//
// Access tokens are JWTs, so revoking one records its jti until it expires;
// revoking a refresh token revokes its whole grant, and with it every access
// token that carries the grant's id (RFC 7009 section 2.1). Introspection is
// the authoritative answer: it checks the signature, expiry, revoked jtis,
// the grant and the client.
//
// Introspection answers only confidential clients (RFC 7662 section 2.1:
// the metadata lists no "none" method for it, so a public client is 401
// invalid_client), and tells a caller about a token only when the token is
// its own or the caller is a resource server an administrator marked
// (store.Client.ResourceServer); anyone else gets {"active":false} (RFC 7662
// section 4, DESIGN.md section 8). Revocation accepts public clients, for
// their own tokens only.
package introspect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

// Handler serves both endpoints.
type Handler struct {
	Store   store.Store
	Hasher  *secret.Hasher
	Clients *clientauth.Authenticator
	Tokens  *accesstoken.Minter
	Now     func() time.Time
	Logger  *slog.Logger
}

// Response is the introspection response of RFC 7662 section 2.2.
type Response struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	Audience  string   `json:"aud,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	AMR       []string `json:"amr,omitempty"`
}

var inactive = Response{Active: false}

// request parses the body and authenticates the caller, as both endpoints
// require (RFC 7009 section 2.1, RFC 7662 section 2.1). With
// confidentialOnly, a public client, which proves nothing by sending its
// client_id, is refused like a wrong secret.
func (h *Handler) request(w http.ResponseWriter, r *http.Request, confidentialOnly bool) (string, store.Client, *oauth.Error) {
	params, oerr := oauth.ParseBody(w, r)
	if oerr != nil {
		return "", store.Client{}, oerr
	}
	auth, oerr := h.Clients.Authenticate(r.Context(), r, params)
	if oerr != nil {
		return "", store.Client{}, oerr
	}
	if confidentialOnly && auth.Client.Type != store.Confidential {
		return "", store.Client{}, oauth.ClientError("this endpoint needs client authentication with a client secret; a public client cannot call it", auth.Basic)
	}
	tok, oerr := params.Require("token")
	if oerr != nil {
		return "", store.Client{}, oerr
	}
	return tok, auth.Client, nil
}

// Introspect serves POST /v1/oauth2/introspect.
func (h *Handler) Introspect(w http.ResponseWriter, r *http.Request) {
	tok, caller, oerr := h.request(w, r, true)
	if oerr != nil {
		oauth.Write(w, oerr)
		return
	}
	resp, err := h.lookup(r.Context(), tok)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// RFC 7662 section 4: the server decides what a caller may learn. An
	// app that got hold of another app's token (a refresh token above all)
	// must not be able to test whether it is live, nor read whose it is.
	if resp.ClientID != caller.ID && !caller.ResourceServer {
		resp = inactive
	}
	oauth.WriteJSON(w, http.StatusOK, resp)
}

// lookup decides whether tok is live. The token_type_hint is not needed:
// refresh tokens carry their prefix and access tokens are JWTs.
func (h *Handler) lookup(ctx context.Context, tok string) (Response, error) {
	now := h.Now()
	if strings.HasPrefix(tok, secret.RefreshPrefix) {
		rt, g, err := h.Store.RefreshTokenGrant(ctx, h.Hasher.Hash(tok), now)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrRevoked) {
			return inactive, nil
		}
		if err != nil {
			return inactive, err
		}
		if ok, err := h.clientLive(ctx, g.ClientID); !ok || err != nil {
			return inactive, err
		}
		return Response{
			Active: true, Scope: scope.Join(g.Scopes), ClientID: g.ClientID, Subject: g.UserID,
			TokenType: "refresh_token", ExpiresAt: rt.ExpiresAt.Unix(), IssuedAt: rt.CreatedAt.Unix(),
			Issuer: h.Tokens.Issuer, AuthTime: g.AuthTime.Unix(), AMR: g.AMR,
		}, nil
	}
	c, err := h.Tokens.Parse(tok)
	if err != nil {
		return inactive, nil
	}
	if revoked, err := h.Store.AccessTokenRevoked(ctx, c.ID); revoked || err != nil {
		return inactive, err
	}
	if c.GrantID != "" {
		g, err := h.Store.Grant(ctx, c.GrantID)
		if errors.Is(err, store.ErrNotFound) {
			return inactive, nil
		}
		if err != nil {
			return inactive, err
		}
		if !g.RevokedAt.IsZero() {
			return inactive, nil
		}
	}
	if ok, err := h.clientLive(ctx, c.ClientID); !ok || err != nil {
		return inactive, err
	}
	return Response{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, Subject: c.Subject, TokenType: "Bearer",
		ExpiresAt: c.ExpiresAt, IssuedAt: c.IssuedAt, Issuer: c.Issuer, Audience: c.Audience,
		JTI: c.ID, AuthTime: c.AuthTime, AMR: c.AMR,
	}, nil
}

// clientLive reports whether the client still exists and is enabled: a
// disabled or deleted client's tokens are dead.
func (h *Handler) clientLive(ctx context.Context, id string) (bool, error) {
	c, err := h.Store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !c.Disabled, nil
}

// Revoke serves POST /v1/oauth2/revoke (RFC 7009 section 2). Tokens that are unknown, already
// dead or issued to another client are answered with 200 and left alone
// (section 2.2): the answer must not tell a caller which tokens exist.
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) {
	tok, caller, oerr := h.request(w, r, false)
	if oerr != nil {
		oauth.Write(w, oerr)
		return
	}
	ctx := r.Context()
	if err := h.revokeToken(ctx, tok, caller); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) revokeToken(ctx context.Context, tok string, caller store.Client) error {
	now := h.Now()
	if strings.HasPrefix(tok, secret.RefreshPrefix) {
		rt, _, err := h.Store.RefreshTokenGrant(ctx, h.Hasher.Hash(tok), now)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrRevoked) {
			return nil
		}
		if err != nil {
			return err
		}
		if rt.ClientID != caller.ID {
			return nil
		}
		return h.Store.RevokeGrant(ctx, rt.GrantID, now)
	}
	c, err := h.Tokens.Parse(tok)
	if err != nil || c.ClientID != caller.ID {
		return nil
	}
	return h.Store.RevokeAccessToken(ctx, c.ID, time.Unix(c.ExpiresAt, 0))
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.Logger.ErrorContext(r.Context(), "token lookup failed", "err", err)
	w.Header().Set("Retry-After", "1")
	oauth.Write(w, &oauth.Error{Code: oauth.ServerError, Description: "the token could not be checked; try again", Status: http.StatusServiceUnavailable})
}
