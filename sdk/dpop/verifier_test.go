package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/sdk/protocol"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const (
	tokenURL = "https://auth.aries.example/v1/oauth2/token"
	apiURL   = "https://api.aries.example/v1/users/me"
	token    = "eyJ0eXAiOiJhdCtqd3QifQ.an.access-token"
)

// Keys are made once: RSA key generation is slow.
var (
	keysOnce sync.Once
	ecKey    *ecdsa.PrivateKey
	ec384Key *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
	rsaKey   *rsa.PrivateKey
	otherKey *ecdsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec384Key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		otherKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
}

// forge signs any header and claims with key, as alg says (or as the
// header's "alg" does), so a test can make every malformed proof a
// careless or hostile client could send.
func forge(t testing.TB, key crypto.Signer, alg string, header, claims map[string]any) string {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(t, key, alg, []byte(input)))
}

func sign(t testing.TB, key crypto.Signer, alg string, input []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(input)
	switch alg {
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	case "EdDSA", "Ed25519":
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	case "RS256":
		out, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return out
	case "PS256":
		out, err := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return []byte("not a signature")
}

// jwkOf is the public JWK of key as a JSON object.
func jwkOf(t testing.TB, key crypto.PublicKey) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func thumbprintOf(t testing.TB, key crypto.PublicKey) string {
	t.Helper()
	jkt, err := Thumbprint(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return jkt
}

// goodHeader and goodClaims are a valid ES256 proof for GET apiURL with
// token at t0; each case changes one thing.
func goodHeader(t testing.TB) map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwkOf(t, ecKey.Public())}
}

func goodClaims() map[string]any {
	return map[string]any{"jti": rand.Text(), "htm": "GET", "htu": apiURL, "iat": t0.Unix(), "ath": TokenHash(token)}
}

type checkCase struct {
	name   string
	header func(h map[string]any)         // changes the header
	claims func(c map[string]any)         // changes the claims
	raw    func(good string) string       // replaces the proof
	req    func(r *Request)               // changes the request
	key    func() (crypto.Signer, string) // signs with another key and alg
	nonces bool                           // the verifier asks for nonces
	want   string                         // the error code, "" for accepted
}

