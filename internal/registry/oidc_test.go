package registry

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/testenv"
)

func TestOIDCSettingsValidate(t *testing.T) {
	base := Spec{Name: "RP", RedirectURIs: []string{"https://rp.example/cb"}, Scopes: "openid email"}
	tests := []struct {
		name   string
		logout []string
		alg    string
		want   string // "" accepted, else part of the refusal
	}{
		{"none", nil, "", ""},
		{"https and a native app", []string{"https://rp.example/bye", "com.example.app:/bye"}, "ES256", ""},
		{"loopback http", []string{"http://127.0.0.1:3000/"}, "RS256", ""},
		{"plain http", []string{"http://rp.example/bye"}, "", "post-logout redirect URI"},
		{"fragment", []string{"https://rp.example/bye#x"}, "", "fragment"},
		{"relative", []string{"/bye"}, "", "absolute"},
		{"HS256", nil, "HS256", "RS256 or ES256"},
		{"none alg", nil, "none", "RS256 or ES256"},
		{"too many", slices.Repeat([]string{"https://rp.example/bye"}, MaxRedirectURIs+1), "", "at most 20 post-logout"},
	}
	for _, tt := range tests {
		s := base
		s.PostLogoutRedirectURIs, s.IDTokenAlg = tt.logout, tt.alg
		_, err := s.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want it accepted", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want a refusal mentioning %q", tt.name, err, tt.want)
		}
	}
}

// Create stores the settings, RS256 when none is asked for; Update
// replaces them; View prints them under the field names of OpenID Connect.
func TestOIDCSettingsStored(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	e := testenv.New(t, testenv.NoUser(), testenv.At(now))
	c, _, err := Create(ctx, e.Store, e.Hasher, Operator, Spec{Name: "RP", RedirectURIs: []string{"https://rp.example/cb"},
		Scopes: "openid", PostLogoutRedirectURIs: []string{"https://rp.example/bye"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.Store.Client(ctx, c.ID)
	if stored.IDTokenSignedResponseAlg != "RS256" || !slices.Equal(stored.PostLogoutRedirectURIs, []string{"https://rp.example/bye"}) {
		t.Errorf("created: alg %q, post-logout %v; want RS256 and the URI", stored.IDTokenSignedResponseAlg, stored.PostLogoutRedirectURIs)
	}
	_, err = Update(ctx, e.Store, Operator, stored, Spec{Name: "RP", RedirectURIs: stored.RedirectURIs, Scopes: "openid",
		PostLogoutRedirectURIs: []string{"https://rp.example/a", "https://rp.example/b"}, IDTokenAlg: "ES256"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = e.Store.Client(ctx, c.ID)
	v := View(stored, "")
	if v.IDTokenSignedResponseAlg != "ES256" || !slices.Equal(v.PostLogoutRedirectURIs, []string{"https://rp.example/a", "https://rp.example/b"}) {
		t.Errorf("updated view: %+v", v)
	}
	// A client stored without an algorithm (before OpenID Connect) reads
	// as the default.
	stored.IDTokenSignedResponseAlg, stored.PostLogoutRedirectURIs = "", nil
	if v := View(stored, ""); v.IDTokenSignedResponseAlg != "RS256" || v.PostLogoutRedirectURIs == nil {
		t.Errorf("view of an older client: alg %q, post-logout %v; want RS256 and []", v.IDTokenSignedResponseAlg, v.PostLogoutRedirectURIs)
	}
}
