package registry

import (
	"strings"
	"testing"
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
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb/", false},
		{"https://APP.example/cb", false},
		{"https://app.example/cb?x=1", false},
		{"https://app.example:443/cb", false},
		{"http://127.0.0.1:8976/callback", true},
		{"http://127.0.0.1:51234/callback", true}, // RFC 8252 section 7.3
		{"http://127.0.0.1/callback", true},
		{"http://127.0.0.1:51234/callback/", false},
		{"http://127.0.0.1:51234/other", false},
		{"http://localhost:8976/callback", false},
		{"http://127.0.0.1.evil.example:8976/callback", false},
		{"http://127.0.0.1:8976@evil.example/callback", false},
		{"https://127.0.0.1:8976/callback", false},
		{"http://[::1]:4000/cb", true},
		{"com.example.app:/oauth", true},
		{"com.example.app:/oauth/", false},
	}
	for _, tt := range tests {
		if got := MatchRedirectURI(registered, tt.uri); got != tt.want {
			t.Errorf("MatchRedirectURI(%q) = %t, want %t", tt.uri, got, tt.want)
		}
	}
}
