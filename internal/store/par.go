package store

import (
	"context"
	"net/url"
	"time"
)

// PARStore keeps pushed authorization requests (RFC 9126) between the push
// and their one use at the authorization endpoint.
type PARStore interface {
	// SavePushedRequest stores r; ErrConflict if its hash is taken.
	SavePushedRequest(ctx context.Context, r PushedRequest) error
	// TakePushedRequest returns the live request stored under hash for
	// clientID and deletes it in the same statement, so of concurrent
	// calls, on any number of instances, exactly one gets it (RFC 9126
	// section 4: a request_uri is used once). ErrNotFound if there is
	// none: never stored, already taken, expired at now, or pushed by
	// another client (whose request stays usable). DeleteExpired removes
	// the ones never taken.
	TakePushedRequest(ctx context.Context, hash, clientID string, now time.Time) (PushedRequest, error)
}

// PushedRequest is an authorization request validated when it was pushed.
type PushedRequest struct {
	// Hash is the keyed hash of the random part of the request_uri; the
	// request_uri itself is never stored.
	Hash     string
	ClientID string
	// Params are the authorization request's parameters, one value each.
	Params    url.Values
	CreatedAt time.Time
	ExpiresAt time.Time
}
