package authorize

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// Authentication methods of RFC 8176 section 2 that sessions record.
const (
	amrPassword = "pwd"
	amrOTP      = "otp" // a TOTP code, or a recovery code: both one-time passwords
)

// mfaCookie carries the token of the browser's MFA challenge between the
// password and the code. The challenge itself is in the store.
const mfaCookie = "aries_mfa"

const mfaPath = "/login/mfa"

// Messages of the TOTP step.
const (
	msgCodeMissing  = "Enter the code."
	msgCodeWrong    = "That code is not right, or was already used."
	msgMFAExpired   = "Your sign-in timed out. Sign in again."
	msgMFATooMany   = "Too many wrong codes. Sign in again."
	msgMFASignedOut = "Too many wrong codes, so you have been signed out. Sign in again."
	msgLocked       = "Two-step verification is locked after too many wrong codes. " +
		"Enter one of your recovery codes to unlock it, or ask Aries support to unlock your account."
)

// startMFA opens a challenge for u and sends the browser to the TOTP step.
// sessionHash names the session a step-up will upgrade ("" at sign-in).
func (h *Handler) startMFA(w http.ResponseWriter, r *http.Request, u store.User, purpose store.MFAPurpose, sessionHash, returnTo string) {
	token, _, err := h.MFA.NewChallenge(r.Context(), store.MFAChallenge{
		Purpose: purpose, UserID: u.ID, SessionHash: sessionHash, ReturnTo: returnTo,
	})
	if err != nil {
		h.serverError(w, r, "start mfa", err)
		return
	}
	ck := web.Cookie(mfaCookie, token, h.secure)
	ck.MaxAge = int(mfa.ChallengeTTL / time.Second)
	http.SetCookie(w, ck)
	h.redirect(w, r, mfaPath)
}

// pendingMFA returns the browser's live challenge; ok is false when it has
// none. A first-party session token is never accepted from a browser.
func (h *Handler) pendingMFA(r *http.Request) (store.MFAChallenge, bool, error) {
	if h.MFA == nil {
		return store.MFAChallenge{}, false, nil
	}
	ck, err := r.Cookie(web.CookieName(mfaCookie, h.secure))
	if err != nil {
		return store.MFAChallenge{}, false, nil
	}
	c, err := h.MFA.Challenge(r.Context(), ck.Value)
	if errors.Is(err, mfa.ErrChallengeDead) {
		return store.MFAChallenge{}, false, nil
	}
	if err != nil {
		return store.MFAChallenge{}, false, err
	}
	if c.Purpose != store.MFASignIn && c.Purpose != store.MFAStepUp {
		return store.MFAChallenge{}, false, nil
	}
	return c, true, nil
}

func (h *Handler) clearMFACookie(w http.ResponseWriter) {
	ck := web.Cookie(mfaCookie, "", h.secure)
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// mfaPage serves GET /login/mfa: the code form, or with ?method=recovery
// the recovery-code form.
func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) {
	c, ok, err := h.pendingMFA(r)
	if err != nil {
		h.serverError(w, r, "mfa challenge", err)
		return
	}
	if !ok {
		h.redirect(w, r, "/login")
		return
	}
	u, err := h.Store.UserByID(r.Context(), c.UserID)
	if err != nil {
		h.serverError(w, r, "mfa user", err)
		return
	}
	locked, err := h.MFA.Locked(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, "mfa locked", err)
		return
	}
	if locked {
		h.showMFA(w, r, http.StatusOK, c, u, true, msgLocked)
		return
	}
	h.showMFA(w, r, http.StatusOK, c, u, r.URL.Query().Get("method") == "recovery", "")
}

// secondFactorFailed logs a wrong or refused second factor as a security
// event (docs/security.md#security-events-are-logged).
func (h *Handler) secondFactorFailed(r *http.Request, userID string, err error) {
	source := ratelimit.RemoteIP(r)
	h.Logger.WarnContext(r.Context(), "failed second factor", "user", userID, "source", source)
	if errors.Is(err, mfa.ErrLocked) {
		h.Logger.WarnContext(r.Context(), "second factor locked", "user", userID, "source", source)
	}
}

