package authorize

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// HintVerifier checks an id_token_hint: an ID token this server issued
// (package idtoken). Expired ones pass.
type HintVerifier interface {
	VerifyHint(raw string) (protocol.IDTokenClaims, error)
}

// MaxNonceLen bounds the nonce: it is stored with the code and echoed in
// the ID token, and far longer than any random value a client needs.
const MaxNonceLen = 512

// maxMaxAge is the largest max_age kept as a limit; a larger one (any
// number of digits is valid) allows a sign-in of any age, as no session
// lives that long.
const maxMaxAge = 1_000_000_000

// parseOIDC validates the OpenID Connect parameters of an authorization
// request (Core 1.0 section 3.1.2.1) into req. It runs once the redirect
// URI is trusted, so its errors go back to the client; nothing is stored
// before it passes.
func (h *Handler) parseOIDC(req *request, vals url.Values) *oauth.Error {
	if n := vals.Get(paramNonce); n != "" {
		if len(n) > MaxNonceLen {
			return oauth.Errorf(oauth.InvalidRequest, "nonce must be at most %d bytes", MaxNonceLen)
		}
		if !oauth.ValidIdentifier(n) {
			return oauth.Errorf(oauth.InvalidRequest, "nonce must be printable UTF-8")
		}
		req.nonce = n
	}

	req.maxAge = -1
	if v := vals.Get(paramMaxAge); v != "" {
		if strings.Trim(v, "0123456789") != "" {
			return oauth.Errorf(oauth.InvalidRequest, "max_age must be a whole number of seconds, 0 or more")
		}
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n <= maxMaxAge {
			req.maxAge = time.Duration(n) * time.Second
		}
	}

	// A hint, not a rule: one that cannot be an email is ignored.
	if v := vals.Get(paramLoginHint); len(v) <= signin.MaxEmailLen && oauth.ValidIdentifier(v) && strings.Contains(v, "@") {
		req.loginHint = v
	}

	if raw := vals.Get(paramIDTokenHint); raw != "" {
		if h.Hints == nil {
			return oauth.Errorf(oauth.InvalidRequest, "id_token_hint is not supported")
		}
		c, err := h.Hints.VerifyHint(raw)
		if he, ok := errors.AsType[*idtoken.HintError](err); ok {
			return oauth.Errorf(oauth.InvalidRequest, "id_token_hint is not an ID token of this server: %s", he.Reason)
		}
		if err != nil {
			return oauth.Errorf(oauth.InvalidRequest, "id_token_hint is not an ID token of this server")
		}
		if !idtoken.IssuedTo(c, req.client.ID) {
			return oauth.Errorf(oauth.InvalidRequest, "id_token_hint was issued to another client")
		}
		req.hint = &c
	}
	return nil
}

// tooOld reports whether the session's sign-in is older than the request
// allows. max_age=0 asks for a sign-in whatever the session (Core 1.0
// section 3.1.2.1: it is prompt=login).
func (req *request) tooOld(sess store.Session, now time.Time) bool {
	switch {
	case req.maxAge < 0:
		return false
	case req.maxAge == 0:
		return true
	}
	return now.Sub(sess.AuthTime) > req.maxAge
}

// otherUser reports whether the request names a user other than u: an
// id_token_hint about someone else, or a login_hint with another email.
func (req *request) otherUser(u store.User) bool {
	if req.hint != nil && req.hint.Subject != u.ID {
		return true
	}
	return req.loginHint != "" && !strings.EqualFold(req.loginHint, u.Email)
}

// sessionID is the sid of a browser session in ID tokens (OpenID Connect
// Front-Channel Logout 1.0 section 3): derived from the stored hash of the
// session id, so it names the session without revealing anything that
// opens it. A session that changes id (a step-up) gets a new sid.
func sessionID(sess store.Session) string {
	sum := sha256.Sum256([]byte("aries sid\x00" + sess.IDHash))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// signInAgain shows the sign-in page for a request whose session will not
// do (prompt=login, max_age, another user named), coming back without the
// parameters that asked for it.
func (h *Handler) signInAgain(w http.ResponseWriter, r *http.Request, req *request, email string) {
	if req.loginHint != "" {
		email = req.loginHint
	}
	returnTo, err := h.returnURL(r.Context(), req, req.afterSignIn())
	if err != nil {
		h.serverError(w, r, "return path", err)
		return
	}
	h.showSignIn(w, r, http.StatusOK, web.SignInPage{
		ReturnTo:   returnTo,
		ClientName: req.client.Name,
		Email:      email,
	}, req.redirectURI)
}

// showSelectAccount answers prompt=select_account for a signed-in browser:
// continue as u, or sign in as someone else (Core 1.0 section 3.1.2.1).
// Both are links back to the authorization endpoint; nothing changes until
// the user picks one.
func (h *Handler) showSelectAccount(w http.ResponseWriter, r *http.Request, req *request, u store.User) {
	cont := withoutPrompt(req.params, "select_account")
	other := withoutPrompt(req.params, "select_account", "login")
	other.Set(paramPrompt, strings.TrimSpace("login "+other.Get(paramPrompt)))
	contURL, err := h.returnURL(r.Context(), req, cont)
	if err != nil {
		h.serverError(w, r, "return path", err)
		return
	}
	otherURL, err := h.returnURL(r.Context(), req, other)
	if err != nil {
		h.serverError(w, r, "return path", err)
		return
	}
	web.Render(w, http.StatusOK, web.PageSelectAccount, web.SelectAccountPage{
		ClientName:  req.client.Name,
		UserEmail:   u.Email,
		ContinueURL: contURL,
		SwitchURL:   otherURL,
	})
}
