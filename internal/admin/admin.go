package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Tokens decides whether an access token is live, answering as
// introspection does (RFC 7662 section 2.2). The introspection handler is
// the implementation; the server wires it in, so this package needs only
// the answer's type.
type Tokens interface {
	Check(ctx context.Context, token string) (protocol.IntrospectionResponse, error)
}

// Store is what the admin API reads and writes: clients, and the users
// who own them.
type Store interface {
	store.ClientStore
	store.UserFinder
}

// Handler serves the admin API. Set its fields, then call Register once.
type Handler struct {
	Store  Store
	Hasher *secret.Hasher // hashes new client secrets
	Tokens Tokens
	// Requests, when set, checks how each request presents its token
	// before Tokens decides whether it is live: a bearer token with the
	// Bearer scheme, a DPoP-bound one with the DPoP scheme and a proof of
	// its key (RFC 9449 section 7.1). Without it only bearer tokens are
	// accepted.
	Requests *bearer.Verifier
	Now      func() time.Time
	Logger   *slog.Logger
}

// maxBody bounds a request body; a client's JSON is well under 8 KiB.
const maxBody = 64 << 10

// adminFunc is a route that runs for an authenticated administrator.
type adminFunc func(w http.ResponseWriter, r *http.Request, admin store.User)

// Register fills in defaults and mounts the routes listed in the package
// documentation on mux (an *http.ServeMux, or server.New's record of one).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) {
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	mux.Handle("GET /admin/v1/clients", h.authorized(h.list))
	mux.Handle("POST /admin/v1/clients", h.authorized(h.create))
	mux.Handle("GET /admin/v1/clients/{id}", h.authorized(h.withClient(h.get)))
	mux.Handle("PATCH /admin/v1/clients/{id}", h.authorized(h.withClient(h.update)))
	mux.Handle("DELETE /admin/v1/clients/{id}", h.authorized(h.withClient(h.delete)))
	mux.Handle("POST /admin/v1/clients/{id}/secret", h.authorized(h.withClient(h.rotate)))
	mux.Handle("POST /admin/v1/clients/{id}/disable", h.authorized(h.withClient(h.setDisabled(true))))
	mux.Handle("POST /admin/v1/clients/{id}/enable", h.authorized(h.withClient(h.setDisabled(false))))
}

// authorized lets a request through only with a live access token that
// carries the admin scope and belongs to a current administrator.
func (h *Handler) authorized(next adminFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, err := bearer.CredentialsFromRequest(r)
		switch {
		case err != nil:
			challenge(w, http.StatusBadRequest, oauth.InvalidRequest, err.Error())
			return
		case cred.Token == "" || (h.Requests == nil && cred.Scheme != bearer.SchemeBearer):
			challenge(w, http.StatusUnauthorized, "", "send an access token with the admin scope: Authorization: Bearer TOKEN")
			return
		}
		ctx := r.Context()
		if h.Requests != nil {
			// The token's signature, its scheme and, for a bound token,
			// the proof; Tokens then asks the store whether it is live.
			if _, err := h.Requests.VerifyRequest(ctx, r); err != nil {
				if bad, ok := errors.AsType[*bearer.RequestError](err); ok {
					h.Requests.Refuse(w, bad, "")
					return
				}
				h.serverError(w, r, "check token", err)
				return
			}
		}
		resp, err := h.Tokens.Check(ctx, cred.Token)
		if err != nil {
			h.serverError(w, r, "check token", err)
			return
		}
		if !resp.Active || (h.Requests == nil && resp.TokenType != protocol.TokenTypeBearer) {
			challenge(w, http.StatusUnauthorized, oauth.InvalidToken, "the access token is invalid, expired or revoked")
			return
		}
		if !scopeHas(resp.Scope, scope.Admin) {
			challenge(w, http.StatusForbidden, oauth.InsufficientScope, "this API needs a token with the admin scope")
			return
		}
		u, err := h.Store.UserByID(ctx, resp.Subject)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.serverError(w, r, "token user", err)
			return
		}
		if err != nil || !u.Admin {
			challenge(w, http.StatusForbidden, oauth.InsufficientScope, "the token's user is not an administrator")
			return
		}
		next(w, r, u)
	})
}

// challenge writes an RFC 6750 section 3 error with package bearer's
// writer, the one every refusal of a bearer token goes through, in the
// realm "aries"; an insufficient_scope challenge names the scope this API
// needs.
func challenge(w http.ResponseWriter, status int, code, description string) {
	need := ""
	if code == oauth.InsufficientScope {
		need = scope.Admin
	}
	bearer.WriteChallenge(w, bearer.DefaultRealm, status, code, description, need)
}

func scopeHas(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == want {
			return true
		}
	}
	return false
}

// decode reads a JSON body into v: application/json only, bounded, no
// unknown fields, exactly one value.
func decode(w http.ResponseWriter, r *http.Request, v any) *oauth.Error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &oauth.Error{Code: oauth.InvalidRequest, Description: "the body must be application/json", Status: http.StatusUnsupportedMediaType}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &oauth.Error{Code: oauth.InvalidRequest, Description: fmt.Sprintf("the body is larger than %d bytes", maxBody), Status: http.StatusRequestEntityTooLarge}
		}
		return oauth.Errorf(oauth.InvalidRequest, "the body is not valid JSON for this request: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return oauth.Errorf(oauth.InvalidRequest, "the body must hold one JSON object")
	}
	return nil
}

func (h *Handler) notFound(w http.ResponseWriter) {
	oauth.Write(w, &oauth.Error{Code: oauth.NotFound, Description: "no such client", Status: http.StatusNotFound})
}

// serverError logs err (the store is unreachable) and answers 503, with
// Retry-After, without details.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, op string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.Logger.ErrorContext(r.Context(), op, "err", err)
	oauth.Write(w, &oauth.Error{Code: oauth.ServerError, Description: "the request could not be completed; try again", Status: http.StatusServiceUnavailable})
}
