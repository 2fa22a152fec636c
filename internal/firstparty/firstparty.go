package firstparty

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Handler serves the first-party sign-in. Set its fields before serving and
// do not change them afterwards.
type Handler struct {
	Store     store.UserFinder
	Clients   *clientauth.Authenticator
	Passwords *password.Hasher
	// Locks is the password lock, shared with the hosted sign-in (one lock
	// for both, docs/rate-limits.md#password-lock).
	Locks *lockout.Passwords
	// MFA checks second factors; nil means no user is asked for one (and
	// no one can get a StepUp scope).
	MFA    *mfa.Service
	Codes  *signin.CodeIssuer
	StepUp mfa.StepUp // scopes only users with MFA may get
	// RateLimit charges every request to the authentication category
	// (docs/rate-limits.md); nil for none.
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
	client, ok := h.authenticate(w, r, params)
	if !ok {
		return
	}
	// The authenticated client and the address pay for every password
	// sent, before the KDF runs: an email the body names buys nothing
	// (docs/security.md#throttles-an-attacker-cannot-steer).
	if !h.allow(w, r, client.ID+"|src:"+ratelimit.RemoteIP(r)) {
		return
	}
	if err := h.authorize(ctx, w, r, params, client); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handler) authorize(ctx context.Context, w http.ResponseWriter, r *http.Request, params oauth.Params, client store.Client) error {
	email := strings.ToLower(strings.TrimSpace(params["email"]))
	pw := params["password"]
	if email == "" || pw == "" {
		return oauth.Errorf(oauth.InvalidRequest, "email and password are required")
	}
	scopes, oerr := signin.ParseScopes(params["scope"], client)
	if oerr != nil {
		return oerr
	}
	// Optional here: an app that signs in without a browser has nowhere to
	// be redirected. One that is given must be registered, and the token
	// request must then repeat it (RFC 6749 section 4.1.3).
	redirectURI := params["redirect_uri"]
	if redirectURI != "" && !registry.MatchRedirectURI(client, redirectURI) {
		return oauth.Errorf(oauth.InvalidRequest, "redirect_uri is not registered for this client")
	}
	challenge, method := params["code_challenge"], params["code_challenge_method"]
	if oerr := signin.CheckPKCE(challenge, method, client); oerr != nil {
		return oerr
	}

	res, err := signin.CheckPassword(ctx, h.Locks, h.Store, h.Passwords, h.Logger, email, pw, ratelimit.RemoteIP(r))
	switch {
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		return &oauth.Error{Code: oauth.TemporarilyUnavailable, Description: "too many sign-ins at once; try again in a second", Status: http.StatusServiceUnavailable}
	case err != nil:
		return err
	case res.Locked > 0:
		secs := int(math.Ceil(res.Locked.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return &oauth.Error{Code: oauth.AccessDenied, Status: http.StatusTooManyRequests,
			Description: fmt.Sprintf("too many failed sign-ins for this account from this address; try again in %d seconds", secs)}
	case !res.OK:
		// The same answer for an unknown email and a wrong password.
		return &oauth.Error{Code: oauth.AccessDenied, Description: "the email or password is incorrect", Status: http.StatusUnauthorized}
	}
	u := res.User
	if oerr := signin.CheckUser(scopes, u); oerr != nil {
		oerr.Status = http.StatusForbidden
		return oerr
	}
	// Every client here is first-party, which CheckClientAdmin accepts;
	// called all the same so that the rule has one home for both ways of
	// getting a code.
	if err := signin.CheckClientAdmin(ctx, h.Store, scopes, client); err != nil {
		return err
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
	return h.issue(ctx, w, signin.Authorization{
		ClientID: client.ID, UserID: u.ID, RedirectURI: redirectURI, Scopes: scopes,
		CodeChallenge: challenge, CodeChallengeMethod: method,
		AuthTime: h.Now(), AMR: []string{"pwd"}, FAPI2: client.FAPI2(),
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
	client, ok := h.authenticate(w, r, params)
	if !ok {
		return
	}
	// A live session token of this client proves which user's code is
	// being guessed: the limit is that user's, whatever the address.
	var c store.MFAChallenge
	live := false
	if token := params["session_token"]; token != "" && h.MFA != nil {
		var err error
		c, err = h.MFA.Challenge(ctx, token)
		switch {
		case err == nil:
			live = c.Purpose == store.MFAFirstParty && c.ClientID == client.ID
		case !errors.Is(err, mfa.ErrChallengeDead):
			h.writeError(w, r, err)
			return
		}
	}
	key := client.ID + "|src:" + ratelimit.RemoteIP(r)
	if live {
		key = client.ID + "|user:" + c.UserID
	}
	if !h.allow(w, r, key) {
		return
	}
	if err := h.verify(ctx, w, r, params, client, c, live); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handler) verify(ctx context.Context, w http.ResponseWriter, r *http.Request, params oauth.Params, client store.Client, c store.MFAChallenge, live bool) error {
	if _, oerr := params.Require("session_token"); oerr != nil {
		return oerr
	}
	code, oerr := params.Require("code")
	if oerr != nil {
		return oerr
	}
	dead := oauth.Errorf(oauth.InvalidGrant, "the session token is invalid, expired, already used or out of attempts: sign in again")
	if !live {
		return dead
	}
	done, err := h.MFA.Answer(ctx, c, mfa.TOTPCode, code)
	if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrLocked) {
		source := ratelimit.RemoteIP(r)
		h.Logger.WarnContext(ctx, "failed second factor", "user", c.UserID, "source", source, "client", c.ClientID)
		if errors.Is(err, mfa.ErrLocked) {
			h.Logger.WarnContext(ctx, "second factor locked", "user", c.UserID, "source", source)
		}
	}
	switch {
	case errors.Is(err, mfa.ErrLocked):
		return &oauth.Error{Code: oauth.AccessDenied, Status: http.StatusForbidden,
			Description: "two-step verification is locked after too many wrong codes: unlock it with a recovery code at " +
				h.Issuer + "/login, or ask Aries support"}
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
	return h.issue(ctx, w, signin.Authorization{
		ClientID: client.ID, UserID: done.UserID, RedirectURI: done.RedirectURI, Scopes: done.Scopes,
		CodeChallenge: done.CodeChallenge, CodeChallengeMethod: done.CodeChallengeMethod,
		AuthTime: h.Now(), AMR: []string{"pwd", "otp"}, FAPI2: client.FAPI2(),
	})
}

// authenticate authenticates the client and checks that it may sign users
// in with a password: a confidential first-party client
// (docs/security.md#first-party-clients-are-confidential: a public client
// would let anyone holding its id guess passwords). A
// failed authentication is charged to the source address, so secrets cannot
// be guessed faster than passwords. It writes the error itself.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, params oauth.Params) (store.Client, bool) {
	auth, oerr := h.Clients.Authenticate(r.Context(), r, params)
	if oerr != nil {
		if oerr.Status == http.StatusUnauthorized && !h.allow(w, r, "src:"+ratelimit.RemoteIP(r)) {
			return store.Client{}, false
		}
		oauth.Write(w, oerr)
		return store.Client{}, false
	}
	if !auth.Client.FirstParty || auth.Client.Type != store.Confidential {
		oauth.Write(w, oauth.Errorf(oauth.UnauthorizedClient,
			"only confidential first-party clients may sign users in with a password; use the authorization code flow at /oauth2/authorize"))
		return store.Client{}, false
	}
	return auth.Client, true
}

// issue writes the 200 answer with a new authorization code.
func (h *Handler) issue(ctx context.Context, w http.ResponseWriter, a signin.Authorization) error {
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

// allow charges the request to the authentication category under key and
// sets the X-RateLimit headers. Over the limit it answers the JSON 429
// (RFC 6585 section 4) and returns false: the caller must stop.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, key string) bool {
	if h.RateLimit == nil {
		return true
	}
	d := h.RateLimit.Check(r, ratelimit.Authentication, key)
	if d.Limited() {
		ratelimit.WriteLimited(w, d.Result)
		return false
	}
	d.SetHeaders(w.Header())
	return true
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
