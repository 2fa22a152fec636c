package accesstoken

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/josetest"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const (
	issuer   = "https://aries.example"
	audience = "https://api.aries.example"
)

type env struct {
	*testenv.Env
	t   testing.TB
	st  store.Store
	kek []byte
	kr  *keys.Keyring
	m   *Minter
}

// newEnv returns a Minter over a fresh keyring whose clock is e.Clock,
// stopped at t0.
func newEnv(t testing.TB, publishFor time.Duration) *env {
	t.Helper()
	te := testenv.New(t, testenv.NoUser(), testenv.At(t0), testenv.PublishFor(publishFor))
	e := &env{Env: te, t: t, st: te.Store, kek: te.Master.Keys().KeyEncryption, kr: te.Keyring()}
	e.m = &Minter{Keys: e.kr, Issuer: issuer, Audience: audience, TTL: 15 * time.Minute, Now: te.Clock.Now}
	return e
}

func userClaims() protocol.Claims {
	return protocol.Claims{
		Subject:  "usr_1",
		ClientID: "aries_ci_1",
		Scopes:   []string{"account:information", "order:execution"},
		AuthTime: t0.Add(-time.Minute),
		AMR:      []string{"pwd", "otp"},
		GrantID:  "grt_1",
	}
}

// verifier is the one validator, sdk/bearer, reading this keyring's JWKS
// in-process as the server does, at the env's clock.
func (e *env) verifier(t testing.TB) *bearer.Verifier {
	t.Helper()
	v, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(e.kr.JWKS()) },
		Issuer: issuer, Audience: audience,
		Now: e.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// parse checks tok with a fresh verifier, so that it sees the keys the
// keyring publishes now.
func (e *env) parse(tok string) (protocol.Claims, error) {
	c, err := e.verifier(e.t).Verify(context.Background(), tok)
	if err != nil {
		return protocol.Claims{}, err
	}
	return *c, nil
}

// errExpired stands for the refusal of a genuine token whose lifetime is
// over, which the validator reports after checking the signature.
var errExpired = errors.New("token expired")

// verdict sorts a parse error into nil, errExpired or
// bearer.ErrInvalidToken, the outcomes the tests tell apart.
func verdict(err error) error {
	var bad *bearer.InvalidTokenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &bad) && bad.Reason == "token expired":
		return errExpired
	case errors.Is(err, bearer.ErrInvalidToken):
		return bearer.ErrInvalidToken
	}
	return err
}

func TestMintParseRoundTrip(t *testing.T) {
	e := newEnv(t, time.Hour)
	tok, minted, err := e.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	want := userClaims()
	want.Issuer, want.Audience = issuer, []string{audience}
	want.IssuedAt, want.Expiry = t0, t0.Add(15*time.Minute)
	want.JTI = minted.JTI
	if diff := cmp.Diff(want, minted); diff != "" {
		t.Errorf("minted claims (-want +got):\n%s", diff)
	}
	if n := len(minted.JTI); n != 22 {
		t.Errorf("got jti of %d characters, want 22 (128 bits)", n)
	}
	got, err := e.parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(minted, got); diff != "" {
		t.Errorf("parsed claims (-minted +parsed):\n%s", diff)
	}

	hdr := decodeSegment(t, tok, 0)
	if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES256" || hdr["kid"] != e.kr.ActiveKeyID() {
		t.Errorf("got header %v, want typ at+jwt, alg ES256, kid %s", hdr, e.kr.ActiveKeyID())
	}

	_, again, _ := e.m.Mint(userClaims())
	if again.JTI == minted.JTI {
		t.Errorf("two tokens share jti %q", again.JTI)
	}
}

// TestMintedTokensVerify mints enough tokens that some ES256 signature has
// a short r or s (about 1 in 128), and checks each with sdk/bearer and with
// go-jose against the published JWK. The header is the one go-jose writes.
func TestMintedTokensVerify(t *testing.T) {
	e := newEnv(t, time.Hour)
	v := e.verifier(t)
	kid, s := e.kr.Signer()
	jwk, ok := e.kr.PublicJWK(kid)
	if !ok {
		t.Fatalf("key %s is not published", kid)
	}
	for i := range 500 {
		tok, minted, err := e.m.Mint(userClaims())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			payload, _ := json.Marshal(minted)
			old := signWith(t, s, kid, "at+jwt", payload)
			if got, want := strings.Split(tok, ".")[:2], strings.Split(old, ".")[:2]; !slices.Equal(got, want) {
				t.Errorf("got header and payload %q, go-jose writes %q", got, want)
			}
			if diff := cmp.Diff(decodeSegment(t, old, 0), decodeSegment(t, tok, 0)); diff != "" {
				t.Errorf("header members (-go-jose +got):\n%s", diff)
			}
		}
		got, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("token %d %s: bearer: %v", i, tok, err)
		}
		if diff := cmp.Diff(minted, *got); diff != "" {
			t.Fatalf("token %d: claims (-minted +verified):\n%s", i, diff)
		}
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("token %d %s: go-jose: %v", i, tok, err)
		}
		if _, err := jws.Verify(jwk); err != nil {
			t.Fatalf("token %d %s: go-jose: %v", i, tok, err)
		}
	}
}

