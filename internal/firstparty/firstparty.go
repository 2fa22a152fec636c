package firstparty

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/authorize"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Handler serves the first-party sign-in. Set its fields before serving and
// do not change them afterwards.
type Handler struct {
	Store     store.Store
	Clients   *clientauth.Authenticator
	Passwords *password.Hasher
	// MFA checks second factors; nil means no user is asked for one (and
	// no one can get a StepUp scope).
	MFA    *mfa.Service
	Codes  *authorize.CodeIssuer
	StepUp mfa.StepUp // scopes only users with MFA may get
	// RateLimit charges every request to the authentication category
	// (DESIGN.md section 6); nil for none.
	RateLimit *ratelimit.Policy
	Issuer    string // names the account page in the step-up refusal
	Now       func() time.Time
	Logger    *slog.Logger
}

// Authorize serves POST /v1/oauth2/authorize.
func (h *Handler) Authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params, oerr := oauth.ParseBody(w, r)
	if oerr != nil {
		oauth.Write(w, oerr)
		return
	}
	email := strings.ToLower(strings.TrimSpace(params["email"]))
	if !h.allow(w, r, params, email) {
		return
	}
	if err := h.authorize(ctx, w, r, params, email); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handler) authorize(ctx context.Context, w http.ResponseWriter, r *http.Request, params oauth.Params, email string) error {
	client, oerr := h.firstPartyClient(ctx, r, params)
	if oerr != nil {
		return oerr
	}
	pw := params["password"]
	if email == "" || pw == "" {
		return oauth.Errorf(oauth.InvalidRequest, "email and password are required")
	}
	scopes, oerr := authorize.ParseScopes(params["scope"], client)
	if oerr != nil {
		return oerr
	}
	// Optional here: an app that signs in without a browser has nowhere to
	// be redirected. One that is given must be registered, and the token
	// request must then repeat it (RFC 6749 section 4.1.3).
	redirectURI := params["redirect_uri"]
	if redirectURI != "" && !registry.MatchRedirectURI(client.RedirectURIs, redirectURI) {
		return oauth.Errorf(oauth.InvalidRequest, "redirect_uri is not registered for this client")
	}
	challenge, method := params["code_challenge"], params["code_challenge_method"]
	if oerr := authorize.CheckPKCE(challenge, method, client); oerr != nil {
		return oerr
	}

	u, ok, err := authorize.CheckPassword(ctx, h.Store, h.Passwords, h.Logger, email, pw)
	if err != nil {
		return err
	}
	if !ok {
		// The same answer for an unknown email and a wrong password.
		return &oauth.Error{Code: oauth.AccessDenied, Description: "the email or password is incorrect", Status: http.StatusUnauthorized}
	}
	if oerr := authorize.CheckUser(scopes, u); oerr != nil {
		oerr.Status = http.StatusForbidden
		return oerr
	}
	mfaOn := false
	if h.MFA != nil {
		if mfaOn, err = h.MFA.Enabled(ctx, u.ID); err != nil {
			return err
		}
	}
	if need := h.StepUp.Required(scopes); need != nil && !mfaOn {
		return h.enrollFirst(need)
	}

	if mfaOn {
		token, c, err := h.MFA.NewChallenge(ctx, store.MFAChallenge{
			Purpose: store.MFAFirstParty, UserID: u.ID, ClientID: client.ID,
			RedirectURI: redirectURI, Scopes: scopes, CodeChallenge: challenge, CodeChallengeMethod: method,
		})
		if err != nil {
			return err
		}
		oauth.WriteJSON(w, http.StatusForbidden, protocol.ErrorResponse{
			Error:            oauth.InsufficientAuthorization,
			ErrorDescription: "the user has two-step verification: send a 6-digit code with the session_token to " + protocol.MFAVerifyPath,
			MFARequired:      true,
			SessionToken:     token,
			ExpiresIn:        int64(c.ExpiresAt.Sub(c.CreatedAt) / time.Second),
		})
		return nil
	}
	return h.issue(ctx, w, authorize.Authorization{
		ClientID: client.ID, UserID: u.ID, RedirectURI: redirectURI, Scopes: scopes,
		CodeChallenge: challenge, CodeChallengeMethod: method,
		AuthTime: h.Now(), AMR: []string{"pwd"},
	})
}

