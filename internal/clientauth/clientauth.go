// Package clientauth authenticates OAuth clients at the endpoints that take
// client credentials: token, pushed authorization requests, revocation,
// introspection, first-party sign-in and MFA verification. Each client
// authenticates one way, its token_endpoint_auth_method (RFC 7591 section
// 2, docs/fapi.md#client-authentication-methods--private_key_jwt):
// client_secret_basic or client_secret_post (RFC 6749 section 2.3.1; a
// confidential client registered without a choice may use either),
// private_key_jwt (RFC 7523 sections 2.2 and 3, assertion.go), or none, a
// public client identified by client_id alone (RFC 6749 section 2.1, RFC
// 7636).
//
// Client secrets are 256-bit random strings, so a keyed SHA-256 (package
// secret) verifies them in microseconds: this sits on the token endpoint's
// hot path, where a password KDF would cost milliseconds per request.
package clientauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ariesexchange/aries/internal/accesslog"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/dpop"
)

// Authenticator checks client credentials against the store.
type Authenticator struct {
	Store  store.ClientFinder
	Hasher *secret.Hasher
	// OnStoreError, if set, is told of a store failure (the database or
	// the replay cache is unreachable): for the log and the store-errors
	// metric. The caller sees only a 503 asking it to retry.
	OnStoreError func(context.Context, error)

	// Issuer is the server's issuer identifier (RFC 8414), the audience a
	// client assertion should name; Audiences are the other URLs it may
	// name (the token and PAR endpoints). The URL of the endpoint called,
	// Issuer plus the request's path, is accepted as well.
	Issuer    string
	Audiences []string
	// Replay remembers the jti of accepted assertions; every instance must
	// share it. Nil keeps them in this process's memory.
	Replay ReplayCache
	// Now is the clock assertions are checked by; nil means time.Now.
	Now func() time.Time
	// Logger receives the security events (a failed or replayed
	// assertion, a client using another method than its own) at WARN;
	// nil logs nothing.
	Logger *slog.Logger

	cache      keyCache
	memoryOnce sync.Once
	memory     ReplayCache
}

// Result is an authenticated client and how it authenticated.
type Result struct {
	Client store.Client
	Basic  bool // credentials came in the Authorization header
	// Method is the token_endpoint_auth_method the client used:
	// client_secret_basic, client_secret_post, private_key_jwt or none.
	Method string
}

// Authenticate identifies the client of r, whose body parameters are p,
// and checks that it authenticated the one way it is registered for.
// Failures are 401 invalid_client (with a Basic challenge when the client
// used Basic) and say nothing about which part was wrong; using two methods
// at once is invalid_request (RFC 6749 section 2.3).
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, p oauth.Params) (Result, *oauth.Error) {
	res, oerr := a.authenticate(ctx, r, p)
	if oerr == nil {
		accesslog.SetClient(ctx, res.Client.ID) // for the request's access log line
	}
	return res, oerr
}

func (a *Authenticator) authenticate(ctx context.Context, r *http.Request, p oauth.Params) (Result, *oauth.Error) {
	_, hasType := p["client_assertion_type"]
	if _, hasAssertion := p["client_assertion"]; hasAssertion || hasType {
		return a.assertion(ctx, r, p)
	}
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
	c, oerr := a.client(ctx, id)
	if oerr != nil {
		return Result{}, oerr
	}
	if c == nil || c.Disabled {
		// Do the same hashing work as for a known client so timing does not
		// tell which client ids exist.
		a.Hasher.Verify(secretGiven, "")
		return Result{}, fail
	}
	if c.Type == store.Public {
		if secretGiven != "" {
			return Result{}, oauth.ClientError("a public client has no client_secret", basic)
		}
		return Result{Client: *c, Basic: basic, Method: store.AuthNone}, nil
	}
	method := store.AuthSecretPost
	if basic {
		method = store.AuthSecretBasic
	}
	// The hash is checked whatever the method, so a refusal for the method
	// takes as long as one for the secret.
	good := secretGiven != "" && a.Hasher.Verify(secretGiven, c.SecretHash)
	switch c.TokenEndpointAuthMethod {
	case "", method:
	default:
		// A secret sent another way than the client registered, or sent at
		// all by a private_key_jwt client (which has none): refused even
		// when right, so a client's method is the only way in.
		a.warn(ctx, r, id, "the client authenticated with "+method+", not its "+c.TokenEndpointAuthMethod)
		return Result{}, fail
	}
	if !good {
		return Result{}, fail
	}
	return Result{Client: *c, Basic: basic, Method: method}, nil
}

// client reads client id from the store: nil when there is none, a 503
// when the store cannot be asked.
func (a *Authenticator) client(ctx context.Context, id string) (*store.Client, *oauth.Error) {
	c, err := a.Store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		if a.OnStoreError != nil {
			a.OnStoreError(ctx, err)
		}
		// 503: the store is unreachable, which passes; oauth.Write adds
		// Retry-After.
		return nil, &oauth.Error{Code: oauth.ServerError, Description: "the client could not be checked; try again", Status: http.StatusServiceUnavailable}
	}
	return &c, nil
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

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// replay is the jti cache: Replay, or one in this process's memory.
func (a *Authenticator) replay() ReplayCache {
	if a.Replay != nil {
		return a.Replay
	}
	a.memoryOnce.Do(func() {
		m := dpop.NewMemoryReplayCache(0)
		m.Now = a.now
		a.memory = m
	})
	return a.memory
}

// warn logs a refused client authentication as a security event: the
// client it named and the source address, never a secret or assertion.
func (a *Authenticator) warn(ctx context.Context, r *http.Request, clientID, reason string) {
	if a.Logger == nil {
		return
	}
	a.Logger.WarnContext(ctx, "client authentication refused",
		"client_id", clientID, "reason", reason, "source", ratelimit.RemoteIP(r))
}