// TestClaimsPayloadIsJSONMarshal: Mint encodes claims with
// Claims.MarshalJSON, which must give exactly what json.Marshal gives,
// whatever the claims hold.
func TestClaimsPayloadIsJSONMarshal(t *testing.T) {
	tests := []protocol.Claims{
		{},
		userClaims(),
		{Subject: "aries_ci_1", ClientID: "aries_ci_1", Scopes: []string{"market:information"}, Audience: []string{audience}, IssuedAt: t0, Expiry: t0.Add(time.Hour), JTI: "j"},
		{Issuer: issuer, Audience: []string{"a", "b"}, NotBefore: t0, Confirmation: protocol.Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
		{Audience: []string{}, Scopes: []string{}, AMR: []string{}},
		{Subject: "<script>&amp;</script>", ClientID: "\u2028\u2029 \"quoted\" \\ \t\n", GrantID: "\xff\xfe invalid UTF-8", AMR: []string{"é", "日本"}},
		{Issuer: "https://aries.example/?a=1&b=<2>", Audience: []string{"<aud>"}, Scopes: []string{"a&b", "c>d"}, AuthTime: time.Unix(-1, 0), Expiry: time.Unix(1<<40, 0)},
	}
	for i, c := range tests {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("claims %d: MarshalJSON gives %s, json.Marshal %s", i, got, want)
		}
	}

	e := newEnv(t, time.Hour)
	tok, minted, err := e.m.Mint(tests[5])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(minted)
	if got := strings.Split(tok, ".")[1]; got != base64.RawURLEncoding.EncodeToString(want) {
		t.Errorf("got payload %s, want json.Marshal of the claims %s", got, want)
	}
}

func TestClientCredentialsClaimsOmitUserFields(t *testing.T) {
	e := newEnv(t, time.Hour)
	tok, _, err := e.m.Mint(protocol.Claims{Subject: "aries_ci_1", ClientID: "aries_ci_1", Scopes: []string{"market:information"}})
	if err != nil {
		t.Fatal(err)
	}
	body := decodeSegment(t, tok, 1)
	for _, k := range []string{"auth_time", "amr", "grant_id"} {
		if _, ok := body[k]; ok {
			t.Errorf("claims have %q, want it omitted: %v", k, body)
		}
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := body[k]; !ok {
			t.Errorf("claims lack %q: %v", k, body)
		}
	}
}

func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signWith signs payload with s as an ES256 JWS carrying kid and typ.
func signWith(t *testing.T, s crypto.Signer, kid, typ string, payload []byte) string {
	return josetest.SignJWS(t, jose.ES256, s, kid, typ, payload)
}

func TestTypHeader(t *testing.T) {
	e := newEnv(t, time.Hour)
	_, c, err := e.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	kid, s := e.kr.Signer()
	tests := []struct {
		typ  string
		want error
	}{
		{"at+jwt", nil},
		{"AT+JWT", nil},
		{"application/at+jwt", nil},
		{"Application/AT+JWT", nil},
		{"JWT", bearer.ErrInvalidToken},
		{"jwt", bearer.ErrInvalidToken},
		{"", bearer.ErrInvalidToken},
		{"at+jwt2", bearer.ErrInvalidToken},
	}
	for _, tt := range tests {
		_, err := e.parse(signWith(t, s, kid, tt.typ, payload))
		if verdict(err) != tt.want {
			t.Errorf("typ %q: got %v, want %v", tt.typ, err, tt.want)
		}
	}
}

