package discovery

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/keys"
)

func TestOpenIDConfigurationGolden(t *testing.T) {
	e := newEnv(t)
	res, body := e.get(t, OpenIDConfigurationPath)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", res.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("got %s %q, want %q", k, got, want)
		}
	}
	golden := filepath.Join("testdata", "openid-configuration.json")
	if *update {
		if err := os.WriteFile(golden, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(body)); diff != "" {
		t.Errorf("OpenID configuration differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
}

// The promises OpenID Connect Discovery 1.0 section 3 makes relying
// parties depend on, whatever the golden file says.
func TestOpenIDConfigurationPromises(t *testing.T) {
	for _, iss := range []string{issuer, issuer + "/"} {
		h := &Handler{Issuer: iss}
		c, m := h.OpenIDConfiguration(), h.Metadata()
		if c.Issuer != iss {
			t.Errorf("issuer %q, want %q exactly (Discovery 1.0 section 4.3)", c.Issuer, iss)
		}
		// Every RFC 8414 field is there with the same value.
		if d := cmp.Diff(m, c.Metadata); d != "" {
			t.Errorf("the RFC 8414 fields differ (-metadata +openid):\n%s", d)
		}
		for _, u := range []string{c.UserinfoEndpoint, c.EndSessionEndpoint} {
			if !strings.HasPrefix(u, issuer+"/") || strings.Contains(strings.TrimPrefix(u, "https://"), "//") {
				t.Errorf("issuer %q: endpoint %q is not a clean URL under the issuer", iss, u)
			}
		}
		if c.IDTokenSigningAlgValuesSupported[0] != "RS256" || !slices.Contains(c.IDTokenSigningAlgValuesSupported, "ES256") {
			t.Errorf("id_token_signing_alg_values_supported %v, want RS256 (Core 1.0 section 15.1) and ES256", c.IDTokenSigningAlgValuesSupported)
		}
		for _, s := range []string{"openid", "profile", "email"} {
			if !slices.Contains(c.ScopesSupported, s) {
				t.Errorf("scopes_supported lacks %s", s)
			}
		}
		if !slices.Equal(c.ResponseTypesSupported, []string{"code"}) || !slices.Equal(c.SubjectTypesSupported, []string{"public"}) {
			t.Errorf("response types %v, subject types %v; want code and public", c.ResponseTypesSupported, c.SubjectTypesSupported)
		}
		if c.RequestURIParameterSupported || c.RequestParameterSupported || c.ClaimsParameterSupported {
			t.Error("request, request_uri or claims parameters are advertised, and Aries takes none")
		}
	}
}

// TestJWKSPublishesTheIDTokenKey: the RS256 key of ID tokens is published
// beside the ES256 one, and a rotation keeps the old one published while
// ID tokens it signed can still be valid.
func TestJWKSPublishesTheIDTokenKey(t *testing.T) {
	e := newEnv(t)
	first := e.kr.ActiveKeyIDOf(keys.RS256)
	_, body := e.get(t, JWKSPath)
	if got := jwksKIDsOf(t, body, "RS256"); !slices.Equal(got, []string{first}) {
		t.Errorf("RS256 kids %v, want %v", got, []string{first})
	}

	e.Clock.Add(time.Minute)
	rotatedAt := e.Now()
	rotated, err := keys.RotateAll(context.Background(), e.st, e.kek, rotatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.kr.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body = e.get(t, JWKSPath)
	if got, want := jwksKIDsOf(t, body, "RS256"), []string{rotated[1].ID, first}; !slices.Equal(got, want) {
		t.Errorf("after rotation: RS256 kids %v, want %v", got, want)
	}
	e.Clock.Set(rotatedAt.Add(20 * time.Minute))
	_, body = e.get(t, JWKSPath)
	if got, want := jwksKIDsOf(t, body, "RS256"), []string{rotated[1].ID}; !slices.Equal(got, want) {
		t.Errorf("after the old key's tokens expired: RS256 kids %v, want %v", got, want)
	}
}
