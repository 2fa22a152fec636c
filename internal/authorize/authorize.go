package authorize

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

const authorizePath = "/oauth2/authorize"

// authorize serves GET /oauth2/authorize: validate, then sign-in, consent or
// straight back to the client with a code.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	req, err := h.parse(r.Context(), r.URL.Query())
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	if req.prompt.login {
		h.signInAgain(w, r, req, "")
		return
	}
	sess, user, ok, err := h.currentSession(r)
	if err != nil {
		h.serverError(w, r, "session", err)
		return
	}
	if !ok {
		if req.prompt.none {
			h.redirectError(w, r, req, oauth.Errorf(oauth.LoginRequired, "the user is not signed in"))
			return
		}
		h.signInAgain(w, r, req, "")
		return
	}
	// OpenID Connect Core 1.0 section 3.1.2.1: a sign-in older than max_age,
	// or a session of someone other than the hints name, needs the user to
	// sign in (again); with prompt=none that is an error instead of a page.
	switch {
	case req.tooOld(sess, h.Now()):
		if req.prompt.none {
			h.redirectError(w, r, req, oauth.Errorf(oauth.LoginRequired, "the user signed in longer ago than max_age allows"))
			return
		}
		h.signInAgain(w, r, req, user.Email)
		return
	case req.hint != nil && req.hint.Subject != user.ID:
		if req.prompt.none {
			h.redirectError(w, r, req, oauth.Errorf(oauth.LoginRequired, "the signed-in user is not the one id_token_hint names"))
			return
		}
		h.signInAgain(w, r, req, "")
		return
	case req.otherUser(user):
		// Another account than login_hint's is signed in: only the user
		// can say which one to use.
		if req.prompt.none {
			h.redirectError(w, r, req, oauth.Errorf(oauth.InteractionRequired, "another account than login_hint names is signed in"))
			return
		}
		h.signInAgain(w, r, req, "")
		return
	case req.prompt.selectAccount:
		h.showSelectAccount(w, r, req, user)
		return
	}
	if err := h.checkUser(r.Context(), req, user); err != nil {
		h.fail(w, r, req, err)
		return
	}
	if h.stepUp(w, r, req, sess, user) {
		return
	}

	consent, err := h.Store.Consent(r.Context(), user.ID, req.client.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(w, r, "consent", err)
		return
	}
	remembered := err == nil && scope.Subset(req.scopes, consent.Scopes)
	if remembered && !req.prompt.consent {
		h.touchConsent(r.Context(), user.ID, req)
		h.approve(w, r, req, sess)
		return
	}
	if req.prompt.none {
		h.redirectError(w, r, req, oauth.Errorf(oauth.ConsentRequired, "the user has not approved these scopes for this client"))
		return
	}
	h.showConsent(w, r, req, user)
}

// decide serves POST /oauth2/authorize, the consent form. Everything the
// form carries is validated again: it came back through the browser.
func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	req, err := h.parse(r.Context(), r.PostForm)
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	sess, user, ok, err := h.currentSession(r)
	if err != nil {
		h.serverError(w, r, "session", err)
		return
	}
	if !ok {
		// The session ended while the consent page was open.
		returnTo, err := h.returnURL(r.Context(), req, req.params)
		if err != nil {
			h.serverError(w, r, "return path", err)
			return
		}
		h.showSignIn(w, r, http.StatusOK, web.SignInPage{
			ReturnTo:   returnTo,
			ClientName: req.client.Name,
		}, req.redirectURI)
		return
	}
	if err := h.checkUser(r.Context(), req, user); err != nil {
		h.fail(w, r, req, err)
		return
	}
	switch r.PostForm.Get("decision") {
	case "approve":
		// Checked here too: the form could be sent without the page.
		if h.stepUp(w, r, req, sess, user) {
			return
		}
		now := h.Now()
		err := h.Store.SaveConsent(r.Context(), store.Consent{
			UserID: user.ID, ClientID: req.client.ID, Scopes: req.scopes, GrantedAt: now, LastUsedAt: now,
		})
		if err != nil {
			h.serverError(w, r, "save consent", err)
			return
		}
		h.approve(w, r, req, sess)
	case "deny":
		h.redirectError(w, r, req, oauth.Errorf(oauth.AccessDenied, "the user denied the request"))
	default:
		h.redirectError(w, r, req, oauth.Errorf(oauth.InvalidRequest, "decision must be approve or deny"))
	}
}