func TestParseRefusesForgeries(t *testing.T) {
	e := newEnv(t, time.Hour)
	tok, c, err := e.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	kid := e.kr.ActiveKeyID()

	// Another server's keyring with the same issuer and audience.
	other := newEnv(t, time.Hour)
	otherTok, _, err := other.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	_, otherSigner := other.kr.Signer()
	payload, _ := json.Marshal(c)

	widened := c
	widened.Scopes = []string{"funds:withdrawal"}
	widenedJSON, _ := json.Marshal(widened)

	pub, _ := e.kr.PublicKey(kid)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubDER},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	hsJWS, _ := hs.Sign(payload)
	hsTok, _ := hsJWS.CompactSerialize()

	wrongIss := &Minter{Keys: e.kr, Issuer: "https://evil.example", Audience: audience, Now: e.m.Now}
	wrongIssTok, _, _ := wrongIss.Mint(userClaims())
	wrongAud := &Minter{Keys: e.kr, Issuer: issuer, Audience: "https://other-api.example", Now: e.m.Now}
	wrongAudTok, _, _ := wrongAud.Mint(userClaims())

	noJTI := c
	noJTI.JTI = ""
	noJTIJSON, _ := json.Marshal(noJTI)

	tests := []struct {
		name, token string
	}{
		{"tampered payload", parts[0] + "." + b64(string(widenedJSON)) + "." + parts[2]},
		{"signature removed", parts[0] + "." + parts[1] + "."},
		{"unknown kid", otherTok},
		{"our kid, another key", signWith(t, otherSigner, kid, "at+jwt", payload)},
		{"alg none", b64(`{"alg":"none","typ":"at+jwt","kid":"`+kid+`"}`) + "." + parts[1] + "."},
		{"HS256 keyed with our public key", hsTok},
		{"wrong issuer", wrongIssTok},
		{"wrong audience", wrongAudTok},
		{"no jti", signWith(t, func() crypto.Signer { _, s := e.kr.Signer(); return s }(), kid, "at+jwt", noJTIJSON)},
		{"not a JWT", "aries_rt_abcdef"},
		{"empty", ""},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"too long", tok + strings.Repeat("A", 9000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.parse(tt.token)
			if verdict(err) != bearer.ErrInvalidToken {
				t.Errorf("got claims %+v, error %v; want %v", got, err, bearer.ErrInvalidToken)
			}
		})
	}
}

func TestParseExpiry(t *testing.T) {
	e := newEnv(t, time.Hour)
	tok, _, err := e.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	exp := t0.Add(15 * time.Minute)
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"when issued", t0, nil},
		{"clock behind by the leeway", t0.Add(-bearer.DefaultLeeway), nil},
		{"issued in the future", t0.Add(-bearer.DefaultLeeway - time.Second), bearer.ErrInvalidToken},
		{"one second before exp", exp.Add(-time.Second), nil},
		{"within the leeway after exp", exp.Add(bearer.DefaultLeeway - time.Second), nil},
		{"leeway over", exp.Add(bearer.DefaultLeeway), errExpired},
		{"a day later", exp.Add(24 * time.Hour), errExpired},
	}
	for _, tt := range tests {
		e.Clock.Set(tt.at)
		if _, err := e.parse(tok); verdict(err) != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestOldKeyVerifiesWhilePublished(t *testing.T) {
	const publishFor = 20 * time.Minute
	e := newEnv(t, publishFor)
	// A TTL longer than publishFor, so that the old key leaving the JWKS,
	// not expiry, is what refuses the token at the end.
	e.m.TTL = 2 * time.Hour
	oldTok, _, err := e.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	oldKID := e.kr.ActiveKeyID()

	e.Clock.Set(t0.Add(time.Minute))
	rotatedAt := e.Now()
	if _, err := keys.Rotate(context.Background(), e.st, e.kek, rotatedAt); err != nil {
		t.Fatal(err)
	}
	if err := e.kr.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	newTok, _, err := e.m.Mint(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	if kid := decodeSegment(t, newTok, 0)["kid"]; kid == oldKID {
		t.Fatalf("after rotation the token is still signed with %s", oldKID)
	}

	for _, tok := range []string{oldTok, newTok} {
		if _, err := e.parse(tok); err != nil {
			t.Errorf("right after rotation: got %v, want nil", err)
		}
	}
	e.Clock.Set(rotatedAt.Add(publishFor - time.Second))
	if _, err := e.parse(oldTok); err != nil {
		t.Errorf("just before publishFor: got %v, want nil", err)
	}
	e.Clock.Set(rotatedAt.Add(publishFor))
	if _, err := e.parse(oldTok); verdict(err) != bearer.ErrInvalidToken {
		t.Errorf("once publishFor has passed: got %v, want %v", err, bearer.ErrInvalidToken)
	}
	if _, err := e.parse(newTok); err != nil {
		t.Errorf("token of the new key: got %v, want nil", err)
	}
}

func BenchmarkMint(b *testing.B) {
	e := newEnv(b, time.Hour)
	c := userClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.m.Mint(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeClaims is the claims-encoding part of Mint.
func BenchmarkEncodeClaims(b *testing.B) {
	e := newEnv(b, time.Hour)
	_, c, err := e.m.Mint(userClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	e := newEnv(b, time.Hour)
	tok, _, err := e.m.Mint(userClaims())
	if err != nil {
		b.Fatal(err)
	}
	v := e.verifier(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