// TestVerifyChecks walks RFC 9449 section 4.3, one check per group of
// cases, each a proof that differs from a good one in one way.
func TestVerifyChecks(t *testing.T) {
	testKeys(t)
	nonceKey := make([]byte, 32)
	nonces, err := NewRotatingNonces(nonceKey, time.Minute, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	oldNonces, _ := NewRotatingNonces(nonceKey, time.Minute, func() time.Time { return t0.Add(-3 * time.Minute) })
	prevNonces, _ := NewRotatingNonces(nonceKey, time.Minute, func() time.Time { return t0.Add(-time.Minute) })
	strangerNonces, _ := NewRotatingNonces([]byte(strings.Repeat("k", 32)), time.Minute, func() time.Time { return t0 })
	privateJWK := func(h map[string]any) {
		b, _ := json.Marshal(jose.JSONWebKey{Key: ecKey})
		var m map[string]any
		json.Unmarshal(b, &m)
		h["jwk"] = m
	}
	bad := protocol.ErrInvalidDPoPProof
	tests := []checkCase{
		{name: "a good proof"},

		// 1. Exactly one DPoP header field.
		{name: "no DPoP header", req: func(r *Request) { r.Proofs = nil }, want: bad},
		{name: "two DPoP headers", req: func(r *Request) { r.Proofs = append(r.Proofs, r.Proofs[0]) }, want: bad},

		// 2. A well-formed JWS.
		{name: "empty", raw: func(string) string { return "" }, want: bad},
		{name: "two parts", raw: func(g string) string { return g[:strings.LastIndexByte(g, '.')] }, want: bad},
		{name: "four parts", raw: func(g string) string { return g + ".x" }, want: bad},
		{name: "header not base64url", raw: func(g string) string { return "*" + g }, want: bad},
		{name: "header not JSON", raw: func(g string) string {
			return base64.RawURLEncoding.EncodeToString([]byte("dpop")) + g[strings.IndexByte(g, '.'):]
		}, want: bad},
		{name: "header a JSON array", raw: func(g string) string {
			return base64.RawURLEncoding.EncodeToString([]byte("[]")) + g[strings.IndexByte(g, '.'):]
		}, want: bad},
		{name: "too large", raw: func(g string) string { return g + strings.Repeat("A", maxProofSize) }, want: bad},

		// 3. The required claims.
		{name: "no jti", claims: func(c map[string]any) { delete(c, "jti") }, want: bad},
		{name: "empty jti", claims: func(c map[string]any) { c["jti"] = "" }, want: bad},
		{name: "jti too long", claims: func(c map[string]any) { c["jti"] = strings.Repeat("j", maxJTISize+1) }, want: bad},
		{name: "no htm", claims: func(c map[string]any) { delete(c, "htm") }, want: bad},
		{name: "no htu", claims: func(c map[string]any) { delete(c, "htu") }, want: bad},
		{name: "no iat", claims: func(c map[string]any) { delete(c, "iat") }, want: bad},
		{name: "iat a string", claims: func(c map[string]any) { c["iat"] = "1764590400" }, want: bad},
		{name: "claims not an object", raw: func(string) string {
			return forgeRaw(t, ecKey, "ES256", goodHeader(t), []byte(`"jti"`))
		}, want: bad},

		// 4. typ.
		{name: "no typ", header: func(h map[string]any) { delete(h, "typ") }, want: bad},
		{name: "typ JWT", header: func(h map[string]any) { h["typ"] = "JWT" }, want: bad},
		{name: "typ at+jwt", header: func(h map[string]any) { h["typ"] = "at+jwt" }, want: bad},
		{name: "typ with media type prefix", header: func(h map[string]any) { h["typ"] = "application/dpop+jwt" }},
		{name: "typ in upper case", header: func(h map[string]any) { h["typ"] = "DPOP+JWT" }},

		// 5. alg: asymmetric, accepted.
		{name: "alg none", header: func(h map[string]any) { h["alg"] = "none" }, raw: nil, want: bad},
		{name: "alg HS256", header: func(h map[string]any) { h["alg"] = "HS256" }, want: bad},
		{name: "alg ES384 not on the list", key: func() (crypto.Signer, string) { return ec384Key, "ES384" }, want: bad},
		{name: "no alg", header: func(h map[string]any) { delete(h, "alg") }, want: bad},
		{name: "alg EdDSA", key: func() (crypto.Signer, string) { return edKey, "EdDSA" }},
		{name: "alg Ed25519 (RFC 9864)", key: func() (crypto.Signer, string) { return edKey, "Ed25519" }},
		{name: "alg Ed25519 over a P-256 key", header: func(h map[string]any) { h["alg"] = "Ed25519" }, want: bad},
		{name: "alg Ed25519, signature of other claims", key: func() (crypto.Signer, string) { return edKey, "Ed25519" },
			raw: func(g string) string {
				h := goodHeader(t)
				h["alg"], h["jwk"] = "Ed25519", jwkOf(t, edKey.Public())
				other := strings.Split(forge(t, edKey, "Ed25519", h, goodClaims()), ".")
				parts := strings.Split(g, ".")
				return parts[0] + "." + parts[1] + "." + other[2]
			}, want: bad},
		{name: "alg RS256", key: func() (crypto.Signer, string) { return rsaKey, "RS256" }},
		{name: "alg PS256", key: func() (crypto.Signer, string) { return rsaKey, "PS256" }},
		{name: "alg ES256 over an RSA key", key: func() (crypto.Signer, string) { return rsaKey, "RS256" },
			header: func(h map[string]any) { h["alg"] = "ES256" }, want: bad},

		// 6. The signature, by the jwk and only the jwk.
		{name: "signature by another key", raw: func(g string) string {
			h := goodHeader(t)
			return forge(t, otherKey, "ES256", h, goodClaims())
		}, want: bad},
		{name: "signature of other claims", raw: func(g string) string {
			parts := strings.Split(g, ".")
			other := strings.Split(forge(t, ecKey, "ES256", goodHeader(t), goodClaims()), ".")
			return parts[0] + "." + parts[1] + "." + other[2]
		}, want: bad},
		{name: "empty signature", raw: func(g string) string { return g[:strings.LastIndexByte(g, '.')+1] }, want: bad},
		{name: "no jwk", header: func(h map[string]any) { delete(h, "jwk") }, want: bad},
		{name: "jwk not an object", header: func(h map[string]any) { h["jwk"] = "key" }, want: bad},
		{name: "jwk of an unknown kty", header: func(h map[string]any) { h["jwk"] = map[string]any{"kty": "XYZ"} }, want: bad},
		{name: "kid beside jwk", header: func(h map[string]any) { h["kid"] = "k1" }, want: bad},
		{name: "jku", header: func(h map[string]any) { h["jku"] = "https://attacker.example/jwks" }, want: bad},
		{name: "x5u", header: func(h map[string]any) { h["x5u"] = "https://attacker.example/cert" }, want: bad},
		{name: "x5c", header: func(h map[string]any) { h["x5c"] = []string{"MIIB"} }, want: bad},
		{name: "crit", header: func(h map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 }, want: bad},
		{name: "jwk with an off-curve point", header: func(h map[string]any) {
			h["jwk"] = map[string]any{"kty": "EC", "crv": "P-256",
				"x": base64.RawURLEncoding.EncodeToString(big.NewInt(1).FillBytes(make([]byte, 32))),
				"y": base64.RawURLEncoding.EncodeToString(big.NewInt(1).FillBytes(make([]byte, 32)))}
		}, want: bad},

		// 7. No private key in the jwk.
		{name: "jwk with the private key", header: privateJWK, want: bad},
		{name: "jwk with a symmetric key", header: func(h map[string]any) {
			h["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0"}
		}, want: bad},

		// 8. htm.
		{name: "htm POST for a GET", claims: func(c map[string]any) { c["htm"] = "POST" }, want: bad},
		{name: "htm in lower case", claims: func(c map[string]any) { c["htm"] = "get" }, want: bad},

		// 9. htu, normalised, without query and fragment.
		{name: "htu of another path", claims: func(c map[string]any) { c["htu"] = "https://api.aries.example/v1/orders" }, want: bad},
		{name: "htu of another host", claims: func(c map[string]any) { c["htu"] = "https://api.evil.example/v1/users/me" }, want: bad},
		{name: "htu http for https", claims: func(c map[string]any) { c["htu"] = "http://api.aries.example/v1/users/me" }, want: bad},
		{name: "htu of another port", claims: func(c map[string]any) { c["htu"] = "https://api.aries.example:8443/v1/users/me" }, want: bad},
		{name: "htu relative", claims: func(c map[string]any) { c["htu"] = "/v1/users/me" }, want: bad},
		{name: "htu with a query", claims: func(c map[string]any) { c["htu"] = apiURL + "?q=1" }},
		{name: "htu with a fragment", claims: func(c map[string]any) { c["htu"] = apiURL + "#top" }},
		{name: "htu host and scheme in upper case", claims: func(c map[string]any) { c["htu"] = "HTTPS://API.Aries.Example/v1/users/me" }},
		{name: "htu with the default port", claims: func(c map[string]any) { c["htu"] = "https://api.aries.example:443/v1/users/me" }},
		{name: "htu with an encoded unreserved character", claims: func(c map[string]any) { c["htu"] = "https://api.aries.example/v1/%75sers/me" }},
		{name: "htu with dot segments", claims: func(c map[string]any) { c["htu"] = "https://api.aries.example/v1/x/../users/./me" }},
		{name: "request URL with a query", req: func(r *Request) { r.URL = apiURL + "?limit=5" }},

		// 10. The server's nonce.
		{name: "nonce required, none sent", nonces: true, want: protocol.ErrUseDPoPNonce},
		{name: "nonce current", nonces: true, claims: func(c map[string]any) { c["nonce"] = nonces.Nonce() }},
		{name: "nonce of the previous period", nonces: true, claims: func(c map[string]any) { c["nonce"] = prevNonces.Nonce() }},
		{name: "nonce three periods old", nonces: true, claims: func(c map[string]any) { c["nonce"] = oldNonces.Nonce() }, want: protocol.ErrUseDPoPNonce},
		{name: "nonce under another key", nonces: true, claims: func(c map[string]any) { c["nonce"] = strangerNonces.Nonce() }, want: protocol.ErrUseDPoPNonce},
		{name: "nonce made up", nonces: true, claims: func(c map[string]any) { c["nonce"] = "a-nonce" }, want: protocol.ErrUseDPoPNonce},
		{name: "nonce not asked for is ignored", claims: func(c map[string]any) { c["nonce"] = "anything" }},

		// 11. iat within the window, either way.
		{name: "iat 59 s ago", claims: func(c map[string]any) { c["iat"] = t0.Add(-59 * time.Second).Unix() }},
		{name: "iat 61 s ago", claims: func(c map[string]any) { c["iat"] = t0.Add(-61 * time.Second).Unix() }, want: bad},
		{name: "iat 59 s ahead", claims: func(c map[string]any) { c["iat"] = t0.Add(59 * time.Second).Unix() }},
		{name: "iat 61 s ahead", claims: func(c map[string]any) { c["iat"] = t0.Add(61 * time.Second).Unix() }, want: bad},
		{name: "iat a fraction", claims: func(c map[string]any) { c["iat"] = float64(t0.Unix()) + 0.5 }},
		{name: "iat huge", claims: func(c map[string]any) { c["iat"] = 1e300 }, want: bad},

		// 12. ath and the key the token is bound to.
		{name: "no ath with a token", claims: func(c map[string]any) { delete(c, "ath") }, want: bad},
		{name: "ath of another token", claims: func(c map[string]any) { c["ath"] = TokenHash("another") }, want: bad},
		{name: "ath not looked at without a token", claims: func(c map[string]any) { c["ath"] = "x" },
			req: func(r *Request) { r.AccessToken = "" }},
		{name: "bound to this key", req: func(r *Request) { r.BoundKey = thumbprintOf(t, ecKey.Public()) }},
		{name: "bound to another key", req: func(r *Request) { r.BoundKey = thumbprintOf(t, otherKey.Public()) }, want: protocol.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Now: func() time.Time { return t0 }}
			if tt.nonces {
				cfg.Nonces = nonces
			}
			v, err := NewVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			key, alg := crypto.Signer(ecKey), "ES256"
			h, c := goodHeader(t), goodClaims()
			if tt.key != nil {
				key, alg = tt.key()
				h["alg"], h["jwk"] = alg, jwkOf(t, key.Public())
			}
			if tt.header != nil {
				tt.header(h)
			}
			if tt.claims != nil {
				tt.claims(c)
			}
			proof := forge(t, key, alg, h, c)
			if tt.raw != nil {
				proof = tt.raw(proof)
			}
			req := Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token}
			if tt.req != nil {
				tt.req(&req)
			}
			got, err := v.Verify(context.Background(), req)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want the proof accepted", err)
				}
				if got.JKT != thumbprintOf(t, key.Public()) || got.Algorithm != alg {
					t.Errorf("proof: jkt %s alg %s, want the key's thumbprint and %s", got.JKT, got.Algorithm, alg)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify: %v, want an *Error %s", err, tt.want)
			}
			if e.Code != tt.want {
				t.Errorf("error %s (%s), want %s", e.Code, e.Description, tt.want)
			}
			if strings.Contains(e.Description, proof) && proof != "" {
				t.Errorf("the description quotes the proof")
			}
		})
	}
}

