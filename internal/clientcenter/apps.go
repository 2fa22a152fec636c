package clientcenter

import (
	"errors"
	"net/http"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// AppsPage is the data of /account/apps.
type AppsPage struct {
	Frame
	Apps []ConnectedApp
}

// ConnectedApp is one app holding the user's consent.
type ConnectedApp struct {
	ClientID   string
	Name       string
	Scopes     []scope.Scope // each with its plain-English description
	GrantedAt  string
	LastUsedAt string
}

// apps serves GET /account/apps.
func (h *Handler) apps(w http.ResponseWriter, r *http.Request, u store.User) {
	ctx := r.Context()
	consents, err := h.Store.Consents(ctx, u.ID)
	if err != nil {
		h.serverError(w, r, "list consents", err)
		return
	}
	apps := make([]ConnectedApp, 0, len(consents))
	for _, cs := range consents {
		c, err := h.Store.Client(ctx, cs.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile; its consent goes with it
		}
		if err != nil {
			h.serverError(w, r, "consent client", err)
			return
		}
		app := ConnectedApp{
			ClientID:   c.ID,
			Name:       c.Name,
			GrantedAt:  dateTime(cs.GrantedAt),
			LastUsedAt: dateTime(cs.LastUsedAt),
		}
		for _, s := range scope.Normalize(cs.Scopes) {
			app.Scopes = append(app.Scopes, scope.Scope{Name: s, Description: scope.Describe(s)})
		}
		apps = append(apps, app)
	}
	web.Render(w, http.StatusOK, web.PageAccountApps, AppsPage{Frame: h.frame(w, r, u, sectionApps), Apps: apps})
}

// revoke serves POST /account/apps/{id}/revoke. The store forgets the
// consent and revokes every grant the user gave the app in one
// transaction: its refresh tokens die at once, and its access tokens fail
// introspection (their grant is revoked). The next authorization asks for
// consent again.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, u store.User) {
	clientID := r.PathValue("id")
	if !oauth.ValidIdentifier(clientID) {
		http.NotFound(w, r)
		return
	}
	if err := h.Store.DeleteConsent(r.Context(), u.ID, clientID, h.Now()); err != nil {
		h.serverError(w, r, "delete consent", err)
		return
	}
	h.Logger.InfoContext(r.Context(), "consent revoked", "client", clientID, "user", u.ID)
	h.redirect(w, r, "/account/apps?notice=revoked")
}
