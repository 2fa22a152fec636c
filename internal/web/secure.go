package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

const cspHeader = "Content-Security-Policy"

// basePolicy forbids everything a page does not need: no scripts, no
// third-party loads, no framing (clickjacking of the consent page), forms
// to Aries only.
const basePolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// MaxFormBytes bounds the body of any request to an HTML route.
const MaxFormBytes = 64 << 10

// Secure wraps the handler of an HTML route: it sets the security headers,
// bounds the request body, and refuses non-safe cross-origin requests with
// http.CrossOriginProtection (Sec-Fetch-Site, then Origin against Host).
// Never wrap protocol endpoints (token, revoke, introspect) with it: browser
// apps call those cross-origin on purpose.
func Secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RenderError(w, http.StatusForbidden, ErrorPage{
			Title:       "Request refused",
			Description: "This form was sent from another site, so Aries did not accept it. Go back to the page you came from and try again.",
		})
	}))
	protected := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(cspHeader, basePolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		}
		protected.ServeHTTP(w, r)
	})
}

// AllowFormAction adds source to the form-action directive of the response's
// Content-Security-Policy (set by Secure). Call it before writing the
// header, with a source from FormActionSource, on every page of an
// authorization flow: Chromium checks form-action against each redirect
// after a form submission, so the final redirect to the client must be
// allowed by the page the form was on. A source that could alter the
// policy is ignored.
func AllowFormAction(w http.ResponseWriter, source string) {
	if !cspSource.MatchString(source) {
		return
	}
	h := w.Header()
	csp := h.Get(cspHeader)
	if csp == "" {
		return
	}
	h.Set(cspHeader, strings.Replace(csp, "form-action 'self'", "form-action 'self' "+source, 1))
}

// cspSource matches the CSP sources FormActionSource produces: a
// scheme-source or a scheme://host[:port] host-source.
var cspSource = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:(//[a-zA-Z0-9.-]+(:[0-9]{1,5})?)?$`)

// FormActionSource returns the CSP source that matches redirectURI's origin:
// "https://host[:port]" for http(s), "com.example.app:" for a private-use
// scheme (RFC 8252 section 7.1). CSP host-sources cannot name an IPv6
// literal, so http://[::1]:port gives the scheme-source "http:".
func FormActionSource(redirectURI string) (string, bool) {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	var src string
	switch {
	case scheme != "http" && scheme != "https":
		src = scheme + ":"
	case u.Host == "":
		return "", false
	case strings.HasPrefix(u.Host, "["):
		src = scheme + ":"
	default:
		src = scheme + "://" + u.Host
	}
	if !cspSource.MatchString(src) {
		return "", false
	}
	return src, true
}
