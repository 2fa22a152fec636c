package authorize

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/par"
	"github.com/ariesexchange/aries/internal/store"
)

// ContinuationTTL is how long a pushed request waits for the user between
// the pages of one authorization (sign-in, TOTP step, consent). The pushed
// request itself lives par.TTL; once used, the pages carry it on under a
// fresh request_uri of their own, so no page repeats its parameters and
// every request_uri still works once.
const ContinuationTTL = 10 * time.Minute

// mustPush reports whether client may only send pushed authorization
// requests (RFC 9126 section 5): every client under --require-par, a
// client registered with require_pushed_authorization_requests, and every
// FAPI 2.0 client.
func (h *Handler) mustPush(c store.Client) bool {
	return h.RequirePAR || c.RequirePAR || c.FAPI2()
}

// parsePushed validates an authorization request that names a pushed one
// by client_id and request_uri (RFC 9126 section 4). The pushed request is
// taken from the store, so it serves once; the request's other parameters
// are ignored. Errors are as parse's; a request_uri that is unknown,
// expired, used or another client's is invalid_request_uri.
func (h *Handler) parsePushed(ctx context.Context, q url.Values) (*request, error) {
	vals, dups := single(q, paramClientID, paramRequestURI)
	client, err := h.client(ctx, vals.Get(paramClientID), slices.Contains(dups, paramClientID))
	if err != nil {
		return nil, err
	}
	random, ok := par.Random(vals.Get(paramRequestURI))
	if !ok || slices.Contains(dups, paramRequestURI) {
		return h.requestURIError(client)
	}
	pr, err := h.Store.TakePushedRequest(ctx, h.Hasher.Hash(random), client.ID, h.Now())
	if errors.Is(err, store.ErrNotFound) {
		return h.requestURIError(client)
	}
	if err != nil {
		return nil, fmt.Errorf("authorize: take pushed request: %w", err)
	}
	pushed, dups := single(pr.Params)
	pushed.Set(paramClientID, client.ID)
	// Validated again: the client's registration may have changed since.
	return h.validate(client, pushed, dups, true)
}

// requestURIError answers a request_uri that names no usable request. Its
// parameters, and so its redirect URI and state, are gone: the error goes
// back to the client only when it has registered one redirect URI, which
// RFC 6749 section 3.1.2.3 lets a request leave out; otherwise it is a
// page.
func (h *Handler) requestURIError(c store.Client) (*request, error) {
	e := oauth.Errorf(oauth.InvalidRequestURI, "request_uri is unknown, expired or already used; push the request again")
	if len(c.RedirectURIs) != 1 {
		return nil, &pageError{code: oauth.InvalidRequestURI, title: "Expired request",
			description: "This sign-in link has expired or was already used. Go back to the application and start again."}
	}
	return &request{client: c, redirectURI: c.RedirectURIs[0], params: url.Values{}}, e
}

// returnURL is the authorization endpoint URL that resumes req with params
// after a page: the parameters themselves for a request sent as such; for
// a pushed request, a fresh request_uri for them, which works once within
// ContinuationTTL, so a pushed request is never replayed from a page's
// URL. redirect_uri goes along only for the sign-in page's display
// (flowOf); the authorization endpoint ignores it.
func (h *Handler) returnURL(ctx context.Context, req *request, params url.Values) (string, error) {
	if !req.pushed {
		return authorizePath + "?" + params.Encode(), nil
	}
	uri, err := h.push(ctx, req.client.ID, params, ContinuationTTL)
	if err != nil {
		return "", err
	}
	q := url.Values{paramClientID: {req.client.ID}, paramRedirectURI: {req.redirectURI}, paramRequestURI: {uri}}
	return authorizePath + "?" + q.Encode(), nil
}

// push stores params as a pushed request of clientID for ttl and returns
// its request_uri.
func (h *Handler) push(ctx context.Context, clientID string, params url.Values, ttl time.Duration) (string, error) {
	uri, random := par.NewRequestURI()
	now := h.Now()
	params = cloneValues(params)
	params.Del(paramClientID)
	err := h.Store.SavePushedRequest(ctx, store.PushedRequest{
		Hash: h.Hasher.Hash(random), ClientID: clientID, Params: params,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		return "", fmt.Errorf("authorize: save pushed request: %w", err)
	}
	return uri, nil
}

// ValidatePushed validates the parameters of a pushed authorization
// request from the authenticated client with the rules of the
// authorization endpoint (RFC 9126 section 2.1: all of them, now, so that
// errors reach the client in the PAR response rather than after a
// redirect). It returns the parameters to store, or an *oauth.Error for
// the PAR response (section 2.3: invalid_request where the authorization
// endpoint would show a page rather than redirect); any other error is
// internal.
func (h *Handler) ValidatePushed(client store.Client, params url.Values) (url.Values, error) {
	switch {
	case params.Has(paramRequestURI):
		return nil, oauth.Errorf(oauth.InvalidRequest, "request_uri must not be pushed (RFC 9126 section 2.1)")
	case params.Has(paramRequest):
		return nil, oauth.Errorf(oauth.InvalidRequest, "request objects (RFC 9101) are not supported: push the parameters themselves")
	}
	vals, dups := single(params)
	vals.Set(paramClientID, client.ID)
	req, err := h.validate(client, vals, dups, true)
	if pe, ok := errors.AsType[*pageError](err); ok {
		return nil, oauth.Errorf(oauth.InvalidRequest, "%s", pe.api)
	}
	if err != nil {
		return nil, err
	}
	out := cloneValues(req.params)
	out.Del(paramClientID)
	return out, nil
}
