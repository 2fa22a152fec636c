package portal

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

// Sessions finds the user signed in to a browser: *authorize.Handler, the
// hosted sign-in the Client Center shares.
type Sessions interface {
	CurrentUser(r *http.Request) (store.User, bool, error)
}

// Clients lists the apps a developer owns (store.ClientStore.Clients).
type Clients interface {
	Clients(ctx context.Context, ownerID string) ([]store.Client, error)
}

// Handler serves the portal. Set its fields, then call Register once.
type Handler struct {
	Issuer   string // the public base URL, shown in examples and curl lines
	Docs     fs.FS  // the Markdown pages: docs.FS
	Sessions Sessions
	Clients  Clients
	// Backend serves the token, revocation and introspection endpoints the
	// token page sends its requests to: the server's own routes.
	Backend http.Handler
	Logger  *slog.Logger

	csrf  web.CSRF
	docs  map[string]Doc
	nav   []navGroup
	index apiIndex
}

// Register renders the docs and reads the OpenAPI document, then mounts the
// routes listed in the package documentation. It fails when a page or the
// document cannot be read, so a broken page stops the start, not a reader.
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) error {
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	h.csrf = web.CSRF{Secure: strings.HasPrefix(h.Issuer, "https://")}
	docs, err := LoadDocs(h.Docs)
	if err != nil {
		return err
	}
	h.docs = docs
	h.nav = buildNav(docs)
	if h.index, err = parseSpec(openAPI); err != nil {
		return err
	}

	secure := web.SecureFor(h.Issuer)
	mux.Handle("GET /{$}", secure(http.HandlerFunc(h.home)))
	mux.Handle("GET /docs", secure(http.HandlerFunc(h.doc)))
	mux.Handle("GET /docs/{page}", secure(http.HandlerFunc(h.doc)))
	mux.Handle("GET /docs/api", secure(http.HandlerFunc(h.reference)))
	mux.Handle("GET /docs/try", secure(http.HandlerFunc(h.tryPage)))
	mux.Handle("POST /docs/try", secure(http.HandlerFunc(h.trySend)))
	mux.Handle("GET /openapi.json", http.HandlerFunc(h.openAPI))
	return nil
}

// Frame is what every portal page shows around its content.
type Frame struct {
	Section string // home, docs, api or try: the navigation's aria-current
	Issuer  string
}

// HomePage is the data of the landing page.
type HomePage struct{ Frame }

// DocPage is the data of a documentation page.
type DocPage struct {
	Frame
	Doc    Doc
	Groups []navGroup
}

type navGroup struct {
	Name  string
	Links []navLink
}

type navLink struct {
	Title, URL string
	Current    bool
}

// contents is the order of the documentation's table of contents. A page
// listed here but missing from docs/ is left out; a page of docs/ not listed
// is still served at /docs/{page} and appears under "More".
var contents = []struct {
	group string
	pages []string
}{
	{"Start", []string{"", "quickstart", "troubleshooting"}},
	{"Flows", []string{"authorization-code", "pkce", "refresh", "client-credentials", "first-party", "dpop", "fapi", "oidc"}},
	{"Reference", []string{"api", "scopes", "rate-limits", "protocol", "trading-api"}},
	{"SDKs", []string{"sdk-go", "sdk-python"}},
	{"Run Aries", []string{"clients", "configuration", "deployment", "security", "decisions"}},
}

func buildNav(docs map[string]Doc) []navGroup {
	listed := map[string]bool{}
	var groups []navGroup
	for _, g := range contents {
		ng := navGroup{Name: g.group}
		for _, slug := range g.pages {
			listed[slug] = true
			if slug == "api" {
				ng.Links = append(ng.Links, navLink{Title: "API reference (OpenAPI)", URL: "/docs/api"})
				continue
			}
			if d, ok := docs[slug]; ok {
				ng.Links = append(ng.Links, navLink{Title: d.Title, URL: docURL(slug)})
			}
		}
		groups = append(groups, ng)
	}
	more := navGroup{Name: "More"}
	for _, slug := range sortedKeys(docs) {
		if !listed[slug] {
			more.Links = append(more.Links, navLink{Title: docs[slug].Title, URL: docURL(slug)})
		}
	}
	if len(more.Links) > 0 {
		groups = append(groups, more)
	}
	return groups
}

func docURL(slug string) string {
	if slug == "" {
		return "/docs"
	}
	return "/docs/" + slug
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	web.Render(w, http.StatusOK, web.PagePortalHome, HomePage{Frame{Section: "home", Issuer: h.Issuer}})
}

func (h *Handler) doc(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("page")
	d, ok := h.docs[strings.TrimSuffix(slug, ".md")]
	if !ok || slug == "README" {
		web.RenderError(w, http.StatusNotFound, web.ErrorPage{
			Title:       "Page not found",
			Description: "There is no such page in the documentation. The index is at /docs.",
		})
		return
	}
	groups := make([]navGroup, len(h.nav))
	for i, g := range h.nav {
		groups[i] = navGroup{Name: g.Name, Links: make([]navLink, len(g.Links))}
		for j, l := range g.Links {
			l.Current = l.URL == docURL(d.Slug)
			groups[i].Links[j] = l
		}
	}
	web.Render(w, http.StatusOK, web.PagePortalDoc, DocPage{Frame: Frame{Section: "docs", Issuer: h.Issuer}, Doc: d, Groups: groups})
}
