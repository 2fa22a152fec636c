package userinfo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Claims answers what a grant of scopes may know about a user;
// *idtoken.Issuer is one. store.ErrNotFound means the user is gone.
type Claims interface {
	UserInfo(ctx context.Context, userID string, scopes []string) (protocol.UserInfo, error)
}

// Handler serves the UserInfo endpoint.
type Handler struct {
	// Tokens checks the access token; give it a Revoked hook that asks
	// the store (introspect.Handler.Live).
	Tokens *bearer.Verifier
	Claims Claims
	Logger *slog.Logger
}

// Register mounts GET and POST /v1/oauth2/userinfo on mux, each wrapped
// by wrap (the server's CORS: browser apps call it from their origin).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }, wrap func(http.Handler) http.Handler) {
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	serve := wrap(h.Tokens.Require(scope.OpenID)(http.HandlerFunc(h.serve)))
	mux.Handle("GET "+protocol.UserInfoPath, serve)
	mux.Handle("POST "+protocol.UserInfoPath, serve)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	c, ok := bearer.FromContext(r.Context())
	userID := ""
	if ok {
		userID = c.UserID()
	}
	if userID == "" {
		// A client_credentials token has no user to describe.
		bearer.WriteChallenge(w, bearer.DefaultRealm, http.StatusUnauthorized, oauth.InvalidToken,
			"the access token was not issued for a user", "")
		return
	}
	info, err := h.Claims.UserInfo(r.Context(), userID, c.Scopes)
	if errors.Is(err, store.ErrNotFound) {
		bearer.WriteChallenge(w, bearer.DefaultRealm, http.StatusUnauthorized, oauth.InvalidToken,
			"the user of the access token no longer exists", "")
		return
	}
	if err != nil {
		h.Logger.ErrorContext(r.Context(), "userinfo", "err", err)
		w.Header().Set("Retry-After", "1")
		oauth.Write(w, &oauth.Error{Code: oauth.TemporarilyUnavailable, Description: "the claims could not be read; try again", Status: http.StatusServiceUnavailable})
		return
	}
	oauth.WriteJSON(w, http.StatusOK, info)
}
