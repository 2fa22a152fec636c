package web

import (
	"html/template"
)

// Pages of multi-factor authentication (package authorize owns their
// routes): the TOTP step of sign-in, and /account/security, which shares the
// account pages' navigation (center.html).
const (
	PageMFA             = "mfa"
	PageAccountSecurity = "account_security"
)

func init() {
	funcs := template.FuncMap{"asset": AssetURL}
	pages[PageMFA] = template.Must(template.New(PageMFA).Funcs(funcs).
		ParseFS(templateFS, "templates/layout.html", "templates/mfa.html"))
	pages[PageAccountSecurity] = template.Must(template.New(PageAccountSecurity).Funcs(funcs).
		ParseFS(templateFS, "templates/layout.html", "templates/center.html", "templates/account_security.html"))
}

// MFAPage is the data of the second step of sign-in. Its form posts
// csrf_token and code, or recovery_code when Recovery is set, to POST
// /login/mfa; the challenge itself travels in a cookie.
type MFAPage struct {
	CSRFToken  string
	Email      string // who is signing in
	ClientName string // the application being signed in to; "" outside a flow
	Recovery   bool   // ask for a recovery code instead of an app code
	StepUp     bool   // already signed in; the request needs a fresh code
	Error      string // shown above the form
}

// SecurityPage is the data of /account/security. Its forms post csrf_token
// and action to POST /account/security: "start" begins enrollment,
// "confirm" (with code) finishes it, "remove" (with code) turns MFA off.
type SecurityPage struct {
	// The account pages' frame (see center.html).
	CSRFToken string
	Email     string
	Admin     bool
	Section   string // "security"
	Notice    string

	Enabled       bool
	RecoveryLeft  int       // unused recovery codes, while Enabled
	Locked        bool      // too many wrong codes: a recovery code unlocks
	Setup         *MFASetup // enrollment waiting for its first code
	RecoveryCodes []string  // just enabled: shown this once
	Error         string    // about the last code entered
}

// MFASetup is what the user needs to add Aries to an authenticator app.
type MFASetup struct {
	QRCode template.URL // a data:image/png URL rendered on the server
	Secret string       // base32, grouped for typing in by hand
}
