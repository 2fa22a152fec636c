package web

import "html/template"

// Pages of OpenID Connect (package authorize owns their data): the account
// chooser of prompt=select_account and the page of RP-initiated logout.
const (
	PageSelectAccount = "select_account"
	PageLogout        = "logout"
)

// SelectAccountPage is the data of the account chooser (OpenID Connect
// Core 1.0 section 3.1.2.1, prompt=select_account). Both choices are links
// back to the authorization endpoint.
type SelectAccountPage struct {
	ClientName  string
	UserEmail   string // the account signed in to this browser
	ContinueURL string // go on as UserEmail
	SwitchURL   string // sign in as someone else
}

// LogoutPage is the data of the RP-initiated logout page. Its form, shown
// while SignedIn and not SignedOut, posts csrf_token to POST /oauth2/logout.
type LogoutPage struct {
	CSRFToken  string
	SignedIn   bool   // the browser has a session the form can end
	UserEmail  string // whose session that is
	SignedOut  bool   // the session was just ended
	ClientName string // the app that asked, when it proved which it is
	// Problem says why Aries sends the browser nowhere (a wrong
	// post_logout_redirect_uri, a foreign id_token_hint); "" when nothing
	// is wrong.
	Problem string
}

func init() {
	funcs := template.FuncMap{"asset": AssetURL}
	for _, name := range []string{PageSelectAccount, PageLogout} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
}
