package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
)

// createRequest is the body of POST /admin/v1/clients. Scopes may name
// bundles (read, trade, withdraw); they are stored expanded.
type createRequest struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"` // "confidential" (the default) or "public"
	FirstParty     bool     `json:"first_party"`
	ResourceServer bool     `json:"resource_server"`
	RedirectURIs   []string `json:"redirect_uris"`
	Scopes         []string `json:"scopes"`
	OwnerID        string   `json:"owner_id"` // optional: the developer who manages it in the Client Center

	// OpenID Connect (docs/oidc.md), optional: RS256 when no algorithm is
	// given.
	PostLogoutRedirectURIs   []string `json:"post_logout_redirect_uris"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg"`

	// DPoPBoundAccessTokens: DPoP-bound tokens only (RFC 9449 section
	// 5.2, docs/dpop.md).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens"`

	fapiCreate
}

// updateRequest is the body of PATCH /admin/v1/clients/{id}: a field left
// out keeps its value.
type updateRequest struct {
	Name           *string   `json:"name"`
	FirstParty     *bool     `json:"first_party"`
	ResourceServer *bool     `json:"resource_server"`
	RedirectURIs   *[]string `json:"redirect_uris"`
	Scopes         *[]string `json:"scopes"`

	PostLogoutRedirectURIs   *[]string `json:"post_logout_redirect_uris"`
	IDTokenSignedResponseAlg *string   `json:"id_token_signed_response_alg"`

	DPoPBoundAccessTokens *bool `json:"dpop_bound_access_tokens"`

	fapiUpdate
}

// withClient loads the client named in the path, or answers 404.
func (h *Handler) withClient(next func(http.ResponseWriter, *http.Request, store.User, store.Client)) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, admin store.User) {
		c, err := h.Store.Client(r.Context(), r.PathValue("id"))
		if !oauth.ValidIdentifier(r.PathValue("id")) {
			err = store.ErrNotFound // no client has such an id; the store is not asked
		}
		if errors.Is(err, store.ErrNotFound) {
			h.notFound(w)
			return
		}
		if err != nil {
			h.serverError(w, r, "load client", err)
			return
		}
		next(w, r, admin, c)
	}
}

// list serves GET /admin/v1/clients.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, _ store.User) {
	clients, err := h.Store.Clients(r.Context(), "")
	if err != nil {
		h.serverError(w, r, "list clients", err)
		return
	}
	out := make([]registry.ClientView, len(clients))
	for i, c := range clients {
		out[i] = registry.View(c, "")
	}
	oauth.WriteJSON(w, http.StatusOK, struct {
		Clients []registry.ClientView `json:"clients"`
	}{out})
}

// get serves GET /admin/v1/clients/{id}.
func (h *Handler) get(w http.ResponseWriter, r *http.Request, _ store.User, c store.Client) {
	oauth.WriteJSON(w, http.StatusOK, registry.View(c, ""))
}

// create serves POST /admin/v1/clients.
func (h *Handler) create(w http.ResponseWriter, r *http.Request, admin store.User) {
	var req createRequest
	if e := decode(w, r, &req); e != nil {
		oauth.Write(w, e)
		return
	}
	ctx := r.Context()
	switch req.Type {
	case "", string(store.Confidential), string(store.Public):
	default:
		oauth.Write(w, oauth.Errorf(oauth.InvalidRequest, "type must be confidential or public"))
		return
	}
	if req.OwnerID != "" {
		if _, err := h.Store.UserByID(ctx, req.OwnerID); errors.Is(err, store.ErrNotFound) {
			oauth.Write(w, oauth.Errorf(oauth.InvalidRequest, "owner_id names no user"))
			return
		} else if err != nil {
			h.serverError(w, r, "owner", err)
			return
		}
	}
	spec := registry.Spec{
		Name:           req.Name,
		Public:         req.Type == string(store.Public),
		FirstParty:     req.FirstParty,
		ResourceServer: req.ResourceServer,
		RedirectURIs:   req.RedirectURIs,
		Scopes:         scope.Join(req.Scopes),
		OwnerID:        req.OwnerID,

		PostLogoutRedirectURIs: req.PostLogoutRedirectURIs,
		IDTokenAlg:             req.IDTokenSignedResponseAlg,
		DPoPBound:              req.DPoPBoundAccessTokens,
	}
	if e := req.fapiCreate.apply(&spec); e != nil {
		oauth.Write(w, e)
		return
	}
	c, clientSecret, err := registry.Create(ctx, h.Store, h.Hasher, registry.ActorOf(admin), spec, h.Now())
	if e := refused(err); e != nil {
		oauth.Write(w, e)
		return
	}
	if err != nil {
		h.serverError(w, r, "create client", err)
		return
	}
	h.Logger.WarnContext(ctx, "admin: client created", "source", ratelimit.RemoteIP(r), "client", c.ID, "admin", admin.ID)
	w.Header().Set("Location", "/admin/v1/clients/"+c.ID)
	oauth.WriteJSON(w, http.StatusCreated, registry.View(c, clientSecret))
}

