package registry

import (
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/store"
)

func TestValidateRedirectURI(t *testing.T) {
	ok := []string{
		"https://app.example/callback",
		"https://app.example/callback?source=aries",
		"https://app.example:8443/cb/",
		"http://127.0.0.1:53124/callback",
		"http://[::1]:8080/cb",
		"http://localhost/cb",
		"com.example.app:/oauth2redirect",
	}
	for _, u := range ok {
		if err := ValidateRedirectURI(u); err != nil {
			t.Errorf("ValidateRedirectURI(%q): %v, want it accepted", u, err)
		}
	}
	bad := map[string]string{
		"http://app.example/cb":          "127.0.0.1",
		"http://127.0.0.2.example/cb":    "127.0.0.1",
		"https://app.example/cb#section": "fragment",
		"https://app.example/cb#":        "fragment",
		"/relative/path":                 "absolute",
		"myapp:/cb":                      "reversed domain",
		"javascript:alert(1)":            "reversed domain",
		"https:///nohost":                "host",
		"https://app.example/a b":        "spaces",
		"http://127.0.0.1:0/cb":          "1-65535",
		"http://127.0.0.1:99999/cb":      "1-65535",
		"https://app.example:65536/cb":   "1-65535",
	}
	for u, want := range bad {
		err := ValidateRedirectURI(u)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateRedirectURI(%q) = %v, want an error mentioning %q", u, err, want)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	scopes, err := Spec{Name: "App", RedirectURIs: []string{"https://a.example/cb"}, Scopes: "trade read"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if len(scopes) != 10 || scopes[0] != "user:information" {
		t.Errorf("scopes = %v, want read and trade expanded in table order", scopes)
	}
	_, err = Spec{Name: " ", Scopes: "Read"}.Validate()
	for _, want := range []string{"name", "redirect URI", "unknown scope"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate of an empty spec = %v, want it to mention %q", err, want)
		}
	}
}

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{"https://app.example/cb", "http://127.0.0.1:8976/callback", "http://[::1]/cb", "com.example.app:/oauth"}
	public := store.Client{Type: store.Public, RedirectURIs: registered}
	confidential := store.Client{Type: store.Confidential, RedirectURIs: registered}
	tests := []struct {
		uri            string
		public, confid bool // the match for a public and for a confidential client
	}{
		{"https://app.example/cb", true, true},
		{"https://app.example/cb/", false, false},
		{"https://APP.example/cb", false, false},
		{"https://app.example/cb?x=1", false, false},
		{"https://app.example:443/cb", false, false},
		{"http://127.0.0.1:8976/callback", true, true},
		// RFC 8252 section 7.3: any port, for native (public) apps only.
		{"http://127.0.0.1:51234/callback", true, false},
		{"http://127.0.0.1:1/callback", true, false},
		{"http://127.0.0.1:65535/callback", true, false},
		{"http://[::1]:4000/cb", true, false},
		{"http://[::1]/cb", true, true},
		// The port must be written out and be one a listener can have.
		{"http://127.0.0.1/callback", false, false},
		{"http://127.0.0.1:/callback", false, false},
		{"http://127.0.0.1:0/callback", false, false},
		{"http://127.0.0.1:00080/callback", false, false},
		{"http://127.0.0.1:65536/callback", false, false},
		{"http://127.0.0.1:99999/callback", false, false},
		{"http://127.0.0.1:123456/callback", false, false},
		{"http://127.0.0.1:51234/callback/", false, false},
		{"http://127.0.0.1:51234/other", false, false},
		{"http://localhost:8976/callback", false, false},
		{"http://127.0.0.1.evil.example:8976/callback", false, false},
		{"http://127.0.0.1:8976@evil.example/callback", false, false},
		{"https://127.0.0.1:8976/callback", false, false},
		{"com.example.app:/oauth", true, true},
		{"com.example.app:/oauth/", false, false},
	}
	for _, tt := range tests {
		if got := MatchRedirectURI(public, tt.uri); got != tt.public {
			t.Errorf("MatchRedirectURI(public, %q): got %t, want %t", tt.uri, got, tt.public)
		}
		if got := MatchRedirectURI(confidential, tt.uri); got != tt.confid {
			t.Errorf("MatchRedirectURI(confidential, %q): got %t, want %t", tt.uri, got, tt.confid)
		}
	}
}