// forgeRaw is forge with a payload given as bytes.
func forgeRaw(t testing.TB, key crypto.Signer, alg string, header map[string]any, payload []byte) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(t, key, alg, []byte(input)))
}

// TestVerifyRefusesReplays: a proof is accepted once (RFC 9449 section
// 11.1); the same jti under another key is another proof; once the jti is
// forgotten the proof's iat is out of the window anyway.
func TestVerifyRefusesReplays(t *testing.T) {
	testKeys(t)
	now := t0
	v, err := NewVerifier(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c := goodClaims()
	proof := forge(t, ecKey, "ES256", goodHeader(t), c)
	req := Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token}
	if _, err := v.Verify(context.Background(), req); err != nil {
		t.Fatalf("first use: %v", err)
	}
	for _, later := range []time.Duration{0, time.Second, 59 * time.Second, 61 * time.Second} {
		now = t0.Add(later)
		_, err := v.Verify(context.Background(), req)
		if e, ok := errors.AsType[*Error](err); !ok || e.Code != protocol.ErrInvalidDPoPProof {
			t.Errorf("replay %v later: %v, want invalid_dpop_proof", later, err)
		}
		if later < time.Minute && !Replayed(err) {
			t.Errorf("replay %v later: Replayed false", later)
		}
		if later > time.Minute && Replayed(err) {
			t.Errorf("an expired proof %v later: Replayed true, want an iat refusal", later)
		}
	}
	now = t0
	h := goodHeader(t)
	h["jwk"] = jwkOf(t, otherKey.Public())
	other := forge(t, otherKey, "ES256", h, c) // the same jti
	if _, err := v.Verify(context.Background(), Request{Proofs: []string{other}, Method: "GET", URL: apiURL, AccessToken: token}); err != nil {
		t.Errorf("the same jti under another key: %v, want accepted", err)
	}
}

