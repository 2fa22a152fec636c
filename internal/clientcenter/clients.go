package clientcenter

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// ClientsPage is the data of the list of apps.
type ClientsPage struct {
	Frame
	Clients []ClientRow
}

// ClientRow is one app in the list; Owner is filled for administrators.
type ClientRow struct {
	store.Client
	Owner string
}

// ClientForm is the registration and settings form. Its fields post as
// name, type (confidential or public, registration only), redirect_uris
// (one per line), scope (repeated), post_logout_redirect_uris (one per
// line), id_token_signed_response_alg (RS256 or ES256), first_party and
// resource_server (administrators only).
type ClientForm struct {
	New            bool // registration form: the type can be chosen
	Name           string
	Public         bool
	RedirectURIs   string // the textarea's text
	Scopes         []ScopeOption
	FirstParty     bool
	ResourceServer bool
	ShowFirstParty bool // the signed-in user is an administrator: the administrator settings are shown
	Errors         []string
	BadName        bool
	BadRedirects   bool
	BadScopes      bool

	// OpenID Connect (docs/oidc.md).
	PostLogoutRedirectURIs string // the textarea's text
	IDTokenAlg             string // RS256 or ES256
	BadPostLogout          bool

	// DPoPBound posts as dpop_bound_access_tokens (RFC 9449 section 5.2,
	// docs/dpop.md). Anyone who manages the app sets it: it only takes
	// bearer tokens away from it.
	DPoPBound bool

	FAPI FAPIForm // financial-grade settings (fapi.go)
}

// ScopeOption is one checkbox of the scope list.
type ScopeOption struct {
	Name, Description string
	Checked           bool
}

// NewClientPage is the data of the registration page.
type NewClientPage struct {
	Frame
	Form ClientForm
}

// ClientPage is the data of one app's page.
type ClientPage struct {
	Frame
	Client  store.Client
	Public  bool
	Owner   string // the owner's email, for administrators
	Version string // the client's version, sent back by the regenerate form
	Form    ClientForm
	KeyIDs  []string // the keys of its JWK Set (private_key_jwt)
}

// SecretPage is the data of the page that shows a client secret, once.
type SecretPage struct {
	Frame
	ClientID    string
	Name        string
	Secret      string
	Regenerated bool
}

// DeletePage is the data of the delete confirmation page.
type DeletePage struct {
	Frame
	Client store.Client
	Error  string
}

// formInput is what a registration or settings form sent.
type formInput struct {
	name           string
	public         bool
	redirectText   string
	redirectURIs   []string
	scopes         []string // split on whitespace: one value may hold several
	firstParty     bool
	resourceServer bool
	logoutText     string
	logoutURIs     []string
	idTokenAlg     string
	dpopBound      bool
	fapi           fapiInput
}

func readForm(r *http.Request) formInput {
	in := formInput{
		name:         strings.TrimSpace(r.PostFormValue("name")),
		public:       r.PostFormValue("type") == string(store.Public),
		redirectText: r.PostFormValue("redirect_uris"),
		// The checkboxes send one scope per value, but a hand-made form can
		// send "read admin" or "admin " as one: every value is split here,
		// before anything looks at it
		// (docs/security.md#admin-is-never-self-granted).
		scopes:         strings.Fields(strings.Join(r.PostForm["scope"], " ")),
		firstParty:     r.PostFormValue("first_party") != "",
		resourceServer: r.PostFormValue("resource_server") != "",
		logoutText:     r.PostFormValue("post_logout_redirect_uris"),
		idTokenAlg:     r.PostFormValue("id_token_signed_response_alg"),
		dpopBound:      r.PostFormValue("dpop_bound_access_tokens") != "",
		fapi:           readFAPI(r),
	}
	in.redirectURIs = splitRedirectURIs(in.redirectText)
	in.logoutURIs = splitRedirectURIs(in.logoutText)
	return in
}

