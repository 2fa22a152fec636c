package authorize

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// Defaults for the zero values of Handler's durations.
const (
	DefaultCodeTTL    = signin.DefaultCodeTTL
	DefaultSessionTTL = 12 * time.Hour
	DefaultGrantTTL   = signin.DefaultGrantTTL
)

const sessionCookie = "aries_session"

// Store is what the authorization endpoint and the sign-in pages read and
// write.
type Store interface {
	store.UserFinder
	store.ClientFinder
	store.SessionStore
	store.ConsentStore
	store.GrantStore
	store.LockoutStore
	store.PARStore
}

// Handler serves the authorization endpoint, sign-in and consent. Set its
// fields, then call Register once; do not change them afterwards.
type Handler struct {
	Store     Store
	Hasher    *secret.Hasher   // hashes codes and session ids for the store
	Passwords *password.Hasher // checks user passwords
	// Issuer is this server's issuer identifier, sent as iss with every
	// authorization response (RFC 9207). An https issuer makes every cookie
	// Secure and __Host- prefixed.
	Issuer     string
	CodeTTL    time.Duration // lifetime of an authorization code; DefaultCodeTTL if zero
	SessionTTL time.Duration // lifetime of a browser session; DefaultSessionTTL if zero
	GrantTTL   time.Duration // absolute lifetime of a grant's refresh tokens; DefaultGrantTTL if zero
	Now        func() time.Time
	Logger     *slog.Logger

	// MFA checks second factors; nil means no user is asked for one (and
	// no one can get a StepUp scope).
	MFA *mfa.Service
	// StepUp names the scopes that need a recent second factor.
	StepUp mfa.StepUp
	// RateLimit charges the credential POSTs (sign-in, its TOTP step, the
	// account page's codes) to the authentication category; nil for none.
	RateLimit *ratelimit.Policy
	// Locks is the password lock, shared with the first-party sign-in;
	// Register makes one over Store if nil.
	Locks *lockout.Passwords
	// Hints verifies the ID tokens relying parties send back as
	// id_token_hint, at the authorization endpoint and at logout; nil
	// refuses every hint.
	Hints HintVerifier
	// RequirePAR refuses every authorization request that was not pushed
	// (RFC 9126 section 5, aries serve --require-par).
	RequirePAR bool

	secure bool
	csrf   web.CSRF
	codes  *signin.CodeIssuer
}

// Register fills in defaults and mounts the routes listed in the package
// documentation on mux (an *http.ServeMux, or server.New's record of one).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) {
	if h.CodeTTL <= 0 {
		h.CodeTTL = DefaultCodeTTL
	}
	if h.SessionTTL <= 0 {
		h.SessionTTL = DefaultSessionTTL
	}
	if h.GrantTTL <= 0 {
		h.GrantTTL = DefaultGrantTTL
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	if h.Locks == nil {
		h.Locks = lockout.NewPasswords(h.Store, h.Now)
	}
	h.secure = strings.HasPrefix(h.Issuer, "https://")
	h.csrf = web.CSRF{Secure: h.secure}
	h.codes = &signin.CodeIssuer{Store: h.Store, Hasher: h.Hasher, CodeTTL: h.CodeTTL, GrantTTL: h.GrantTTL, Now: h.Now}

	html := func(f http.HandlerFunc) http.Handler { return web.SecureFor(h.Issuer)(f) }
	mux.Handle("GET /oauth2/authorize", html(h.authorize))
	mux.Handle("POST /oauth2/authorize", html(h.decide))
	mux.Handle("GET /login", html(h.signInPage))
	mux.Handle("POST /login", html(h.signIn))
	mux.Handle("POST /logout", html(h.signOut))
	mux.Handle("GET /oauth2/logout", html(h.endSessionPage))
	mux.Handle("POST /oauth2/logout", html(h.endSessionConfirmed))
	mux.Handle("GET /login/mfa", html(h.mfaPage))
	mux.Handle("POST /login/mfa", html(h.mfaAnswer))
	mux.Handle("GET /account/security", html(h.securityPage))
	mux.Handle("POST /account/security", html(h.security))
	mux.Handle("GET /assets/", web.Assets())
}

// currentSession returns the browser's live session and its user; ok is
// false when there is none (no cookie, expired, user gone).
func (h *Handler) currentSession(r *http.Request) (store.Session, store.User, bool, error) {
	ck, err := r.Cookie(web.CookieName(sessionCookie, h.secure))
	if err != nil || !strings.HasPrefix(ck.Value, secret.SessionPrefix) {
		return store.Session{}, store.User{}, false, nil
	}
	ctx := r.Context()
	sess, err := h.Store.Session(ctx, h.Hasher.Hash(ck.Value), h.Now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, false, nil
	}
	if err != nil {
		return store.Session{}, store.User{}, false, err
	}
	u, err := h.Store.UserByID(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, false, nil
	}
	if err != nil {
		return store.Session{}, store.User{}, false, err
	}
	return sess, u, true, nil
}