// TestVerifyFailsClosed: when the replay cache cannot answer, no proof is
// accepted, and the error is not an *Error (the caller answers 503).
func TestVerifyFailsClosed(t *testing.T) {
	testKeys(t)
	v, err := NewVerifier(Config{Now: func() time.Time { return t0 }, Replay: failingCache{}})
	if err != nil {
		t.Fatal(err)
	}
	proof := forge(t, ecKey, "ES256", goodHeader(t), goodClaims())
	_, err = v.Verify(context.Background(), Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token})
	if _, ok := errors.AsType[*Error](err); err == nil || ok {
		t.Errorf("Verify: %v, want a cache error", err)
	}
}

type failingCache struct{}

func (failingCache) Use(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("cache down")
}

// TestVerifyConfiguredAlgorithms: algorithms beyond the default list work
// once configured, and the default ones are then refused.
func TestVerifyConfiguredAlgorithms(t *testing.T) {
	testKeys(t)
	v, err := NewVerifier(Config{Algorithms: []string{"ES384", "RS384", "PS512"}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		key  crypto.Signer
		alg  string
		want bool
	}{{ec384Key, "ES384", true}, {rsaKey, "RS384", true}, {rsaKey, "PS512", true}, {ecKey, "ES256", false}} {
		h := goodHeader(t)
		h["alg"], h["jwk"] = k.alg, jwkOf(t, k.key.Public())
		input := forgeInput(t, h, goodClaims())
		proof := input + "." + base64.RawURLEncoding.EncodeToString(signWith(t, k.key, k.alg, []byte(input)))
		_, err := v.Verify(context.Background(), Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token})
		if (err == nil) != k.want {
			t.Errorf("%s: %v, want accepted %t", k.alg, err, k.want)
		}
	}
}

