package idtoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/josetest"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// at is the fixed time of the golden ID token.
var at = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

type fixture struct {
	*testenv.Env
	issuer *Issuer
	client store.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := testenv.New(t, testenv.At(at), testenv.NoUser())
	e.NewUser(store.User{ID: "usr_ada", Email: "ada@example.com", EmailVerified: true}, "")
	e.NewUser(store.User{ID: "usr_bob", Email: "bob@example.com"}, "")
	if err := e.Store.SaveProfile(context.Background(), ledger.Profile{UserID: "usr_ada", DisplayName: "Ada Lovelace", UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	c, _ := e.NewClient(store.Client{ID: "aries_ci_rp", Scopes: testenv.Scopes(t, "openid profile email")})
	return &fixture{
		Env:    e,
		client: c,
		issuer: &Issuer{Keys: e.Keyring(), Issuer: testenv.Issuer, Now: e.Clock.Now, Users: e.Store, Profiles: e.Store},
	}
}

// claims verifies tok with the keyring's published keys and returns its
// header and claims as JSON objects.
func (f *fixture) claims(t *testing.T, tok string) (jose.Header, map[string]any) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	pub, ok := f.Keyring().PublicKey(h.KeyID)
	if !ok {
		t.Fatalf("kid %q is not published", h.KeyID)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return h, m
}

// TestIDTokenGolden: the claims of an ID token of the code exchange with
// every scope, as testdata/claims.json records them.
func TestIDTokenGolden(t *testing.T) {
	f := newFixture(t)
	tok, _, err := f.issuer.Issue(context.Background(), Request{
		Client: f.client, UserID: "usr_ada", Scopes: []string{"openid", "profile", "email"},
		Nonce: "n-0S6_WzA2Mj", SessionID: "sid-1", AuthTime: at.Add(-2 * time.Minute), AMR: []string{"pwd", "otp"},
		AccessToken: "an.access.token",
	})
	if err != nil {
		t.Fatal(err)
	}
	h, claims := f.claims(t, tok)
	if h.Algorithm != "RS256" || h.ExtraHeaders[jose.HeaderType] != "JWT" || h.KeyID != f.Keyring().ActiveKeyIDOf(keys.RS256) {
		t.Errorf("header %+v: want alg RS256 (the default), typ JWT and the active RS256 kid", h)
	}
	got, err := json.MarshalIndent(claims, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "claims.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("ID token claims differ from %s (-want +got); run go test -update if intended:\n%s", golden, d)
	}
}

// TestClaimsPerScope: email and email_verified only with email, name only
// with profile (and a name set), and the client as aud and azp.
func TestClaimsPerScope(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		user   string
		scopes string
		want   []string // claims beyond iss sub aud exp iat azp
	}{
		{"openid", "usr_ada", "openid", nil},
		{"email", "usr_ada", "openid email", []string{"email", "email_verified"}},
		{"profile", "usr_ada", "openid profile", []string{"name"}},
		{"profile without a name", "usr_bob", "openid profile", nil},
		{"every scope", "usr_ada", "openid profile email read", []string{"email", "email_verified", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, c, err := f.issuer.Issue(context.Background(), Request{Client: f.client, UserID: tt.user, Scopes: strings.Fields(tt.scopes)})
			if err != nil {
				t.Fatal(err)
			}
			_, claims := f.claims(t, tok)
			var extra []string
			for _, k := range []string{"email", "email_verified", "name", "nonce", "sid", "at_hash", "auth_time"} {
				if _, ok := claims[k]; ok {
					extra = append(extra, k)
				}
			}
			if d := cmp.Diff(tt.want, extra); d != "" {
				t.Errorf("claims beyond the required ones (-want +got):\n%s", d)
			}
			if claims["aud"] != f.client.ID || claims["azp"] != f.client.ID || claims["sub"] != tt.user {
				t.Errorf("aud %v, azp %v, sub %v; want the client twice and the user", claims["aud"], claims["azp"], claims["sub"])
			}
			if c.Expiry.Sub(c.IssuedAt) != DefaultTTL {
				t.Errorf("lifetime %v, want %v", c.Expiry.Sub(c.IssuedAt), DefaultTTL)
			}
		})
	}
	// email_verified says what the user row says.
	_, bob, err := f.issuer.Issue(context.Background(), Request{Client: f.client, UserID: "usr_bob", Scopes: []string{"openid", "email"}})
	if err != nil || bob.Email != "bob@example.com" || bob.EmailVerified {
		t.Errorf("bob: got %+v, %v; want his email, not verified", bob, err)
	}
}

func TestAlgorithmPerClient(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ registered, want string }{{"", "RS256"}, {"RS256", "RS256"}, {"ES256", "ES256"}} {
		c := f.client
		c.IDTokenSignedResponseAlg = tt.registered
		tok, _, err := f.issuer.Issue(context.Background(), Request{Client: c, UserID: "usr_ada", Scopes: []string{"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := f.claims(t, tok); h.Algorithm != tt.want {
			t.Errorf("registered %q: signed %s, want %s", tt.registered, h.Algorithm, tt.want)
		}
	}
	c := f.client
	c.IDTokenSignedResponseAlg = "HS256"
	if _, _, err := f.issuer.Issue(context.Background(), Request{Client: c, UserID: "usr_ada", Scopes: []string{"openid"}}); err == nil {
		t.Error("HS256: got an ID token, want an error")
	}
	if _, _, err := f.issuer.Issue(context.Background(), Request{Client: f.client, UserID: "usr_gone", Scopes: []string{"openid"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted user: got %v, want ErrNotFound", err)
	}
}

// TestVerifyHint: the server's own ID tokens pass, expired ones included;
// anything signed elsewhere, or an access token, does not.
func TestVerifyHint(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good, _, err := f.issuer.Issue(ctx, Request{Client: f.client, UserID: "usr_ada", Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	es := f.client
	es.IDTokenSignedResponseAlg = "ES256"
	goodES, _, err := f.issuer.Issue(ctx, Request{Client: es, UserID: "usr_ada", Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	accessToken, err := f.Keyring().Sign([]byte(`{"iss":"` + testenv.Issuer + `","sub":"usr_ada","aud":"aries_ci_rp"}`))
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer := &Issuer{Keys: f.Keyring(), Issuer: "https://elsewhere.example", Now: f.Clock.Now, Users: f.Store}
	foreignIss, _, err := otherIssuer.Issue(ctx, Request{Client: f.client, UserID: "usr_ada", Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"RS256 ID token", good, true},
		{"ES256 ID token", goodES, true},
		{"signed by another key", signedElsewhere(t, f.Keyring().ActiveKeyIDOf(keys.Algorithm)), false},
		{"an access token", accessToken, false},
		{"another issuer", foreignIss, false},
		{"tampered", good[:len(good)-4] + "AAAA", false},
		{"not a JWT", "hello", false},
		{"too large", strings.Repeat("a", 9000), false},
	}
	for _, tt := range tests {
		c, err := f.issuer.VerifyHint(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want success %t", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidHint) {
			t.Errorf("%s: error %v does not match ErrInvalidHint", tt.name, err)
		}
		if tt.ok && (c.Subject != "usr_ada" || !IssuedTo(c, f.client.ID)) {
			t.Errorf("%s: got claims %+v", tt.name, c)
		}
	}

	// Expired hints are accepted: a relying party sends back the ID
	// token of a sign-in when it ends.
	f.Clock.Add(2 * DefaultTTL)
	if _, err := f.issuer.VerifyHint(good); err != nil {
		t.Errorf("expired hint: %v", err)
	}
}

// signedElsewhere is an ID token with every right claim, signed by a key
// Aries does not have, under the kid of one it does.
func signedElsewhere(t *testing.T, kid string) string {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload, _ := json.Marshal(protocol.IDTokenClaims{Issuer: testenv.Issuer, Subject: "usr_ada", Audience: []string{"aries_ci_rp"},
		IssuedAt: at, Expiry: at.Add(time.Hour)})
	return josetest.SignJWS(t, jose.ES256, priv, kid, "JWT", payload)
}
