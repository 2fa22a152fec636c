package clientcenter

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// Sessions finds the user signed in to a browser. *authorize.Handler is the
// implementation: the Client Center shares the hosted sign-in.
type Sessions interface {
	CurrentUser(r *http.Request) (store.User, bool, error)
}

// Store is what the Client Center reads and writes: a developer's clients,
// a user's consents, and the users behind them.
type Store interface {
	store.ClientStore
	store.ConsentStore
	store.UserFinder
}

// Handler serves the Client Center and /account/apps. Set its fields, then
// call Register once.
type Handler struct {
	Store    Store
	Hasher   *secret.Hasher // hashes new client secrets
	Sessions Sessions
	// Issuer is the server's public base URL; an https issuer makes the
	// CSRF cookie Secure and __Host- prefixed, as on the sign-in pages.
	Issuer string
	Now    func() time.Time
	Logger *slog.Logger

	csrf web.CSRF
}

// Section names, for the navigation's aria-current.
const (
	sectionClients = "clients"
	sectionApps    = "apps"
)

// Frame is what every Client Center page shows around its content: the
// navigation, who is signed in, and a notice about the last action.
type Frame struct {
	CSRFToken string
	Email     string
	Admin     bool
	Section   string
	Notice    string
}

// notices are the messages a redirect after a POST may ask for with
// ?notice=; anything else shows nothing, so the query cannot put text on
// the page.
var notices = map[string]string{
	"created":  "The app is registered.",
	"saved":    "Your changes are saved.",
	"disabled": "The app is disabled and every token it held is revoked.",
	"enabled":  "The app is enabled.",
	"deleted":  "The app is deleted.",
	"revoked":  "Access removed. The app's tokens no longer work.",
}

// userFunc is a route that needs a signed-in user.
type userFunc func(w http.ResponseWriter, r *http.Request, u store.User)

// Register fills in defaults and mounts the routes listed in the package
// documentation on mux (an *http.ServeMux, or server.New's record of one).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) {
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	h.csrf = web.CSRF{Secure: strings.HasPrefix(h.Issuer, "https://")}

	page := func(f userFunc) http.Handler { return web.SecureFor(h.Issuer)(h.signedIn(f)) }
	mux.Handle("GET /clients", page(h.list))
	mux.Handle("GET /clients/new", page(h.newForm))
	mux.Handle("POST /clients", page(h.create))
	mux.Handle("GET /clients/{id}", page(h.withClient(h.show)))
	mux.Handle("POST /clients/{id}", page(h.withClient(h.update)))
	mux.Handle("POST /clients/{id}/secret", page(h.withClient(h.rotate)))
	mux.Handle("POST /clients/{id}/disable", page(h.withClient(h.setDisabled(true))))
	mux.Handle("POST /clients/{id}/enable", page(h.withClient(h.setDisabled(false))))
	mux.Handle("GET /clients/{id}/delete", page(h.withClient(h.confirmDelete)))
	mux.Handle("POST /clients/{id}/delete", page(h.withClient(h.delete)))
	mux.Handle("GET /account/apps", page(h.apps))
	mux.Handle("POST /account/apps/{id}/revoke", page(h.revoke))
}

// signedIn checks the CSRF token of a POST, then finds the user. A browser
// without a session goes to the hosted sign-in and comes back: to the same
// page after a GET, to the section's first page after a POST (whose form
// would have to be sent again anyway).
func (h *Handler) signedIn(next userFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !h.csrf.Valid(r) {
			web.RenderForbidden(w)
			return
		}
		u, ok, err := h.Sessions.CurrentUser(r)
		if err != nil {
			h.serverError(w, r, "session", err)
			return
		}
		if !ok {
			back := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				back = "/clients"
				if strings.HasPrefix(r.URL.Path, "/account/") {
					back = "/account/apps"
				}
			}
			h.redirect(w, r, "/login?"+url.Values{"return_to": {back}}.Encode())
			return
		}
		next(w, r, u)
	}
}

// frame returns the page frame for u; it sets the CSRF cookie if the
// browser has none yet.
func (h *Handler) frame(w http.ResponseWriter, r *http.Request, u store.User, section string) Frame {
	return Frame{
		CSRFToken: h.csrf.Token(w, r),
		Email:     u.Email,
		Admin:     u.Admin,
		Section:   section,
		Notice:    notices[r.URL.Query().Get("notice")],
	}
}

// redirect answers 303 after a POST, so the browser does not send the form
// again (RFC 9700 section 4.11), and 302 otherwise.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, location string) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}

// notFound is the answer for a client that does not exist and for one that
// belongs to someone else: the two must look the same.
func (h *Handler) notFound(w http.ResponseWriter) {
	web.RenderError(w, http.StatusNotFound, web.ErrorPage{
		Title:       "App not found",
		Description: "There is no app with this client ID in your account. Go back to your apps at /clients.",
	})
}

// serverError logs err and shows a page that reveals nothing about it.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, op string, err error) {
	web.ServerError(w, r, h.Logger, op, err)
}

// client returns the client named in the path if u may manage it: its
// owner, or an administrator. ok is false for a missing client and for
// another developer's, alike.
func (h *Handler) client(r *http.Request, u store.User) (c store.Client, ok bool, err error) {
	if !oauth.ValidIdentifier(r.PathValue("id")) {
		return store.Client{}, false, nil // no client has such an id
	}
	c, err = h.Store.Client(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, false, nil
	}
	if err != nil {
		return store.Client{}, false, err
	}
	// Clients made with the CLI have no owner: only administrators manage them.
	if !u.Admin && (c.OwnerID == "" || c.OwnerID != u.ID) {
		return store.Client{}, false, nil
	}
	return c, true, nil
}

// withClient wraps a route about one client: it answers 404 unless u may
// manage the client.
func (h *Handler) withClient(next func(w http.ResponseWriter, r *http.Request, u store.User, c store.Client)) userFunc {
	return func(w http.ResponseWriter, r *http.Request, u store.User) {
		c, ok, err := h.client(r, u)
		if err != nil {
			h.serverError(w, r, "load client", err)
			return
		}
		if !ok {
			h.notFound(w)
			return
		}
		next(w, r, u, c)
	}
}

// dateTime formats a time for a page; the zero time is "never".
func dateTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}