// forgeInput is the signing input of a JWS with header and claims.
func forgeInput(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
}

// signWith signs input with algorithms beyond those of sign.
func signWith(t testing.TB, key crypto.Signer, alg string, input []byte) []byte {
	t.Helper()
	switch alg {
	case "ES384":
		sum := sha512.Sum384(input)
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 96)
		r.FillBytes(out[:48])
		s.FillBytes(out[48:])
		return out
	case "RS384":
		sum := sha512.Sum384(input)
		out, _ := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA384, sum[:])
		return out
	case "PS512":
		sum := sha512.Sum512(input)
		out, _ := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA512, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		return out
	}
	return sign(t, key, alg, input)
}

func TestNewVerifierRefusesSymmetricAlgorithms(t *testing.T) {
	for _, algs := range [][]string{{"HS256"}, {"none"}, {"ES256", "HS512"}, {"A128KW"}} {
		if _, err := NewVerifier(Config{Algorithms: algs}); err == nil {
			t.Errorf("NewVerifier(%v): accepted", algs)
		}
	}
	v, err := NewVerifier(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(v.Algorithms(), " "); got != "ES256 EdDSA Ed25519 PS256 RS256" {
		t.Errorf("default algorithms %q", got)
	}
}

// TestSignerProofsVerify: every algorithm the Signer picks or is given
// makes proofs the Verifier accepts, bound to the key's thumbprint.
func TestSignerProofsVerify(t *testing.T) {
	testKeys(t)
	tests := []struct {
		name string
		key  crypto.Signer
		alg  string
		want string
	}{
		{"P-256", ecKey, "", "ES256"},
		{"Ed25519", edKey, "", "EdDSA"},
		{"RSA", rsaKey, "", "PS256"},
		{"RSA RS256", rsaKey, "RS256", "RS256"},
		{"opaque signer", opaque{ecKey}, "ES256", "ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.key, tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			s.Now = func() time.Time { return t0 }
			if s.Algorithm() != tt.want || s.JKT() != thumbprintOf(t, tt.key.Public()) {
				t.Errorf("signer: alg %s jkt %s, want %s and the key's thumbprint", s.Algorithm(), s.JKT(), tt.want)
			}
			v, _ := NewVerifier(Config{Now: func() time.Time { return t0 }})
			proof, err := s.Proof("POST", tokenURL+"?ignored=1#frag", "", "nonce-1")
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(context.Background(), Request{Proofs: []string{proof}, Method: "POST", URL: tokenURL, BoundKey: s.JKT()})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.JKT != s.JKT() || got.Algorithm != tt.want || !got.IssuedAt.Equal(t0) {
				t.Errorf("verified %+v", got)
			}
			// A proof for a protected resource carries ath.
			proof, _ = s.Proof("GET", apiURL, token, "")
			if _, err := v.Verify(context.Background(), Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token}); err != nil {
				t.Errorf("Verify with ath: %v", err)
			}
		})
	}
	if _, err := NewSigner(ec384Key, ""); err == nil {
		t.Error("NewSigner accepted a P-384 key without an algorithm")
	}
	if _, err := NewSigner(opaque{ecKey}, ""); err == nil {
		t.Error("NewSigner accepted an opaque key without an algorithm")
	}
}

