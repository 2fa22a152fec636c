// Package introspect serves token revocation (RFC 7009) at
// POST /v1/oauth2/revoke and token introspection (RFC 7662) at
// POST /v1/oauth2/introspect.
//
// Access tokens are JWTs, so revoking one records its jti until it expires;
// revoking a refresh token revokes its whole grant, and with it every access
// token that carries the grant's id (RFC 7009 section 2.1). Introspection is
// the authoritative answer: the signature and claims are checked by package
// bearer (sdk/bearer), the validator the API uses too, so both accept the
// same tokens; then the store is asked about the jti, the grant and the
// client.
//
// Introspection answers only confidential clients (RFC 7662 section 2.1: the
// metadata lists no "none" method for it, so a public client is 401
// invalid_client), and tells a caller about a token only when the token is
// its own or the caller is a resource server an administrator marked
// (store.Client.ResourceServer); anyone else gets {"active":false} (RFC 7662
// section 4, docs/security.md#who-may-introspect). Revocation accepts public
// clients, for their own tokens only.
package introspect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Store is what revocation and introspection read and write.
type Store interface {
	store.ClientFinder
	store.GrantStore
	store.RevocationStore
}

// Handler serves both endpoints.
type Handler struct {
	Store   Store
	Hasher  *secret.Hasher
	Clients *clientauth.Authenticator
	// Tokens checks access tokens: the server's one validator (package
	// bearer, as on the API), configured without a revocation hook because
	// lookup asks the store itself, the authoritative answer.
	Tokens *bearer.Verifier
	// Issuer is this server's issuer identifier, the "iss" of the answer
	// about a refresh token.
	Issuer string
	Now    func() time.Time
	Logger *slog.Logger
}

// inactive is the answer about a token that is not live (RFC 7662 section
// 2.2), and about one the caller may not learn about (section 4).
var inactive = protocol.IntrospectionResponse{Active: false}

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
func (h *Handler) lookup(ctx context.Context, tok string) (protocol.IntrospectionResponse, error) {
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
		resp := protocol.IntrospectionResponse{
			Active: true, Scope: scope.Join(g.Scopes), ClientID: g.ClientID, Subject: g.UserID,
			TokenType: "refresh_token", ExpiresAt: rt.ExpiresAt.Unix(), IssuedAt: rt.CreatedAt.Unix(),
			Issuer: h.Issuer, AuthTime: g.AuthTime.Unix(), AMR: g.AMR,
		}
		if rt.DPoPJKT != "" {
			// A public client's refresh token bound to its key (RFC 9449
			// section 5).
			resp.Confirmation = &protocol.Confirmation{JKT: rt.DPoPJKT}
		}
		return resp, nil
	}
	c, err := h.verify(ctx, tok)
	if c == nil || err != nil {
		return inactive, err
	}
	if live, err := h.Live(ctx, c); !live || err != nil {
		return inactive, err
	}
	resp := protocol.IntrospectionResponse{
		Active: true, Scope: scope.Join(c.Scopes), ClientID: c.ClientID, Subject: c.Subject, TokenType: protocol.TokenTypeBearer,
		ExpiresAt: c.Expiry.Unix(), IssuedAt: c.IssuedAt.Unix(), Issuer: c.Issuer, Audience: c.Audience,
		JTI: c.JTI, AuthTime: unixOrZero(c.AuthTime), AMR: c.AMR,
	}
	if c.Bound() {
		// RFC 9449 section 6.2: the resource server learns the key the
		// token is bound to, and checks the request's proof against it.
		resp.TokenType, resp.Confirmation = protocol.TokenTypeDPoP, &protocol.Confirmation{JKT: c.Confirmation.JKT}
	}
	return resp, nil
}

// verify checks an access token's signature and claims (RFC 9068 section
// 4). A token that fails is nil with no error; an error means the keys
// could not be read, so the token may be fine and the answer is 503.
func (h *Handler) verify(ctx context.Context, tok string) (*protocol.Claims, error) {
	c, err := h.Tokens.Verify(ctx, tok)
	if errors.Is(err, bearer.ErrInvalidToken) {
		return nil, nil
	}
	return c, err
}

// unixOrZero is t in seconds since the epoch, or 0 (left out of the
// answer) when t is zero: a client_credentials token has no auth_time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
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
	c, err := h.verify(ctx, tok)
	if c == nil || err != nil || c.ClientID != caller.ID {
		return err
	}
	return h.Store.RevokeAccessToken(ctx, c.JTI, c.Expiry)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.Logger.ErrorContext(r.Context(), "token lookup failed", "err", err)
	w.Header().Set("Retry-After", "1")
	oauth.Write(w, &oauth.Error{Code: oauth.ServerError, Description: "the token could not be checked; try again", Status: http.StatusServiceUnavailable})
}
