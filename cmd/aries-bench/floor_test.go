package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestFloorTokensAreRealJWS checks that the floor does the real work: its
// tokens are ES256 JWS that an independent library verifies, and its own
// verification refuses a token whose payload was changed.
func TestFloorTokensAreRealJWS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &floor{key: key, issuer: "http://floor.invalid",
		header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"floor","typ":"at+jwt"}`))}
	now := time.Now()
	for range 50 { // signatures of every length of r and s
		tok, err := f.sign(floorClaims{Subject: "usr_1", Scope: "user:information"}, now)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("go-jose cannot parse a floor token: %v", err)
		}
		payload, err := jws.Verify(&key.PublicKey)
		if err != nil {
			t.Fatalf("go-jose: got %v, want the floor's signature to verify", err)
		}
		var c floorClaims
		if err := json.Unmarshal(payload, &c); err != nil || c.Subject != "usr_1" {
			t.Fatalf("payload %s: got subject %q, want usr_1", payload, c.Subject)
		}
		if got, ok := f.verify(tok, now); !ok || got.Subject != "usr_1" {
			t.Fatalf("floor verify: got %v %v, want its own token accepted", got, ok)
		}
		parts := strings.Split(tok, ".")
		forged, _ := json.Marshal(floorClaims{Issuer: c.Issuer, Audience: c.Audience, Subject: "usr_2",
			ExpiresAt: c.ExpiresAt, Scope: c.Scope})
		parts[1] = base64.RawURLEncoding.EncodeToString(forged)
		if _, ok := f.verify(strings.Join(parts, "."), now); ok {
			t.Fatal("floor verify accepted a token whose payload was changed")
		}
	}
}

// The floor's signing and verification, to hold against
// internal/accesstoken's BenchmarkMint and BenchmarkParse and
// sdk/bearer's BenchmarkVerify: the difference is what go-jose adds.

func newTestFloor(b *testing.B) *floor {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return &floor{key: key, issuer: "http://floor.invalid",
		header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"floor","typ":"at+jwt"}`))}
}

func BenchmarkFloorSign(b *testing.B) {
	f := newTestFloor(b)
	c := floorClaims{Subject: "usr_1", ClientID: "aries_ci_1", Scope: "account:information order:execution",
		AuthTime: time.Now().Unix(), AMR: []string{"pwd", "otp"}, GrantID: "grt_1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.sign(c, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloorVerify(b *testing.B) {
	f := newTestFloor(b)
	now := time.Now()
	tok, err := f.sign(floorClaims{Subject: "usr_1", ClientID: "aries_ci_1", Scope: "user:information"}, now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := f.verify(tok, now); !ok {
			b.Fatal("floor verify refused its own token")
		}
	}
}