// mfaAnswer serves POST /login/mfa: check the code, then finish the
// sign-in or the step-up.
func (h *Handler) mfaAnswer(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	ctx := r.Context()
	c, ok, err := h.pendingMFA(r)
	if err != nil {
		h.serverError(w, r, "mfa challenge", err)
		return
	}
	if !ok {
		h.clearMFACookie(w)
		h.showSignIn(w, r, http.StatusUnauthorized, web.SignInPage{ReturnTo: "/", Error: msgMFAExpired}, "")
		return
	}
	u, err := h.Store.UserByID(ctx, c.UserID)
	if err != nil {
		h.serverError(w, r, "mfa user", err)
		return
	}
	method, code := mfa.TOTPCode, r.PostFormValue("code")
	recovery := r.PostForm.Has("recovery_code")
	if recovery {
		method, code = mfa.RecoveryCode, r.PostFormValue("recovery_code")
	}
	if strings.TrimSpace(code) == "" {
		h.showMFA(w, r, http.StatusBadRequest, c, u, recovery, msgCodeMissing)
		return
	}
	if ok, msg := h.allow(w, r, "user:"+u.ID); !ok {
		h.showMFA(w, r, http.StatusTooManyRequests, c, u, recovery, msg)
		return
	}

	done, err := h.MFA.Answer(ctx, c, method, code)
	if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrLocked) {
		h.secondFactorFailed(r, u.ID, err)
	}
	switch {
	case errors.Is(err, mfa.ErrLocked):
		h.showMFA(w, r, http.StatusForbidden, c, u, true, msgLocked)
		return
	case errors.Is(err, mfa.ErrInvalidCode) && done.FailedAttempts < done.MaxAttempts:
		left := done.MaxAttempts - done.FailedAttempts
		h.showMFA(w, r, http.StatusUnauthorized, c, u, recovery, fmt.Sprintf("%s %d %s left.", msgCodeWrong, left, plural(left, "try", "tries")))
		return
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, mfa.ErrChallengeDead):
		h.clearMFACookie(w)
		msg := msgMFAExpired
		if errors.Is(err, mfa.ErrInvalidCode) {
			msg = msgMFATooMany
			if c.Purpose == store.MFAStepUp {
				// A stolen session must not get endless fresh challenges:
				// the next try needs the password, which has its own lock.
				h.endSession(ctx, r)
				msg = msgMFASignedOut
			}
		}
		name, redirectURI := h.flowOf(ctx, c.ReturnTo)
		h.showSignIn(w, r, http.StatusUnauthorized, web.SignInPage{ReturnTo: c.ReturnTo, ClientName: name, Email: u.Email, Error: msg}, redirectURI)
		return
	case err != nil:
		h.serverError(w, r, "check mfa code", err)
		return
	}

	h.clearMFACookie(w)
	h.Logger.InfoContext(ctx, "second factor passed", "user", u.ID, "recovery_code", recovery, "purpose", string(done.Purpose))
	if done.Purpose == store.MFASignIn {
		h.startSession(w, r, u, []string{amrPassword, amrOTP}, done.ReturnTo)
		return
	}
	// A step-up upgrades the session it was opened for, and only that one:
	// if the browser has signed in afresh meanwhile, it starts over.
	sess, su, ok, err := h.currentSession(r)
	if err != nil {
		h.serverError(w, r, "session", err)
		return
	}
	if !ok || sess.IDHash != done.SessionHash || su.ID != u.ID {
		name, redirectURI := h.flowOf(ctx, done.ReturnTo)
		h.showSignIn(w, r, http.StatusUnauthorized, web.SignInPage{ReturnTo: done.ReturnTo, ClientName: name, Error: msgMFAExpired}, redirectURI)
		return
	}
	if err := h.elevateSession(w, r, sess); err != nil {
		h.serverError(w, r, "elevate session", err)
		return
	}
	h.redirect(w, r, done.ReturnTo)
}

func (h *Handler) showMFA(w http.ResponseWriter, r *http.Request, status int, c store.MFAChallenge, u store.User, recovery bool, msg string) {
	name, redirectURI := h.flowOf(r.Context(), c.ReturnTo)
	h.allowRedirect(w, redirectURI)
	web.Render(w, status, web.PageMFA, web.MFAPage{
		CSRFToken:  h.csrf.Token(w, r),
		Email:      u.Email,
		ClientName: name,
		Recovery:   recovery,
		StepUp:     c.Purpose == store.MFAStepUp,
		Error:      msg,
	})
}

// stepUp enforces the step-up rule for an authorization request whose
// browser is signed in as user with sess. It reports whether it has
// answered: refused a user without MFA, or sent the browser to the TOTP
// step because the session's second factor is missing or stale.
func (h *Handler) stepUp(w http.ResponseWriter, r *http.Request, req *request, sess store.Session, user store.User) bool {
	need := h.StepUp.Required(req.scopes)
	if need == nil {
		return false
	}
	on := false
	if h.MFA != nil {
		var err error
		if on, err = h.MFA.Enabled(r.Context(), user.ID); err != nil {
			h.serverError(w, r, "mfa enabled", err)
			return true
		}
	}
	if !on {
		h.redirectError(w, r, req, oauth.Errorf(oauth.AccessDenied,
			"%s requires two-step verification: turn it on at %s/account/security, then try again",
			strings.Join(need, " and "), h.Issuer))
		return true
	}
	if h.StepUp.Fresh(sess.OTPTime, h.Now()) {
		return false
	}
	if req.prompt.none {
		h.redirectError(w, r, req, oauth.Errorf(oauth.LoginRequired, "%s requires a fresh second factor", strings.Join(need, " and ")))
		return true
	}
	returnTo, err := h.returnURL(r.Context(), req, req.params)
	if err != nil {
		h.serverError(w, r, "return path", err)
		return true
	}
	h.startMFA(w, r, user, store.MFAStepUp, sess.IDHash, returnTo)
	return true
}

// allow charges a credential POST to the authentication category under key:
// what the request proves (the user a challenge belongs to) or where it comes
// from ("src:" and the address), never what it merely names
// (docs/security.md#throttles-an-attacker-cannot-steer). It sets the
// X-RateLimit headers; when refused it also sets Retry-After and returns
// false and a message for the page, which the caller renders with status 429.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, key string) (bool, string) {
	if h.RateLimit == nil {
		return true, ""
	}
	d := h.RateLimit.Check(r, ratelimit.Authentication, key)
	d.SetHeaders(w.Header())
	if !d.Limited() {
		return true, ""
	}
	return false, "Too many attempts. Try again in " + w.Header().Get("Retry-After") + " seconds."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