// startSession signs the browser in as u and sends it on to returnTo. A
// fresh session id every time, so an id planted before sign-in is useless.
// amr holding "otp" means a second factor was just passed.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u store.User, amr []string, returnTo string) {
	now := h.Now()
	sess := store.Session{
		UserID:    u.ID,
		AuthTime:  now,
		AMR:       amr,
		CreatedAt: now,
		ExpiresAt: now.Add(h.SessionTTL),
	}
	if slices.Contains(amr, amrOTP) {
		sess.OTPTime = now
	}
	if err := h.replaceSession(w, r, sess); err != nil {
		h.serverError(w, r, "create session", err)
		return
	}
	h.redirect(w, r, returnTo)
}

// elevateSession replaces the browser's session sess with one that has
// just passed a second factor: AMR gains "otp", OTPTime and AuthTime become
// now (an authentication happened), the expiry stays. The id changes too,
// as at any change of privilege, so an id copied before is worth less.
func (h *Handler) elevateSession(w http.ResponseWriter, r *http.Request, sess store.Session) error {
	now := h.Now()
	amr := slices.Clone(sess.AMR)
	if !slices.Contains(amr, amrOTP) {
		amr = append(amr, amrOTP)
	}
	return h.replaceSession(w, r, store.Session{
		UserID:    sess.UserID,
		AuthTime:  now,
		AMR:       amr,
		OTPTime:   now,
		CreatedAt: now,
		ExpiresAt: sess.ExpiresAt,
	})
}

// replaceSession stores sess under a fresh id, ends the browser's previous
// session and sets the cookie.
func (h *Handler) replaceSession(w http.ResponseWriter, r *http.Request, sess store.Session) error {
	ctx := r.Context()
	id := secret.New(secret.SessionPrefix)
	sess.IDHash = h.Hasher.Hash(id)
	if err := h.Store.CreateSession(ctx, sess); err != nil {
		return err
	}
	h.endSession(ctx, r) // the browser's previous session, if any
	ck := web.Cookie(sessionCookie, id, h.secure)
	ck.MaxAge = int(sess.ExpiresAt.Sub(sess.CreatedAt) / time.Second)
	http.SetCookie(w, ck)
	return nil
}

// endSession deletes the browser's session from the store, if it has one.
func (h *Handler) endSession(ctx context.Context, r *http.Request) {
	ck, err := r.Cookie(web.CookieName(sessionCookie, h.secure))
	if err != nil || ck.Value == "" {
		return
	}
	if err := h.Store.DeleteSession(ctx, h.Hasher.Hash(ck.Value)); err != nil {
		h.Logger.ErrorContext(ctx, "delete session", "err", err)
	}
}

// redirect answers with a redirect to location: 303 after a POST, so the
// browser does not resend the form (RFC 9700 section 4.11), 302 otherwise.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, location string) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}

// redirectError sends e back to the client (RFC 6749 section 4.1.2.1) with
// state and iss (RFC 9207 section 2).
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, req *request, e *oauth.Error) {
	params := url.Values{
		"error": {e.Code},
		"iss":   {h.Issuer},
	}
	if e.Description != "" {
		params.Set("error_description", errorDescription(e.Description))
	}
	if req.state != "" {
		params.Set("state", req.state)
	}
	h.redirectToClient(w, r, req, params)
}

func (h *Handler) redirectToClient(w http.ResponseWriter, r *http.Request, req *request, params url.Values) {
	loc, err := redirectURL(req.redirectURI, params)
	if err != nil {
		// Registered URIs are validated when the client is created, so
		// this is a corrupt row.
		h.serverError(w, r, "build redirect", err)
		return
	}
	h.redirect(w, r, loc)
}

// fail answers a failed parse: a page, a redirect to the client, or a 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	var pe *pageError
	var oe *oauth.Error
	switch {
	case errors.As(err, &pe):
		web.RenderError(w, http.StatusBadRequest, web.ErrorPage{Title: pe.title, Code: pe.code, Description: pe.description})
	case errors.As(err, &oe) && req != nil:
		h.redirectError(w, r, req, oe)
	default:
		h.serverError(w, r, "authorize", err)
	}
}

// serverError logs err and shows a page that reveals nothing about it.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, op string, err error) {
	web.ServerError(w, r, h.Logger, op, err)
}