// checkUser applies the rules that depend on who signed in, then those
// about the client that only matter once someone has (signin.CheckClientAdmin).
// Its error is an *oauth.Error for the client, or the store's.
func (h *Handler) checkUser(ctx context.Context, req *request, u store.User) error {
	if e := signin.CheckUser(req.scopes, u); e != nil {
		return e
	}
	return signin.CheckClientAdmin(ctx, h.Store, req.scopes, req.client)
}

// touchConsent records that a remembered consent was used. The scopes are
// already in it, so only LastUsedAt changes. It is bookkeeping for the
// user's list of apps, so a failure does not stop the authorization.
func (h *Handler) touchConsent(ctx context.Context, userID string, req *request) {
	now := h.Now()
	err := h.Store.SaveConsent(ctx, store.Consent{
		UserID: userID, ClientID: req.client.ID, Scopes: req.scopes, GrantedAt: now, LastUsedAt: now,
	})
	if err != nil {
		h.Logger.WarnContext(ctx, "touch consent", "err", err)
	}
}

// approve issues a code and sends the browser back to the client with it
// (RFC 6749 section 4.1.2, RFC 9207).
func (h *Handler) approve(w http.ResponseWriter, r *http.Request, req *request, sess store.Session) {
	code, err := h.issueCode(r.Context(), req, sess)
	if err != nil {
		h.serverError(w, r, "issue code", err)
		return
	}
	params := url.Values{"code": {code}, "iss": {h.Issuer}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	h.redirectToClient(w, r, req, params)
}

// issueCode issues a code for the request as the session's user.
func (h *Handler) issueCode(ctx context.Context, req *request, sess store.Session) (string, error) {
	return h.codes.Issue(ctx, signin.Authorization{
		ClientID:            req.client.ID,
		UserID:              sess.UserID,
		RedirectURI:         req.redirectURI,
		Scopes:              req.scopes,
		CodeChallenge:       req.challenge,
		CodeChallengeMethod: req.method,
		AuthTime:            sess.AuthTime,
		AMR:                 sess.AMR,
		Nonce:               req.nonce,
		SessionID:           sessionID(sess),
		DPoPJKT:             req.dpopJKT,
		FAPI2:               req.client.FAPI2(),
	})
}

func (h *Handler) showConsent(w http.ResponseWriter, r *http.Request, req *request, u store.User) {
	scopes := make([]scope.Scope, len(req.scopes))
	for i, s := range req.scopes {
		scopes[i] = scope.Lookup(s)
	}
	switchTo := cloneValues(req.params)
	switchTo.Set(paramPrompt, "login")
	switchURL, err := h.returnURL(r.Context(), req, switchTo)
	if err != nil {
		h.serverError(w, r, "return path", err)
		return
	}
	fields, err := h.fields(r.Context(), req)
	if err != nil {
		h.serverError(w, r, "return path", err)
		return
	}
	h.allowRedirect(w, req.redirectURI)
	web.Render(w, http.StatusOK, web.PageConsent, web.ConsentPage{
		CSRFToken:    h.csrf.Token(w, r),
		ClientName:   req.client.Name,
		UserEmail:    u.Email,
		RedirectHost: redirectHost(req.redirectURI),
		SwitchURL:    switchURL,
		Scopes:       scopes,
		Fields:       fields,
	})
}

// showSignIn renders the sign-in page. redirectURI is the registered
// redirect URI of the authorization in progress, or "".
func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, status int, p web.SignInPage, redirectURI string) {
	h.allowRedirect(w, redirectURI)
	p.CSRFToken = h.csrf.Token(w, r)
	web.Render(w, status, web.PageSignIn, p)
}

// allowRedirect lets the page's forms end in a redirect to the client.
// Chromium enforces form-action on every redirect after a form is sent, and
// the consent form (or the sign-in form, when consent is remembered) ends at
// redirectURI.
func (h *Handler) allowRedirect(w http.ResponseWriter, redirectURI string) {
	if redirectURI == "" {
		return
	}
	if src, ok := web.FormActionSource(redirectURI); ok {
		web.AllowFormAction(w, src)
	}
}

// redirectHost names where the browser goes after consent: the host, or
// the app's scheme for a private-use redirect URI.
func redirectHost(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return ""
	}
	if u.Host != "" {
		return u.Host
	}
	return u.Scheme
}
