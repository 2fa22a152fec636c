package authorize

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Parameters of RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0
// section 2).
const (
	paramPostLogoutRedirectURI = "post_logout_redirect_uri"
	paramLogoutState           = "state"
)

var logoutParams = []string{paramIDTokenHint, paramPostLogoutRedirectURI, paramLogoutState, paramClientID}

// logoutRequest is a checked RP-initiated logout request.
type logoutRequest struct {
	hint     *protocol.IDTokenClaims // nil when the request carried none
	client   store.Client            // the client the hint was issued to, when there is one
	redirect string                  // a registered post-logout redirect URI, or ""
	state    string
}

// parseLogout checks a logout request. problem, when not "", says (to the
// user) why Aries will not send the browser back: RP-Initiated Logout 1.0
// section 3 allows a redirect only to a URI the client registered, and
// section 2 only when the client is identified, which Aries asks an
// id_token_hint to do (a client_id anyone can write). Any other error is
// the store's.
func (h *Handler) parseLogout(r *http.Request) (lr logoutRequest, problem string, err error) {
	q, dups := single(r.URL.Query(), logoutParams...)
	if len(dups) > 0 {
		return lr, "The sign-out request gives " + dups[0] + " more than once.", nil
	}
	lr.state = q.Get(paramLogoutState)
	redirect, clientID := q.Get(paramPostLogoutRedirectURI), q.Get(paramClientID)
	if raw := q.Get(paramIDTokenHint); raw != "" {
		if h.Hints == nil {
			return lr, "Aries cannot check the app's sign-in token (id_token_hint).", nil
		}
		c, err := h.Hints.VerifyHint(raw)
		if errors.Is(err, idtoken.ErrInvalidHint) || err != nil {
			return lr, "The app sent a sign-in token (id_token_hint) that Aries did not issue, so Aries cannot tell which app is asking.", nil
		}
		lr.hint = &c
		if clientID == "" {
			clientID = c.AuthorizedParty
			if clientID == "" {
				clientID = c.Audience[0]
			}
		}
		if !idtoken.IssuedTo(c, clientID) {
			return lr, "The app's sign-in token (id_token_hint) was issued to another app (client_id).", nil
		}
	}
	if redirect == "" {
		return lr, "", nil
	}
	if lr.hint == nil {
		return lr, "The app did not prove which app it is (it sent no id_token_hint), so Aries will not send you to the address it gave.", nil
	}
	if !oauth.ValidIdentifier(clientID) {
		return lr, "The app that sent you here is not registered with Aries.", nil
	}
	c, err := h.Store.Client(r.Context(), clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return lr, "The app that sent you here is not registered with Aries.", nil
	case err != nil:
		return lr, "", err
	case c.Disabled:
		return lr, "The app that sent you here has been disabled.", nil
	case !slices.Contains(c.PostLogoutRedirectURIs, redirect):
		// Exact string match, like redirect URIs (RFC 9700 section
		// 4.1.3): anything else would make logout an open redirect.
		return lr, "The app asked Aries to send you to an address it has not registered for after sign-out. For your safety, Aries will not send you there.", nil
	}
	lr.client, lr.redirect = c, redirect
	return lr, "", nil
}

// endSessionPage serves GET /oauth2/logout, RP-initiated logout. With a
// valid id_token_hint it ends the browser session of the hint's user and
// sends the browser to the registered post_logout_redirect_uri with state
// (section 3), or shows that the user signed out. Without a hint it asks
// the user (section 2: the OP should confirm), since a link on any page
// could otherwise sign them out; with anything wrong it shows why, ends
// nothing and sends the browser nowhere.
func (h *Handler) endSessionPage(w http.ResponseWriter, r *http.Request) {
	lr, problem, err := h.parseLogout(r)
	if err != nil {
		h.serverError(w, r, "logout", err)
		return
	}
	_, user, signedIn, err := h.currentSession(r)
	if err != nil {
		h.serverError(w, r, "session", err)
		return
	}
	page := web.LogoutPage{SignedIn: signedIn, UserEmail: user.Email, ClientName: lr.client.Name}
	switch {
	case problem != "":
		page.Problem = problem
		h.showLogout(w, r, http.StatusBadRequest, page)
		return
	case lr.hint == nil:
		h.showLogout(w, r, http.StatusOK, page)
		return
	}
	// The hint proves the client signed its user in here; it says nothing
	// about anyone else, so another user's session is left alone.
	if signedIn && user.ID == lr.hint.Subject {
		h.clearSession(w, r)
	}
	if lr.redirect == "" {
		h.showLogout(w, r, http.StatusOK, web.LogoutPage{SignedOut: true})
		return
	}
	params := url.Values{}
	if lr.state != "" {
		params.Set("state", lr.state)
	}
	loc, err := redirectURL(lr.redirect, params)
	if err != nil {
		h.serverError(w, r, "build post-logout redirect", err)
		return
	}
	h.redirect(w, r, loc)
}

// endSessionConfirmed serves POST /oauth2/logout, the logout page's
// sign-out button: it ends the session and says so. It redirects nowhere:
// the form carries nothing a client proved.
func (h *Handler) endSessionConfirmed(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	h.clearSession(w, r)
	h.showLogout(w, r, http.StatusOK, web.LogoutPage{SignedOut: true})
}

// clearSession ends the browser's session in the store and drops its
// cookie.
func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	h.endSession(r.Context(), r)
	ck := web.Cookie(sessionCookie, "", h.secure)
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

func (h *Handler) showLogout(w http.ResponseWriter, r *http.Request, status int, p web.LogoutPage) {
	if p.SignedIn && !p.SignedOut {
		p.CSRFToken = h.csrf.Token(w, r)
	}
	web.Render(w, status, web.PageLogout, p)
}
