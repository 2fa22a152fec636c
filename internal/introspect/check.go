package introspect

import (
	"context"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// Check answers what introspection would answer about tok, for callers in
// this process that guard their own routes with Aries tokens (the admin
// API): the signature, expiry, revoked jtis, the grant and the client are
// all checked. An error means the store or the keys could not be read, not
// that the token is bad; a bad token is {Active: false}.
func (h *Handler) Check(ctx context.Context, tok string) (protocol.IntrospectionResponse, error) {
	return h.lookup(ctx, tok)
}
