package server

import (
	"net/http"
	"net/url"
)

// hstsValue keeps browsers on https for two years (the duration
// hstspreload.org recommends), subdomains included (RFC 6797 section 6.1).
const hstsValue = "max-age=63072000; includeSubDomains"

// hsts adds Strict-Transport-Security to every response when the issuer is
// https, so a browser that once reached Aries never again sends a password or
// a session cookie to it over plain http (docs/security.md#https-issuers).
// RFC 6797 section 7.2 has a host send it only over secure transport: TLS
// ends at the load balancer, so the request Aries sees is plain http either
// way, and it is the issuer that says what the browser used. A browser that
// gets the header over plain http ignores it (section 8.1). It wraps
// everything else, so error pages and panics carry it too.
func hsts(issuer string, next http.Handler) http.Handler {
	if u, err := url.Parse(issuer); err != nil || u.Scheme != "https" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsValue)
		next.ServeHTTP(w, r)
	})
}
