package web

import (
	"html/template"
	"net/http"
	"strings"
)

// Pages of the Client Center and the account pages (package clientcenter
// owns their data). Each is parsed with the layout and center.html, which
// defines the navigation those pages share.
const (
	PageClients      = "clients"
	PageClientNew    = "client_new"
	PageClient       = "client"
	PageClientSecret = "client_secret"
	PageClientDelete = "client_delete"
	PageAccountApps  = "account_apps"
)

func init() {
	funcs := template.FuncMap{"asset": AssetURL}
	for _, name := range []string{PageClients, PageClientNew, PageClient, PageClientSecret, PageClientDelete, PageAccountApps} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/center.html", "templates/"+name+".html"))
	}
}

// AllowScripts lets the response's page run the scripts served under
// /assets/ (script-src 'self'), and nothing else: no inline script, no
// other origin. Call it before writing the header of a page that loads an
// embedded script, such as the secret page's copy button (copy.js).
func AllowScripts(w http.ResponseWriter) {
	h := w.Header()
	csp := h.Get(cspHeader)
	if csp == "" || strings.Contains(csp, "script-src") {
		return
	}
	h.Set(cspHeader, strings.Replace(csp, "default-src 'none';", "default-src 'none'; script-src 'self';", 1))
}
