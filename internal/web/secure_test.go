package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecureForComparesOriginWithIssuer covers a proxy that forwards Host
// without the port (nginx's $host) in front of an https issuer with one: a
// browser that sends Origin but not Sec-Fetch-Site must still get its own
// form through, and every other origin is refused.
func TestSecureForComparesOriginWithIssuer(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name, issuer, host, origin, fetchSite string
		want                                  int
	}{
		{"issuer origin, Host without port", "https://aries.example:8443", "aries.example", "https://aries.example:8443", "", http.StatusNoContent},
		{"issuer origin, case differs", "https://Aries.Example:8443/", "aries.example", "https://aries.example:8443", "", http.StatusNoContent},
		{"default port omitted by the browser", "https://aries.example:443", "10.0.0.5:8080", "https://aries.example", "", http.StatusNoContent},
		{"foreign origin", "https://aries.example:8443", "aries.example", "https://evil.example", "", http.StatusForbidden},
		{"foreign origin naming our Host", "https://aries.example:8443", "aries.example", "https://aries.example", "", http.StatusForbidden},
		{"plain http on the issuer's host", "https://aries.example", "aries.example", "http://aries.example", "", http.StatusForbidden},
		{"cross-site fetch", "https://aries.example", "aries.example", "https://aries.example", "cross-site", http.StatusForbidden},
		{"same-origin fetch", "https://aries.example", "other", "https://other", "same-origin", http.StatusNoContent},
		{"no Origin, no Sec-Fetch-Site (CSRF token guards it)", "https://aries.example", "aries.example", "", "", http.StatusNoContent},
		{"http issuer compares Host", "http://127.0.0.1:8080", "localhost:8080", "http://localhost:8080", "", http.StatusNoContent},
		{"http issuer, foreign origin", "http://127.0.0.1:8080", "127.0.0.1:8080", "http://evil.example", "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/login", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
			}
			rec := httptest.NewRecorder()
			SecureFor(tt.issuer)(ok).ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Errorf("POST from %q to Host %q (issuer %s): got %d, want %d", tt.origin, tt.host, tt.issuer, rec.Code, tt.want)
			}
			if rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Error("security headers missing")
			}
		})
	}
}
