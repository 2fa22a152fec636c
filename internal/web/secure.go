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
// apps call those cross-origin on purpose. Handlers that know the issuer
// use SecureFor, which does not depend on the Host header.
func Secure(next http.Handler) http.Handler { return SecureFor("")(next) }

// SecureFor is Secure for the server whose public base URL is issuer. With
// an https issuer the origin check compares a browser's Origin with the
// issuer's origin (scheme, host and port), not with the Host header: behind
// a TLS-terminating proxy, Host is whatever the proxy forwards (often
// without the port), and a browser that sends Origin but not
// Sec-Fetch-Site would otherwise be refused on its own forms
// (docs/deployment.md#origin-checks). It is also stricter: an http://
// origin on the issuer's host is refused. With an http issuer (a developer
// machine, reached as 127.0.0.1 or localhost alike) Host is compared, as
// http.CrossOriginProtection does.
func SecureFor(issuer string) func(http.Handler) http.Handler {
	origin := httpsOrigin(issuer)
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RenderError(w, http.StatusForbidden, ErrorPage{
			Title:       "Request refused",
			Description: "This form was sent from another site, so Aries did not accept it. Go back to the page you came from and try again.",
		})
	})
	return func(next http.Handler) http.Handler {
		var protected http.Handler
		if origin == "" {
			cop := http.NewCrossOriginProtection()
			cop.SetDenyHandler(refuse)
			protected = cop.Handler(next)
		} else {
			protected = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !sameOrigin(r, origin) {
					refuse.ServeHTTP(w, r)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
		return secureHeaders(protected)
	}
}

// httpsOrigin returns the RFC 6454 origin ("https://host[:port]", default
// port omitted as browsers send it) of an https issuer, or "".
func httpsOrigin(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Host)
	if h, port, ok := strings.Cut(host, ":"); ok && port == "443" && !strings.HasPrefix(host, "[") {
		host = h
	}
	return "https://" + host
}

// sameOrigin is http.CrossOriginProtection's rule with the issuer's origin
// in place of Host: safe methods pass; Sec-Fetch-Site (every current
// browser) decides when present; else a present Origin must equal origin;
// a request with neither comes from no browser or a very old one, and the
// CSRF token (CSRF.Protect) still guards it.
func sameOrigin(r *http.Request, origin string) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "":
	case "same-origin", "none":
		return true
	default:
		return false
	}
	o := r.Header.Get("Origin")
	return o == "" || strings.EqualFold(o, origin)
}

// secureHeaders sets the headers of every HTML response and bounds the
// request body.
func secureHeaders(protected http.Handler) http.Handler {
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
