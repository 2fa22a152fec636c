package discovery

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const issuer = "https://auth.aries.example"

type env struct {
	*testenv.Env
	st  store.Store
	kek []byte
	kr  *keys.Keyring
	srv *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := testenv.New(t, testenv.NoUser(), testenv.At(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)), testenv.PublishFor(20*time.Minute))
	e := &env{Env: te, st: te.Store, kek: te.Master.Keys().KeyEncryption, kr: te.Keyring()}
	mux := http.NewServeMux()
	(&Handler{Issuer: issuer, Keys: e.kr}).Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestMetadataGolden(t *testing.T) {
	e := newEnv(t)
	res, body := e.get(t, MetadataPath)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	golden := filepath.Join("testdata", "metadata.json")
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
		t.Errorf("metadata differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
}

// The golden file is checked by eye once; these checks keep the promises
// that matter to clients true whatever it says.
func TestMetadataPromises(t *testing.T) {
	for _, iss := range []string{issuer, issuer + "/"} {
		m := (&Handler{Issuer: iss}).Metadata()
		if m.Issuer != iss {
			t.Errorf("got issuer %q, want %q exactly (RFC 8414 section 3.3)", m.Issuer, iss)
		}
		for _, u := range []string{m.AuthorizationEndpoint, m.TokenEndpoint, m.JWKSURI, m.RevocationEndpoint, m.IntrospectionEndpoint} {
			if !strings.HasPrefix(u, issuer+"/") || strings.Contains(strings.TrimPrefix(u, "https://"), "//") {
				t.Errorf("issuer %q: endpoint %q is not a clean URL under the issuer", iss, u)
			}
		}
		if !slices.Equal(m.CodeChallengeMethodsSupported, []string{"S256"}) {
			t.Errorf("got code_challenge_methods_supported %v, want only S256 (plain is refused)", m.CodeChallengeMethodsSupported)
		}
		// private_key_jwt everywhere a client authenticates, with the
		// algorithms FAPI 2.0 allows and never RS256.
		for name, methods := range map[string][]string{"token": m.TokenEndpointAuthMethodsSupported,
			"revocation": m.RevocationEndpointAuthMethodsSupported, "introspection": m.IntrospectionEndpointAuthMethodsSupported} {
			if !slices.Contains(methods, "private_key_jwt") {
				t.Errorf("%s_endpoint_auth_methods_supported %v lacks private_key_jwt", name, methods)
			}
		}
		for _, algs := range [][]string{m.TokenEndpointAuthSigningAlgValuesSupported,
			m.RevocationEndpointAuthSigningAlgValuesSupported, m.IntrospectionEndpointAuthSigningAlgValuesSupported} {
			if !slices.Equal(algs, []string{"ES256", "PS256", "EdDSA"}) {
				t.Errorf("got assertion algorithms %v, want ES256, PS256, EdDSA", algs)
			}
		}
		for _, s := range scope.All {
			if !slices.Contains(m.ScopesSupported, s.Name) {
				t.Errorf("scopes_supported lacks %q", s.Name)
			}
		}
		for b := range scope.Bundles {
			if !slices.Contains(m.ScopesSupported, b) {
				t.Errorf("scopes_supported lacks bundle %q", b)
			}
		}
	}
}

func TestJWKSFollowsRotation(t *testing.T) {
	e := newEnv(t)
	first := e.kr.ActiveKeyID()

	res, body := e.get(t, JWKSPath)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", res.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("got %s %q, want %q", k, got, want)
		}
	}
	if got := jwksKIDs(t, body); !slices.Equal(got, []string{first}) {
		t.Errorf("got kids %v, want %v", got, []string{first})
	}

	e.Clock.Add(time.Minute)
	rotatedAt := e.Now()
	next, err := keys.Rotate(context.Background(), e.st, e.kek, rotatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.kr.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body = e.get(t, JWKSPath)
	if got, want := jwksKIDs(t, body), []string{next.ID, first}; !slices.Equal(got, want) {
		t.Errorf("after rotation: got kids %v, want %v", got, want)
	}

	e.Clock.Set(rotatedAt.Add(20 * time.Minute))
	_, body = e.get(t, JWKSPath)
	if got, want := jwksKIDs(t, body), []string{next.ID}; !slices.Equal(got, want) {
		t.Errorf("after the old key's tokens expired: got kids %v, want %v", got, want)
	}
}

// jwksKIDs parses a JWKS body, checks every key is a public ES256 or RS256
// signing key, and returns the ES256 kids (the access-token keys this file
// follows) in order; openid_test.go follows the RS256 ones.
func jwksKIDs(t *testing.T, body []byte) []string {
	return jwksKIDsOf(t, body, "ES256")
}

func jwksKIDsOf(t *testing.T, body []byte, alg string) []string {
	t.Helper()
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS publishes a private key: %v", k)
			}
		}
		ec := k["kty"] == "EC" && k["crv"] == "P-256" && k["alg"] == "ES256"
		rsa := k["kty"] == "RSA" && k["alg"] == "RS256" && k["e"] == "AQAB"
		if !(ec || rsa) || k["use"] != "sig" {
			t.Errorf("got key %v, want an ES256 (EC P-256) or RS256 (RSA) key, use sig", k)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Algorithm == alg {
			kids = append(kids, k.KeyID)
		}
	}
	return kids
}

func TestOnlyGet(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{MetadataPath, JWKSPath, OpenIDConfigurationPath} {
		res, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: got status %d, want 405", path, res.StatusCode)
		}
	}
}
