package authorize

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
)

func TestRedirectURL(t *testing.T) {
	tests := []struct {
		uri    string
		params url.Values
		want   string
	}{
		{"https://app.example.com/cb", url.Values{"code": {"c"}, "state": {"s"}},
			"https://app.example.com/cb?code=c&state=s"},
		{"https://app.example.com/cb?tenant=7", url.Values{"code": {"c"}},
			"https://app.example.com/cb?code=c&tenant=7"},
		// A value cannot smuggle in another parameter.
		{"https://app.example.com/cb", url.Values{"state": {"x&code=evil#frag"}},
			"https://app.example.com/cb?state=x%26code%3Devil%23frag"},
		{"com.example.app:/oauth/cb", url.Values{"code": {"c"}}, "com.example.app:/oauth/cb?code=c"},
		{"http://127.0.0.1:9000/cb", url.Values{"error": {"access_denied"}}, "http://127.0.0.1:9000/cb?error=access_denied"},
	}
	for _, tt := range tests {
		got, err := redirectURL(tt.uri, tt.params)
		if err != nil || got != tt.want {
			t.Errorf("redirectURL(%q, %v) = %q, %v; want %q", tt.uri, tt.params, got, err, tt.want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/oauth2/authorize?client_id=a&scope=b%20c", "/oauth2/authorize?client_id=a&scope=b%20c"},
		{"", "/"},
		{"//evil.com", "/"},
		{"///evil.com", "/"},
		{"/\\evil.com", "/"},
		{"/a\\b", "/"},
		{"/\t/evil.com", "/"},
		{"/\n/evil.com", "/"},
		{"https://evil.com", "/"},
		{"evil.com", "/"},
		{"javascript:alert(1)", "/"},
		{"/%2F%2Fevil.com", "/%2F%2Fevil.com"}, // a path on this server
	}
	for _, tt := range tests {
		if got := localPath(tt.in); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParsePrompt(t *testing.T) {
	tests := []struct {
		in   string
		want prompt
		ok   bool
	}{
		{"", prompt{}, true},
		{"none", prompt{none: true}, true},
		{"login", prompt{login: true}, true},
		{"consent login", prompt{login: true, consent: true}, true},
		{"none consent", prompt{none: true, consent: true}, false},
		{"select_account", prompt{selectAccount: true}, true},
		{"select_account consent", prompt{selectAccount: true, consent: true}, true},
		{"none select_account", prompt{}, false},
		{"NONE", prompt{}, false},
	}
	for _, tt := range tests {
		got, ok := parsePrompt(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parsePrompt(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestErrorDescription(t *testing.T) {
	if got := errorDescription("unknown scope: \"a\\b\" é\n"); got != "unknown scope: ?a?b? ??" {
		t.Errorf("errorDescription = %q, want the characters RFC 6749 forbids replaced", got)
	}
}

// FuzzRedirectURIMatch checks that the redirect URI check is exact string
// equality, that building a redirect never panics and never lets the state
// value add or change a parameter, and that the return path of sign-in
// never leaves the server.
func FuzzRedirectURIMatch(f *testing.F) {
	seeds := []struct{ registered, candidate string }{
		{"https://app.example.com/callback", "https://app.example.com/callback"},
		{"https://app.example.com/callback", "https://app.example.com/callback/"},
		{"https://app.example.com/callback", "https://APP.example.com/callback"},
		{"https://app.example.com/callback", "https://app.example.com/Callback"},
		{"https://app.example.com/callback", "https://app.example.com:443/callback"},
		{"https://app.example.com/callback", "https://app.example.com/callback?x=1"},
		{"https://app.example.com/callback", "https://app.example.com/callback#x"},
		{"https://app.example.com/callback", "https://app.example.com/%63allback"},
		{"https://app.example.com/callback", "https://app.example.com/callback/../callback"},
		{"https://app.example.com/callback", "https://app.example.com.evil.com/callback"},
		{"https://app.example.com/callback", "https://evil.com@app.example.com/callback"},
		{"https://app.example.com/callback", "https://app.example.com/callback\x00"},
		{"https://app.example.com/callback", " https://app.example.com/callback"},
		{"http://127.0.0.1:9000/cb", "http://127.0.0.1:9001/cb"},
		{"http://127.0.0.1:9000/cb", "http://127.0.0.1:0/cb"},
		{"http://127.0.0.1:9000/cb", "http://127.0.0.1:99999/cb"},
		{"http://127.0.0.1:9000/cb", "http://127.0.0.1/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:65535/cb"},
		{"http://127.0.0.1:9000/cb", "http://localhost:9000/cb"},
		{"http://[::1]:9000/cb", "http://[0:0:0:0:0:0:0:1]:9000/cb"},
		{"com.example.app:/oauth/cb", "com.example.app:/oauth/cb"},
		{"com.example.app:/oauth/cb", "COM.EXAMPLE.APP:/oauth/cb"},
		{"com.example.app:/oauth/cb", "com.example.app://oauth/cb"},
		{"https://app.example.com/cb?tenant=7", "https://app.example.com/cb?tenant=7&tenant=8"},
		{"", ""},
		{"%", "%zz"},
	}
	for _, s := range seeds {
		f.Add(s.registered, s.candidate, "st-123")
	}
	f.Fuzz(func(t *testing.T, registered, candidate, state string) {
		for _, typ := range []store.ClientType{store.Confidential, store.Public} {
			got := matchRedirectURI(store.Client{Type: typ, RedirectURIs: []string{registered}}, candidate)
			if registered == candidate && !got {
				t.Fatalf("matchRedirectURI(%s [%q], itself) = false", typ, registered)
			}
			// Anything but exact equality is RFC 8252's free loopback port,
			// for public clients only: the candidate must then be http on
			// the very same loopback host, with a port of 1-65535.
			if got && registered != candidate {
				u, err := url.Parse(candidate)
				r, rerr := url.Parse(registered)
				if typ != store.Public || err != nil || rerr != nil || u.Scheme != "http" || u.Hostname() != r.Hostname() ||
					!slices.Contains([]string{"127.0.0.1", "::1", "localhost"}, u.Hostname()) ||
					u.Path != r.Path || u.RawQuery != r.RawQuery || u.User != nil || u.Fragment != "" {
					t.Fatalf("matchRedirectURI(%s [%q], %q) = true for more than a changed loopback port", typ, registered, candidate)
				}
				if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
					t.Fatalf("matchRedirectURI(%s [%q], %q) = true for port %q", typ, registered, candidate, u.Port())
				}
			}
			if matchRedirectURI(store.Client{Type: typ}, candidate) {
				t.Fatalf("matchRedirectURI(%s with no URIs, %q) = true", typ, candidate)
			}
		}

		// The other parsers of browser input must not panic either, and
		// localPath must only ever return a path on this server.
		parsePrompt(candidate)
		signin.CheckPKCE(candidate, "S256", store.Client{})
		if lp := localPath(candidate); lp != "/" {
			u, err := url.Parse(lp)
			if lp != candidate || err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(lp, "//") {
				t.Fatalf("localPath(%q) = %q, not a local path", candidate, lp)
			}
		}

		params := url.Values{"code": {"aries_ac_x"}, "state": {state}, "iss": {"http://127.0.0.1:8080"}}
		loc, err := redirectURL(candidate, params)
		if err != nil {
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("redirectURL(%q) = %q, which does not parse: %v", candidate, loc, err)
		}
		q := u.Query()
		for k, v := range params {
			if len(q[k]) != 1 || q[k][0] != v[0] {
				t.Fatalf("redirectURL(%q, state %q) = %q: %s = %q, want [%q]", candidate, state, loc, k, q[k], v[0])
			}
		}
		if strings.Contains(loc, "#") {
			t.Fatalf("redirectURL(%q) = %q carries a fragment", candidate, loc)
		}
	})
}
