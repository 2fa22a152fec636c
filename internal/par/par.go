package par

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// TTL is the lifetime of a pushed request: long enough to send the browser
// to the authorization endpoint, short enough that a leaked request_uri is
// soon worthless (RFC 9126 section 2.2 suggests 5 to 600 seconds).
const TTL = 60 * time.Second

// maxKeyedClientID bounds the client_id a rate-limit key is made of, as at
// the token endpoint.
const maxKeyedClientID = 100

// Validator checks the parameters of a pushed request for an authenticated
// client with the authorization endpoint's rules: authorize.Handler. It
// returns the parameters to store, or an *oauth.Error for the client; any
// other error is internal.
type Validator interface {
	ValidatePushed(client store.Client, params url.Values) (url.Values, error)
}

// Handler serves POST /v1/oauth2/par. Set its fields before serving.
type Handler struct {
	Store     store.PARStore
	Hasher    *secret.Hasher // hashes the request_uri for the store
	Clients   *clientauth.Authenticator
	Validator Validator
	// RateLimit charges every request to the authentication category,
	// keyed on the client it names and the source address; nil for none.
	RateLimit *ratelimit.Policy
	// DPoP checks a DPoP proof sent with the push (RFC 9449 section
	// 10.1); DPoPFAPI2 those of FAPI 2.0 clients (docs/fapi.md). nil
	// leaves the header unread.
	DPoP, DPoPFAPI2 *dpop.Verifier
	URL             string           // this endpoint's public URL, the proofs' htu
	Now             func() time.Time // defaults to time.Now
	Logger          *slog.Logger     // defaults to discarding
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := h.serve(r.Context(), w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// RFC 9126 section 2.2: 201 Created, never cached.
	oauth.WriteJSON(w, http.StatusCreated, resp)
}

func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (*protocol.PARResponse, error) {
	p, oerr := oauth.ParseBody(w, r)
	if oerr != nil {
		return nil, oerr
	}
	if h.RateLimit != nil && !h.RateLimit.Disabled {
		d := h.RateLimit.Check(r, ratelimit.Authentication, limitKey(r, p))
		d.SetHeaders(w.Header())
		if oerr := d.Err(); oerr != nil {
			return nil, oerr
		}
	}
	auth, oerr := h.Clients.Authenticate(ctx, r, p)
	if oerr != nil {
		return nil, oerr
	}
	params := url.Values{}
	for k, v := range p {
		params.Set(k, v)
	}
	if err := h.bindProof(ctx, w, r, auth.Client, params); err != nil {
		return nil, err
	}
	stored, err := h.Validator.ValidatePushed(auth.Client, params)
	if err != nil {
		return nil, err
	}
	uri, random := NewRequestURI()
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	err = h.Store.SavePushedRequest(ctx, store.PushedRequest{
		Hash: h.Hasher.Hash(random), ClientID: auth.Client.ID, Params: stored,
		CreatedAt: now, ExpiresAt: now.Add(TTL),
	})
	if err != nil {
		return nil, fmt.Errorf("par: save: %w", err)
	}
	return &protocol.PARResponse{RequestURI: uri, ExpiresIn: int64(TTL / time.Second)}, nil
}

// bindProof checks the push's DPoP proof, if any, and binds the request to
// its key (RFC 9449 section 10.1): dpop_jkt becomes the proof's thumbprint,
// and a dpop_jkt naming another key is refused. A proof that fails is 400
// invalid_dpop_proof, or use_dpop_nonce with the DPoP-Nonce header.
func (h *Handler) bindProof(ctx context.Context, w http.ResponseWriter, r *http.Request, client store.Client, params url.Values) error {
	v := h.DPoP
	if client.FAPI2() {
		v = h.DPoPFAPI2
	}
	if v == nil {
		return nil
	}
	if nonce := v.Nonce(); nonce != "" {
		w.Header().Set(dpop.NonceHeader, nonce)
	}
	proofs := r.Header.Values(dpop.Header)
	if len(proofs) == 0 {
		return nil
	}
	proof, err := v.Verify(ctx, dpop.Request{Proofs: proofs, Method: r.Method, URL: h.URL})
	if dpop.Replayed(err) {
		h.logger().WarnContext(ctx, "DPoP proof replayed at the PAR endpoint; refused",
			"client_id", client.ID, "source", ratelimit.RemoteIP(r))
	}
	if bad, ok := errors.AsType[*dpop.Error](err); ok {
		return oauth.Errorf(bad.Code, "%s", bad.Description)
	}
	if err != nil {
		return err
	}
	if jkt := params.Get("dpop_jkt"); jkt != "" && jkt != proof.JKT {
		return oauth.Errorf(oauth.InvalidRequest, "dpop_jkt is not the thumbprint of the DPoP proof's key (RFC 9449 section 10.1)")
	}
	params.Set("dpop_jkt", proof.JKT)
	return nil
}

// writeError renders protocol errors as they are and hides every other
// failure behind a 503 server_error, logging the cause.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if oerr, ok := errors.AsType[*oauth.Error](err); ok {
		oauth.Write(w, oerr)
		return
	}
	h.logger().ErrorContext(r.Context(), "pushed authorization request failed", "err", err)
	oauth.Write(w, &oauth.Error{Code: oauth.ServerError, Description: "the request could not be stored; try again", Status: http.StatusServiceUnavailable})
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// limitKey is the authentication rate-limit key of a push
// (docs/rate-limits.md#how-requests-are-keyed): the client the request
// names, as named before it is authenticated, and the source address, so
// that guessing a client's credentials from one address is throttled.
func limitKey(r *http.Request, p oauth.Params) string {
	clientID := p["client_id"]
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			clientID = id
		}
	}
	if len(clientID) > maxKeyedClientID {
		clientID = "(invalid)"
	}
	return "par client=" + clientID + " addr=" + ratelimit.RemoteIP(r)
}
