package introspect

import (
	"context"
	"errors"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Live reports whether an access token whose signature and claims passed
// package bearer is still live: its jti not revoked (RFC 7009), its grant
// not revoked, its client still there and enabled. It is what
// introspection asks the store on top of the token's own checks, and what
// in-process users of package bearer (the UserInfo endpoint) hook in as
// bearer.Config.Revoked, so every endpoint kills the same tokens. An error
// means the store could not be read.
func (h *Handler) Live(ctx context.Context, c *protocol.Claims) (bool, error) {
	if revoked, err := h.Store.AccessTokenRevoked(ctx, c.JTI); revoked || err != nil {
		return false, err
	}
	if c.GrantID != "" {
		g, err := h.Store.Grant(ctx, c.GrantID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !g.RevokedAt.IsZero() {
			return false, nil
		}
	}
	return h.clientLive(ctx, c.ClientID)
}