// opaque hides the key's type, as a key in a hardware module would.
type opaque struct{ k *ecdsa.PrivateKey }

func (o opaque) Public() crypto.PublicKey { return o.k.Public() }
func (o opaque) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, d, opts)
}

func TestValidThumbprint(t *testing.T) {
	testKeys(t)
	tests := []struct {
		in   string
		want bool
	}{
		{thumbprintOf(t, ecKey.Public()), true},
		{"", false},
		{strings.Repeat("A", 42), false},
		{strings.Repeat("A", 44), false},
		{strings.Repeat("*", 43), false},
		{strings.Repeat("A", 42) + "B", false}, // the last character leaves bits set
	}
	for _, tt := range tests {
		if got := ValidThumbprint(tt.in); got != tt.want {
			t.Errorf("ValidThumbprint(%q) = %t, want %t", tt.in, got, tt.want)
		}
	}
}

// FuzzParse: no header value makes the proof parser panic, and what it
// accepts has every claim section 4.2 requires and a public key.
func FuzzParse(f *testing.F) {
	testKeys(f)
	for _, key := range []crypto.Signer{ecKey, edKey, rsaKey} {
		s, err := NewSigner(key, "")
		if err != nil {
			f.Fatal(err)
		}
		p, _ := s.Proof("POST", tokenURL, "", "")
		f.Add(p)
		p, _ = s.Proof("GET", apiURL, token, "a-nonce")
		f.Add(p)
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(forge(f, ecKey, "ES256", map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": map[string]any{"kty": "EC", "crv": "P-256", "x": "", "y": ""}}, goodClaims()))
	f.Add(forgeRaw(f, ecKey, "ES256", goodHeader(f), []byte(`{"jti":1}`)))
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, algEd25519, jose.PS256, jose.RS256}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parse(raw, algs)
		if err != nil {
			if p != nil || err.Code != protocol.ErrInvalidDPoPProof {
				t.Fatalf("parse failed with %v and a proof", err)
			}
			return
		}
		c := p.claims
		if c.JTI == nil || *c.JTI == "" || c.HTM == nil || c.HTU == nil || c.IAT == nil {
			t.Fatalf("accepted a proof without its required claims: %q", raw)
		}
		if !p.key.IsPublic() {
			t.Fatalf("accepted a proof with a private key: %q", raw)
		}
	})
}

// TestVerifyMaxFuture: with MaxFuture 10 s (the FAPI 2.0 rule), a proof
// from 10 s ahead passes, one from 11 s ahead fails, and the past keeps
// Window's 60 s.
func TestVerifyMaxFuture(t *testing.T) {
	testKeys(t)
	v, err := NewVerifier(Config{MaxFuture: 10 * time.Second, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		iat  time.Duration
		want bool
	}{{10 * time.Second, true}, {11 * time.Second, false}, {-59 * time.Second, true}, {-61 * time.Second, false}} {
		c := goodClaims()
		c["iat"] = t0.Add(tt.iat).Unix()
		input := forgeInput(t, goodHeader(t), c)
		proof := input + "." + base64.RawURLEncoding.EncodeToString(sign(t, ecKey, "ES256", []byte(input)))
		_, err := v.Verify(context.Background(), Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token})
		if (err == nil) != tt.want {
			t.Errorf("iat now%+v: %v, want accepted %t", tt.iat, err, tt.want)
		}
	}
	if _, err := NewVerifier(Config{MaxFuture: -time.Second}); err == nil {
		t.Error("NewVerifier with a negative MaxFuture: got success, want an error")
	}
}
