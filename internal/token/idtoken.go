package token

import (
	"context"
	"errors"
	"slices"

	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// withIDToken adds an ID token to resp when the grant carries openid
// (OpenID Connect Core 1.0 section 3.1.3.3), bound to resp's access token
// by at_hash. The grant's tokens are already stored, so a failure here is
// answered as the endpoint answers any other (server_error), except that a
// user deleted since the sign-in gets invalid_grant: there is no one to
// say anything about.
func (h *Handler) withIDToken(ctx context.Context, resp *protocol.TokenResponse, r idtoken.Request) (*protocol.TokenResponse, error) {
	if h.IDTokens == nil || !slices.Contains(r.Scopes, scope.OpenID) {
		return resp, nil
	}
	r.AccessToken = resp.AccessToken
	tok, _, err := h.IDTokens.Issue(ctx, r)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.Errorf(oauth.InvalidGrant, "the user of this grant no longer exists")
	}
	if err != nil {
		return nil, err
	}
	resp.IDToken = tok
	return resp, nil
}
