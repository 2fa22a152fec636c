// Package clientauth authenticates OAuth clients at the endpoints that take
// client credentials: token, revocation, introspection and first-party
// sign-in. It implements RFC 6749 section 2.3.1 (client_secret_basic and
// client_secret_post) and public clients identified by client_id alone
// (RFC 6749 section 2.1, RFC 7636).
//
// Client secrets are 256-bit random strings, so a keyed SHA-256 (package
// secret) verifies them in microseconds: this sits on the token endpoint's
// hot path, where a password KDF would cost milliseconds per request.
package clientauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

// Authenticator checks client credentials against the store.
type Authenticator struct {
	Store  store.ClientFinder
	Hasher *secret.Hasher
	// OnStoreError, if set, is told of a store failure (the database is
	// unreachable): for the log and the store-errors metric. The caller
	// sees only a 503 asking it to retry.
	OnStoreError func(context.Context, error)
}

// Result is an authenticated client and how it authenticated.
type Result struct {
	Client store.Client
	Basic  bool // credentials came in the Authorization header
}

// Authenticate identifies the client of r, whose body parameters are p.
// Failures are 401 invalid_client (with a Basic challenge when the client
// used Basic) and say nothing about which part was wrong; using two methods
// at once is invalid_request (RFC 6749 section 2.3).
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, p oauth.Params) (Result, *oauth.Error) {
	id, secretGiven, basic, oerr := credentials(r, p)
	if oerr != nil {
		return Result{}, oerr
	}
	fail := oauth.ClientError("client authentication failed", basic)
	if id == "" {
		return Result{}, oauth.ClientError("client_id is required", basic)
	}
	if !oauth.ValidIdentifier(id) {
		// No client has such an id; the store is not asked: PostgreSQL would
		// fail on a NUL byte or bad UTF-8
		// (docs/security.md#identifiers-are-checked-before-the-store).
		return Result{}, fail
	}
	c, err := a.Store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Do the same hashing work as for a known client so timing does not
		// tell which client ids exist.
		a.Hasher.Verify(secretGiven, "")
		return Result{}, fail
	}
	if err != nil {
		if a.OnStoreError != nil {
			a.OnStoreError(ctx, err)
		}
		// 503: the store is unreachable, which passes; oauth.Write adds
		// Retry-After.
		return Result{}, &oauth.Error{Code: oauth.ServerError, Description: "the client could not be checked; try again", Status: http.StatusServiceUnavailable}
	}
	if c.Disabled {
		a.Hasher.Verify(secretGiven, "")
		return Result{}, fail
	}
	switch c.Type {
	case store.Public:
		if secretGiven != "" {
			return Result{}, oauth.ClientError("a public client has no client_secret", basic)
		}
	default:
		if secretGiven == "" || !a.Hasher.Verify(secretGiven, c.SecretHash) {
			return Result{}, fail
		}
	}
	return Result{Client: c, Basic: basic}, nil
}

// credentials extracts the client id and secret from the Authorization
// header or the body, refusing a request that mixes them.
func credentials(r *http.Request, p oauth.Params) (id, sec string, basic bool, _ *oauth.Error) {
	if r.Header.Get("Authorization") == "" {
		return p["client_id"], p["client_secret"], false, nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", true, oauth.ClientError("the Authorization header must use the Basic scheme", true)
	}
	// RFC 6749 section 2.3.1: both parts are form-urlencoded before base64.
	uid, err1 := url.QueryUnescape(user)
	usec, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return "", "", true, oauth.ClientError("malformed Basic credentials", true)
	}
	if _, ok := p["client_secret"]; ok {
		return "", "", true, oauth.Errorf(oauth.InvalidRequest, "send client credentials in the Authorization header or in the body, not both")
	}
	if bodyID, ok := p["client_id"]; ok && bodyID != uid {
		return "", "", true, oauth.Errorf(oauth.InvalidRequest, "client_id in the body differs from the Authorization header")
	}
	return uid, usec, true, nil
}