// refused returns the registry's objections in err as one invalid_request
// error, or nil when err is not a *registry.Refusal.
func refused(err error) *oauth.Error {
	if r, ok := errors.AsType[*registry.Refusal](err); ok {
		return oauth.Errorf(oauth.InvalidRequest, "%s", strings.ReplaceAll(r.Error(), "\n", "; "))
	}
	return nil
}

// update serves PATCH /admin/v1/clients/{id}.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, admin store.User, c store.Client) {
	var req updateRequest
	if e := decode(w, r, &req); e != nil {
		oauth.Write(w, e)
		return
	}
	spec := registry.Spec{
		Name:           c.Name,
		FirstParty:     c.FirstParty,
		ResourceServer: c.ResourceServer,
		RedirectURIs:   c.RedirectURIs,
		Scopes:         scope.Join(c.Scopes),

		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		IDTokenAlg:             c.IDTokenSignedResponseAlg,
		DPoPBound:              c.DPoPBoundAccessTokens,

		// As stored, so a setting left to its default keeps following it.
		AuthMethod:      c.TokenEndpointAuthMethod,
		JWKS:            c.JWKS,
		Profile:         c.Profile,
		RequirePAR:      c.RequirePAR,
		RefreshRotation: c.RefreshTokenRotation,
		RefreshGrace:    c.RefreshTokenGraceSeconds,
	}
	if e := req.fapiUpdate.apply(&spec); e != nil {
		oauth.Write(w, e)
		return
	}
	if req.DPoPBoundAccessTokens != nil {
		spec.DPoPBound = *req.DPoPBoundAccessTokens
	}
	if req.PostLogoutRedirectURIs != nil {
		spec.PostLogoutRedirectURIs = *req.PostLogoutRedirectURIs
	}
	if req.IDTokenSignedResponseAlg != nil {
		spec.IDTokenAlg = *req.IDTokenSignedResponseAlg
	}
	if req.Name != nil {
		spec.Name = *req.Name
	}
	if req.FirstParty != nil {
		spec.FirstParty = *req.FirstParty
	}
	if req.ResourceServer != nil {
		spec.ResourceServer = *req.ResourceServer
	}
	if req.RedirectURIs != nil {
		spec.RedirectURIs = *req.RedirectURIs
	}
	if req.Scopes != nil {
		spec.Scopes = scope.Join(*req.Scopes)
	}
	updated, err := registry.Update(r.Context(), h.Store, registry.ActorOf(admin), c, spec, h.Now())
	if e := refused(err); e != nil {
		oauth.Write(w, e)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w)
		return
	}
	if err != nil {
		h.serverError(w, r, "update client", err)
		return
	}
	h.Logger.WarnContext(r.Context(), "admin: client updated", "source", ratelimit.RemoteIP(r), "client", c.ID, "admin", admin.ID)
	oauth.WriteJSON(w, http.StatusOK, registry.View(updated, ""))
}

// rotate serves POST /admin/v1/clients/{id}/secret.
func (h *Handler) rotate(w http.ResponseWriter, r *http.Request, admin store.User, c store.Client) {
	if c.Type != store.Confidential {
		oauth.Write(w, oauth.Errorf(oauth.InvalidRequest, "a public client has no secret"))
		return
	}
	ctx := r.Context()
	clientSecret, err := registry.RotateSecret(ctx, h.Store, h.Hasher, c.ID, h.Now())
	if e := refused(err); e != nil {
		oauth.Write(w, e)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w)
		return
	}
	if err != nil {
		h.serverError(w, r, "rotate secret", err)
		return
	}
	h.Logger.WarnContext(ctx, "admin: client secret rotated", "source", ratelimit.RemoteIP(r), "client", c.ID, "admin", admin.ID)
	h.answerFresh(w, r, c.ID, clientSecret)
}

// setDisabled serves POST /admin/v1/clients/{id}/disable and /enable.
func (h *Handler) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request, store.User, store.Client) {
	return func(w http.ResponseWriter, r *http.Request, admin store.User, c store.Client) {
		ctx := r.Context()
		err := h.Store.SetClientDisabled(ctx, c.ID, disabled, h.Now())
		if errors.Is(err, store.ErrNotFound) {
			h.notFound(w)
			return
		}
		if err != nil {
			h.serverError(w, r, "set client disabled", err)
			return
		}
		h.Logger.WarnContext(ctx, "admin: client status set", "source", ratelimit.RemoteIP(r), "client", c.ID, "disabled", disabled, "admin", admin.ID)
		h.answerFresh(w, r, c.ID, "")
	}
}

// answerFresh answers with the client as stored now.
func (h *Handler) answerFresh(w http.ResponseWriter, r *http.Request, id, clientSecret string) {
	c, err := h.Store.Client(r.Context(), id)
	if err != nil {
		h.serverError(w, r, "reload client", err)
		return
	}
	oauth.WriteJSON(w, http.StatusOK, registry.View(c, clientSecret))
}

// delete serves DELETE /admin/v1/clients/{id}.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, admin store.User, c store.Client) {
	ctx := r.Context()
	err := h.Store.DeleteClient(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w)
		return
	}
	if err != nil {
		h.serverError(w, r, "delete client", err)
		return
	}
	h.Logger.WarnContext(ctx, "admin: client deleted", "source", ratelimit.RemoteIP(r), "client", c.ID, "admin", admin.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