// splitRedirectURIs reads the textarea: one URI per line, surrounding
// blanks and empty lines dropped, exact duplicates removed. Nothing else is
// touched: a redirect URI is matched character for character.
func splitRedirectURIs(text string) []string {
	var out []string
	for line := range strings.Lines(text) {
		u := strings.TrimSpace(line)
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// scopeOptions lists the scopes u may enable, checked as in checked. The
// admin scope is offered to administrators only, or shown checked when the
// client has it: a developer's edit must take it off in plain sight (the
// registry refuses to keep it for them) rather than lose it silently.
func scopeOptions(u store.User, checked []string) []ScopeOption {
	var out []ScopeOption
	for _, s := range scope.All {
		on := slices.Contains(checked, s.Name)
		if s.Name == scope.Admin && !u.Admin && !on {
			continue
		}
		out = append(out, ScopeOption{Name: s.Name, Description: s.Description, Checked: on})
	}
	return out
}

// specOf turns a form that u sent about client old (zero for a new one)
// into the spec to register. Only the administrator settings an
// administrator can see are read from the form; for anyone else they keep
// the client's values. Whether the spec is allowed, for u, is the
// registry's decision (registry.ActorOf(u)), not this page's.
func specOf(u store.User, old store.Client, in formInput) registry.Spec {
	spec := registry.Spec{
		Name:           in.name,
		Public:         in.public,
		FirstParty:     old.FirstParty,
		ResourceServer: old.ResourceServer,
		RedirectURIs:   in.redirectURIs,
		Scopes:         scope.Join(in.scopes),
		OwnerID:        u.ID,

		PostLogoutRedirectURIs: in.logoutURIs,
		IDTokenAlg:             in.idTokenAlg,
		DPoPBound:              in.dpopBound,
	}
	in.fapi.apply(&spec)
	if u.Admin {
		spec.FirstParty, spec.ResourceServer = in.firstParty, in.resourceServer
	}
	return spec
}

// refusedForm is the form as u sent it, with the registry's refusal shown
// and the fields it concerns marked.
func refusedForm(u store.User, old store.Client, in formInput, spec registry.Spec, refusal *registry.Refusal) ClientForm {
	canonical, err := scope.Expand(in.scopes)
	form := ClientForm{
		New:            old.ID == "",
		Name:           in.name,
		Public:         in.public,
		RedirectURIs:   in.redirectText,
		Scopes:         scopeOptions(u, canonical),
		FirstParty:     spec.FirstParty,
		ResourceServer: spec.ResourceServer,
		ShowFirstParty: u.Admin,
		Errors:         strings.Split(refusal.Error(), "\n"),
		BadName:        in.name == "",
		BadScopes:      err != nil || len(canonical) == 0 || !u.Admin && slices.Contains(canonical, scope.Admin),
		BadRedirects:   len(in.redirectURIs) == 0 || len(in.redirectURIs) > registry.MaxRedirectURIs,

		PostLogoutRedirectURIs: in.logoutText,
		IDTokenAlg:             in.idTokenAlg,
		BadPostLogout:          len(in.logoutURIs) > registry.MaxRedirectURIs,
		DPoPBound:              in.dpopBound,
		FAPI:                   in.fapi.refused(spec),
	}
	for _, uri := range in.redirectURIs {
		if registry.ValidateRedirectURI(uri) != nil {
			form.BadRedirects = true
		}
	}
	for _, uri := range in.logoutURIs {
		if registry.ValidateRedirectURI(uri) != nil {
			form.BadPostLogout = true
		}
	}
	return form
}

// formOf fills the settings form from a stored client.
func formOf(u store.User, c store.Client) ClientForm {
	return ClientForm{
		Name:           c.Name,
		Public:         c.Type == store.Public,
		RedirectURIs:   strings.Join(c.RedirectURIs, "\n"),
		Scopes:         scopeOptions(u, c.Scopes),
		FirstParty:     c.FirstParty,
		ResourceServer: c.ResourceServer,
		ShowFirstParty: u.Admin,

		PostLogoutRedirectURIs: strings.Join(c.PostLogoutRedirectURIs, "\n"),
		IDTokenAlg:             registry.View(c, "").IDTokenSignedResponseAlg,
		DPoPBound:              c.DPoPBoundAccessTokens,
		FAPI:                   fapiFormOf(c),
	}
}

// version identifies the state of a client that a form was made from:
// every change (settings, secret, status) moves UpdatedAt.
func version(c store.Client) string {
	return strconv.FormatInt(c.UpdatedAt.UnixMilli(), 10)
}

// list serves GET /clients.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, u store.User) {
	ctx := r.Context()
	owner := u.ID
	if u.Admin {
		owner = "" // every client
	}
	clients, err := h.Store.Clients(ctx, owner)
	if err != nil {
		h.serverError(w, r, "list clients", err)
		return
	}
	rows := make([]ClientRow, len(clients))
	emails := map[string]string{"": "CLI"}
	for i, c := range clients {
		rows[i] = ClientRow{Client: c}
		if !u.Admin {
			continue
		}
		email, ok := emails[c.OwnerID]
		if !ok {
			email = c.OwnerID
			if o, err := h.Store.UserByID(ctx, c.OwnerID); err == nil {
				email = o.Email
			}
			emails[c.OwnerID] = email
		}
		rows[i].Owner = email
	}
	web.Render(w, http.StatusOK, web.PageClients, ClientsPage{Frame: h.frame(w, r, u, sectionClients), Clients: rows})
}

// newForm serves GET /clients/new.
func (h *Handler) newForm(w http.ResponseWriter, r *http.Request, u store.User) {
	web.Render(w, http.StatusOK, web.PageClientNew, NewClientPage{
		Frame: h.frame(w, r, u, sectionClients),
		Form:  ClientForm{New: true, Scopes: scopeOptions(u, nil), ShowFirstParty: u.Admin},
	})
}

// create serves POST /clients. A confidential client's secret is shown in
// this response and nowhere else, ever.
func (h *Handler) create(w http.ResponseWriter, r *http.Request, u store.User) {
	in := readForm(r)
	spec := specOf(u, store.Client{}, in)
	c, clientSecret, err := registry.Create(r.Context(), h.Store, h.Hasher, registry.ActorOf(u), spec, h.Now())
	if refusal, ok := errors.AsType[*registry.Refusal](err); ok {
		form := refusedForm(u, store.Client{}, in, spec, refusal)
		web.Render(w, http.StatusBadRequest, web.PageClientNew, NewClientPage{Frame: h.frame(w, r, u, sectionClients), Form: form})
		return
	}
	if err != nil {
		h.serverError(w, r, "create client", err)
		return
	}
	h.Logger.InfoContext(r.Context(), "client created", "client", c.ID, "by", u.ID)
	if clientSecret == "" {
		h.redirect(w, r, "/clients/"+c.ID+"?notice=created")
		return
	}
	h.showSecret(w, r, u, c, clientSecret, false)
}

func (h *Handler) showSecret(w http.ResponseWriter, r *http.Request, u store.User, c store.Client, clientSecret string, regenerated bool) {
	web.AllowScripts(w) // the copy button, /assets/copy.js
	web.Render(w, http.StatusOK, web.PageClientSecret, SecretPage{
		Frame:       h.frame(w, r, u, sectionClients),
		ClientID:    c.ID,
		Name:        c.Name,
		Secret:      clientSecret,
		Regenerated: regenerated,
	})
}

// show serves GET /clients/{id}.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) {
	h.renderClient(w, r, u, c, http.StatusOK, formOf(u, c))
}