// Verify serves POST /v1/oauth2/mfa/verify.
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params, oerr := oauth.ParseBody(w, r)
	if oerr != nil {
		oauth.Write(w, oerr)
		return
	}
	// The rate-limit key names the challenge's user when the token is live
	// and was given to this client; otherwise the source address.
	var c store.MFAChallenge
	live := false
	if token := params["session_token"]; token != "" && h.MFA != nil {
		var err error
		c, err = h.MFA.Challenge(ctx, token)
		switch {
		case err == nil:
			live = c.Purpose == store.MFAFirstParty && c.ClientID == requestClientID(r, params)
		case !errors.Is(err, mfa.ErrChallengeDead):
			h.writeError(w, r, err)
			return
		}
	}
	email := ""
	if live {
		u, err := h.Store.UserByID(ctx, c.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.writeError(w, r, err)
			return
		}
		email = u.Email
	}
	if !h.allow(w, r, params, email) {
		return
	}
	if err := h.verify(ctx, w, r, params, c, live); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handler) verify(ctx context.Context, w http.ResponseWriter, r *http.Request, params oauth.Params, c store.MFAChallenge, live bool) error {
	client, oerr := h.firstPartyClient(ctx, r, params)
	if oerr != nil {
		return oerr
	}
	if _, oerr := params.Require("session_token"); oerr != nil {
		return oerr
	}
	code, oerr := params.Require("code")
	if oerr != nil {
		return oerr
	}
	dead := oauth.Errorf(oauth.InvalidGrant, "the session token is invalid, expired, already used or out of attempts: sign in again")
	if !live || c.ClientID != client.ID {
		return dead
	}
	done, err := h.MFA.Answer(ctx, c, mfa.TOTPCode, code)
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		return oauth.Errorf(oauth.InvalidMFACode, "the code is wrong or was already used")
	case errors.Is(err, mfa.ErrChallengeDead):
		return dead
	case err != nil:
		return err
	}
	// The client's settings may have changed while the user looked for
	// the code; the code must not carry a scope it has lost.
	for _, s := range done.Scopes {
		if !slices.Contains(client.Scopes, s) {
			return oauth.Errorf(oauth.InvalidScope, "scope %s is not enabled for this client", s)
		}
	}
	return h.issue(ctx, w, authorize.Authorization{
		ClientID: client.ID, UserID: done.UserID, RedirectURI: done.RedirectURI, Scopes: done.Scopes,
		CodeChallenge: done.CodeChallenge, CodeChallengeMethod: done.CodeChallengeMethod,
		AuthTime: h.Now(), AMR: []string{"pwd", "otp"},
	})
}

// firstPartyClient authenticates the client and checks that it may sign
// users in with a password.
func (h *Handler) firstPartyClient(ctx context.Context, r *http.Request, params oauth.Params) (store.Client, *oauth.Error) {
	auth, oerr := h.Clients.Authenticate(ctx, r, params)
	if oerr != nil {
		return store.Client{}, oerr
	}
	if !auth.Client.FirstParty {
		return store.Client{}, oauth.Errorf(oauth.UnauthorizedClient,
			"only first-party clients may sign users in with a password; use the authorization code flow at /oauth2/authorize")
	}
	return auth.Client, nil
}

// issue writes the 200 answer with a new authorization code.
func (h *Handler) issue(ctx context.Context, w http.ResponseWriter, a authorize.Authorization) error {
	code, err := h.Codes.Issue(ctx, a)
	if err != nil {
		return err
	}
	oauth.WriteJSON(w, http.StatusOK, protocol.AuthorizeResponse{AuthorizationCode: code})
	return nil
}

// enrollFirst refuses a step-up scope to a user without MFA, saying how to
// get it.
func (h *Handler) enrollFirst(need []string) *oauth.Error {
	return &oauth.Error{
		Code: oauth.AccessDenied,
		Description: strings.Join(need, " and ") + " requires two-step verification: turn it on at " +
			h.Issuer + "/account/security, then sign in again",
		Status: http.StatusForbidden,
	}
}

// allow charges the request to the authentication category: keyed by the
// client and the user's email when the request names one, else by the
// client and the source address. It writes the 429 itself.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, params oauth.Params, email string) bool {
	if h.RateLimit == nil {
		return true
	}
	key := requestClientID(r, params) + "|" + email
	if email == "" {
		key = requestClientID(r, params) + "|ip:" + ratelimit.RemoteIP(r)
	}
	return h.RateLimit.Allow(w, r, ratelimit.Authentication, key)
}

// requestClientID is the client id the request claims, before it is
// authenticated: from HTTP Basic or the body.
func requestClientID(r *http.Request, params oauth.Params) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
	}
	return params["client_id"]
}

// writeError renders protocol errors as they are and hides every other
// failure behind server_error, logging the cause.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if oerr, ok := errors.AsType[*oauth.Error](err); ok {
		oauth.Write(w, oerr)
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	h.Logger.ErrorContext(r.Context(), "first-party sign-in failed", "err", err)
	w.Header().Set("Retry-After", "1")
	oauth.Write(w, &oauth.Error{Code: oauth.ServerError, Description: "the request could not be completed; try again", Status: http.StatusServiceUnavailable})
}
