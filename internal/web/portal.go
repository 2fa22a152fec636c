package web

import "html/template"

// Pages of the developer portal (package portal owns their data). Each is
// parsed with the layout and portal.html, which defines the navigation the
// portal's pages share.
const (
	PagePortalHome = "portal_home"
	PagePortalDoc  = "portal_doc"
	PagePortalAPI  = "portal_api"
	PagePortalTry  = "portal_try"
)

func init() {
	funcs := template.FuncMap{"asset": AssetURL}
	for _, name := range []string{PagePortalHome, PagePortalDoc, PagePortalAPI, PagePortalTry} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/portal.html", "templates/"+name+".html"))
	}
}