func (h *Handler) renderClient(w http.ResponseWriter, r *http.Request, u store.User, c store.Client, status int, form ClientForm) {
	p := ClientPage{
		Frame:   h.frame(w, r, u, sectionClients),
		Client:  c,
		Public:  c.Type == store.Public,
		Version: version(c),
		Form:    form,
		KeyIDs:  keyIDs(c),
	}
	if u.Admin {
		p.Owner = "CLI"
		if c.OwnerID != "" {
			p.Owner = c.OwnerID
			if o, err := h.Store.UserByID(r.Context(), c.OwnerID); err == nil {
				p.Owner = o.Email
			}
		}
	}
	web.Render(w, status, web.PageClient, p)
}

// update serves POST /clients/{id}: the settings form.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) {
	in := readForm(r)
	in.public = c.Type == store.Public
	spec := specOf(u, c, in)
	_, err := registry.Update(r.Context(), h.Store, registry.ActorOf(u), c, spec, h.Now())
	if refusal, ok := errors.AsType[*registry.Refusal](err); ok {
		h.renderClient(w, r, u, c, http.StatusBadRequest, refusedForm(u, c, in, spec, refusal))
		return
	}
	if err != nil {
		h.serverError(w, r, "update client", err)
		return
	}
	h.Logger.InfoContext(r.Context(), "client updated", "client", c.ID, "by", u.ID)
	h.redirect(w, r, "/clients/"+c.ID+"?notice=saved")
}

