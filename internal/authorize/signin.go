package authorize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// Messages of the sign-in page. One message for a wrong password and an
// unknown email, so the page does not reveal which emails have accounts.
const (
	msgIncorrect = "Incorrect email or password."
	msgMissing   = "Enter your email and password."
	msgBusy      = "Aries is busy signing people in. Try again in a moment."
)

// signInPage serves GET /login.
func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	returnTo := localPath(r.URL.Query().Get("return_to"))
	name, redirectURI := h.flowOf(r.Context(), returnTo)
	h.showSignIn(w, r, http.StatusOK, web.SignInPage{ReturnTo: returnTo, ClientName: name}, redirectURI)
}

// signIn serves POST /login: check the password, then continue with the
// next step of sign-in.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	ctx := r.Context()
	typed := strings.TrimSpace(r.PostFormValue("email"))
	email := strings.ToLower(typed)
	pw := r.PostFormValue("password")
	returnTo := localPath(r.PostFormValue("return_to"))
	name, redirectURI := h.flowOf(ctx, returnTo)
	again := func(status int, msg string) {
		h.showSignIn(w, r, status, web.SignInPage{ReturnTo: returnTo, Email: typed, ClientName: name, Error: msg}, redirectURI)
	}

	if email == "" || pw == "" {
		again(http.StatusBadRequest, msgMissing)
		return
	}
	// The address pays for every password it sends, before the KDF runs:
	// nothing the form names (an email, the client in return_to) can buy
	// a fresh allowance (docs/security.md#throttles-an-attacker-cannot-steer).
	source := ratelimit.RemoteIP(r)
	if ok, msg := h.allow(w, r, "src:"+source); !ok {
		again(http.StatusTooManyRequests, msg)
		return
	}
	res, err := signin.CheckPassword(ctx, h.Locks, h.Store, h.Passwords, h.Logger, email, pw, source)
	switch {
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		again(http.StatusServiceUnavailable, msgBusy)
		return
	case err != nil:
		h.serverError(w, r, "check password", err)
		return
	case res.Locked > 0:
		secs := int(math.Ceil(res.Locked.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		again(http.StatusTooManyRequests, fmt.Sprintf("Too many attempts. Try again in %d seconds.", secs))
		return
	case !res.OK:
		again(http.StatusUnauthorized, msgIncorrect)
		return
	}
	u := res.User
	h.passwordVerified(w, r, u, returnTo)
}

// passwordVerified decides what follows a correct password: the session,
// or for a user with MFA the TOTP step, which starts the session with AMR
// ["pwd", "otp"] once a code checks out.
func (h *Handler) passwordVerified(w http.ResponseWriter, r *http.Request, u store.User, returnTo string) {
	if h.MFA != nil {
		on, err := h.MFA.Enabled(r.Context(), u.ID)
		if err != nil {
			h.serverError(w, r, "mfa enabled", err)
			return
		}
		if on {
			h.startMFA(w, r, u, store.MFASignIn, "", returnTo)
			return
		}
	}
	h.startSession(w, r, u, []string{amrPassword}, returnTo)
}

// signOut serves POST /logout.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	h.endSession(r.Context(), r)
	ck := web.Cookie(sessionCookie, "", h.secure)
	ck.MaxAge = -1
	http.SetCookie(w, ck)
	h.redirect(w, r, "/login")
}

// flowOf returns the client name and registered redirect URI of the
// authorization that returnTo leads back to, or "" and "" when it leads
// elsewhere or names no valid client and redirect URI.
func (h *Handler) flowOf(ctx context.Context, returnTo string) (name, redirectURI string) {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != authorizePath {
		return "", ""
	}
	q := u.Query()
	if !oauth.ValidIdentifier(q.Get(paramClientID)) {
		return "", ""
	}
	c, err := h.Store.Client(ctx, q.Get(paramClientID))
	if err != nil || c.Disabled || !matchRedirectURI(c, q.Get(paramRedirectURI)) {
		return "", ""
	}
	return c.Name, q.Get(paramRedirectURI)
}

// localPath returns s if it is a path on this server, else "/". It stops
// the sign-in form from being an open redirect: "//evil.example" and
// "/\evil.example" are other hosts to a browser, and browsers drop tabs and
// newlines from URLs before reading them.
func localPath(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return s
}
