package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ariesexchange/aries/internal/scope"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Names of the pages Render knows.
const (
	PageSignIn  = "signin"
	PageConsent = "consent"
	PageError   = "error"
)

// SignInPage is the data of the sign-in page. Its form posts email,
// password, return_to and csrf_token to POST /login.
type SignInPage struct {
	CSRFToken  string
	ReturnTo   string // local path to continue to after signing in
	Email      string // echoed back after a failed attempt
	ClientName string // the application being signed in to; "" outside a flow
	Error      string // shown above the form
}

// ConsentPage is the data of the consent page. Its form posts Fields,
// csrf_token and decision (approve or deny) to POST /oauth2/authorize.
type ConsentPage struct {
	CSRFToken    string
	ClientName   string
	UserEmail    string
	RedirectHost string        // where the browser goes next, shown so the user can spot a look-alike
	SwitchURL    string        // signs in as someone else; "" to hide the link
	Scopes       []scope.Scope // rows of the scope table (scope.Lookup), description and action
	Fields       []Field       // the authorization parameters, re-sent as hidden fields
}

// Actions returns the requested scopes that let the client change
// something (orders, money, the profile), which the page lists one by one
// with their action (docs/security.md#the-consent-page-says-what-a-token-can-do).
func (p ConsentPage) Actions() []scope.Scope {
	var out []scope.Scope
	for _, s := range p.Scopes {
		if s.Action != "" {
			out = append(out, s)
		}
	}
	return out
}

// ReadOnly returns the requested scopes that only read, which the page
// folds into one line the user may open: listed one by one, nine of them
// would push the buttons below the fold and bury the actions above.
func (p ConsentPage) ReadOnly() []scope.Scope {
	var out []scope.Scope
	for _, s := range p.Scopes {
		if s.Action == "" {
			out = append(out, s)
		}
	}
	return out
}

// Field is one hidden form field.
type Field struct {
	Name, Value string
}

// ErrorPage is the data of the error page.
type ErrorPage struct {
	Title       string
	Code        string // an OAuth error code such as "invalid_client"; "" for none
	Description string
}

var (
	// assetVersion is a digest of the assets, appended to their URLs so
	// browsers may cache them for a long time yet see every change.
	assetVersion = digest(assetFS)
	pages        = parsePages(PageSignIn, PageConsent, PageError)
)

func parsePages(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{"asset": AssetURL}
	m := make(map[string]*template.Template, len(names))
	for _, name := range names {
		m[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return m
}

// AssetURL returns the URL path of an embedded asset, versioned.
func AssetURL(name string) string {
	return "/assets/" + name + "?v=" + assetVersion
}

// Render writes page name with data and status. The page is rendered into a
// buffer first so that a template error becomes a clean 500, not half a page.
func Render(w http.ResponseWriter, status int, name string, data any) {
	t, ok := pages[name]
	if !ok {
		panic(fmt.Sprintf("web: no page %q", name))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// RenderError writes the error page.
func RenderError(w http.ResponseWriter, status int, p ErrorPage) {
	Render(w, status, PageError, p)
}

// ServerError logs err and shows a page that reveals nothing about it. What
// fails behind a page is the store, and a store outage passes: 503 with
// Retry-After, like the protocol endpoints. A browser that went away gets
// nothing.
func ServerError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, op string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	logger.ErrorContext(r.Context(), op, "err", err)
	w.Header().Set("Retry-After", "1")
	RenderError(w, http.StatusServiceUnavailable, ErrorPage{
		Title:       "Something went wrong",
		Code:        "server_error",
		Description: "Aries could not complete your request. Please try again in a moment.",
	})
}

// Assets serves the embedded stylesheet and icon under /assets/. Mount it at
// "GET /assets/".
func Assets() http.Handler {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix("/assets", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'")
		h.Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
}

func digest(fsys fs.FS) string {
	sum := sha256.New()
	fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", path, len(b))
		sum.Write(b)
		return nil
	})
	return hex.EncodeToString(sum.Sum(nil))[:12]
}