// rotate serves POST /clients/{id}/secret. The form carries the client's
// version: a form sent again (a reload of the secret page) finds the client
// changed and makes no second secret behind the developer's back.
func (h *Handler) rotate(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) {
	if c.Type != store.Confidential {
		web.RenderError(w, http.StatusBadRequest, web.ErrorPage{
			Title:       "This app has no secret",
			Description: "A public app cannot keep a secret, so it proves itself with PKCE instead.",
		})
		return
	}
	if r.PostFormValue("version") != version(c) {
		web.RenderError(w, http.StatusConflict, web.ErrorPage{
			Title:       "No new secret was made",
			Description: "This app changed after the page was loaded (perhaps its secret was just regenerated). Open the app's page again and decide there.",
		})
		return
	}
	clientSecret, err := registry.RotateSecret(r.Context(), h.Store, h.Hasher, c.ID, h.Now())
	if refusal, ok := errors.AsType[*registry.Refusal](err); ok {
		web.RenderError(w, http.StatusBadRequest, web.ErrorPage{Title: "This app has no secret", Description: refusal.Error()})
		return
	}
	if err != nil {
		h.serverError(w, r, "rotate secret", err)
		return
	}
	h.Logger.InfoContext(r.Context(), "client secret regenerated", "client", c.ID, "by", u.ID)
	h.showSecret(w, r, u, c, clientSecret, true)
}

// setDisabled serves POST /clients/{id}/disable and /enable. Disabling
// revokes every grant of the client in the store.
func (h *Handler) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request, store.User, store.Client) {
	notice := map[bool]string{true: "disabled", false: "enabled"}[disabled]
	return func(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) {
		if err := h.Store.SetClientDisabled(r.Context(), c.ID, disabled, h.Now()); err != nil {
			h.serverError(w, r, "set client disabled", err)
			return
		}
		h.Logger.InfoContext(r.Context(), "client "+notice, "client", c.ID, "by", u.ID)
		h.redirect(w, r, "/clients/"+c.ID+"?notice="+notice)
	}
}

// confirmDelete serves GET /clients/{id}/delete.
func (h *Handler) confirmDelete(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) {
	web.Render(w, http.StatusOK, web.PageClientDelete, DeletePage{Frame: h.frame(w, r, u, sectionClients), Client: c})
}

// delete serves POST /clients/{id}/delete. The developer types the app's
// name, so a stray click or a mixed-up tab cannot delete an app.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) {
	if strings.TrimSpace(r.PostFormValue("confirm")) != c.Name {
		web.Render(w, http.StatusBadRequest, web.PageClientDelete, DeletePage{
			Frame:  h.frame(w, r, u, sectionClients),
			Client: c,
			Error:  "The name you typed does not match. Nothing was deleted.",
		})
		return
	}
	if err := h.Store.DeleteClient(r.Context(), c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(w, r, "delete client", err)
		return
	}
	h.Logger.InfoContext(r.Context(), "client deleted", "client", c.ID, "by", u.ID)
	h.redirect(w, r, "/clients?notice=deleted")
}
