package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// CSRFField is the name of the hidden form field carrying the token.
const CSRFField = "csrf_token"

// CookieName returns the name of an Aries cookie: with the __Host- prefix
// when it is Secure, which binds it to this exact origin (no Domain, Path
// "/"), so a sibling subdomain cannot plant it. Browsers refuse __Host-
// cookies over plain http, hence the bare name for http://127.0.0.1.
func CookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

// Cookie returns a cookie with the attributes every Aries cookie has:
// HttpOnly, SameSite=Lax, Path "/", and Secure when secure.
func Cookie(base, value string, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName(base, secure),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// CSRF issues and checks double-submit tokens: a random value lives in a
// cookie and is repeated in every form; a POST is accepted only when the two
// agree. Another site can make a browser send the cookie but can neither
// read it nor set it, so it cannot fill in the field. This backs up
// http.CrossOriginProtection in Secure for browsers that send neither
// Sec-Fetch-Site nor Origin.
type CSRF struct {
	// Secure marks the cookie Secure and names it __Host-aries_csrf; set it
	// when the issuer is https.
	Secure bool
}

const csrfCookie = "aries_csrf"

// CookieName is the name of the token cookie.
func (c CSRF) CookieName() string { return CookieName(csrfCookie, c.Secure) }

// Token returns the browser's token, setting a new cookie when it has none.
// Put it in every form as the field CSRFField.
func (c CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if tok := c.cookie(r); tok != "" {
		return tok
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, Cookie(csrfCookie, tok, c.Secure))
	return tok
}

// Valid reports whether the form field CSRFField of r equals the token
// cookie. It parses the form.
func (c CSRF) Valid(r *http.Request) bool {
	want := c.cookie(r)
	got := r.PostFormValue(CSRFField)
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}

// Protect answers any non-safe request without a valid token with a 403
// page and passes the rest to next.
func (c CSRF) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if !c.Valid(r) {
				RenderForbidden(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RenderForbidden writes the 403 page for a form whose CSRF token is
// missing or wrong.
func RenderForbidden(w http.ResponseWriter) {
	RenderError(w, http.StatusForbidden, ErrorPage{
		Title:       "This form has expired",
		Description: "Aries could not confirm that this form came from its own page. Go back, reload the page and try again.",
	})
}

// cookie returns the token cookie's value if it is well formed.
func (c CSRF) cookie(r *http.Request) string {
	ck, err := r.Cookie(c.CookieName())
	if err != nil || len(ck.Value) != 43 {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(ck.Value); err != nil {
		return ""
	}
	return ck.Value
}
