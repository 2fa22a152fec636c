package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/ariesexchange/aries/internal/josetest"
)

// goJoseSign signs payload with go-jose and the active key of alg: the
// reference the keyring's own encoding must match.
func goJoseSign(t *testing.T, kr *Keyring, alg, typ string, payload []byte) string {
	a := kr.snap.Load().active[alg]
	return josetest.SignJWS(t, jose.SignatureAlgorithm(alg), a.signer, a.id, typ, payload)
}

func decodeHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSignAsMatchesGoJose: each kind of token the keyring signs has the
// header go-jose gives it, the same payload segment, a signature of the
// algorithm's size, and verifies with go-jose against the published JWK.
func TestSignAsMatchesGoJose(t *testing.T) {
	kr, err := Open(context.Background(), newStore(t), newKEK(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"iss":"https://aries.example","sub":"usr_1","scope":"a b"}`)
	tests := []struct {
		alg, typ string
		sigLen   int
	}{
		{Algorithm, TokenType, 64},
		{Algorithm, IDTokenType, 64},
		{RS256, IDTokenType, 256},
	}
	for _, tt := range tests {
		got, err := kr.SignAs(tt.alg, tt.typ, payload)
		if err != nil {
			t.Fatalf("SignAs(%s, %s): %v", tt.alg, tt.typ, err)
		}
		want := goJoseSign(t, kr, tt.alg, tt.typ, payload)
		gotParts, wantParts := strings.Split(got, "."), strings.Split(want, ".")
		if len(gotParts) != 3 {
			t.Fatalf("SignAs(%s, %s): got %d segments, want 3", tt.alg, tt.typ, len(gotParts))
		}
		if diff := cmp.Diff(decodeHeader(t, want), decodeHeader(t, got)); diff != "" {
			t.Errorf("SignAs(%s, %s): header members (-go-jose +got):\n%s", tt.alg, tt.typ, diff)
		}
		if gotParts[0] != wantParts[0] {
			t.Errorf("SignAs(%s, %s): got header segment %s, go-jose writes %s", tt.alg, tt.typ, gotParts[0], wantParts[0])
		}
		if gotParts[1] != wantParts[1] {
			t.Errorf("SignAs(%s, %s): got payload segment %s, go-jose writes %s", tt.alg, tt.typ, gotParts[1], wantParts[1])
		}
		sig, err := base64.RawURLEncoding.DecodeString(gotParts[2])
		if err != nil || len(sig) != tt.sigLen {
			t.Errorf("SignAs(%s, %s): signature of %d bytes (%v), want %d", tt.alg, tt.typ, len(sig), err, tt.sigLen)
		}

		jwk, ok := kr.PublicJWK(kr.ActiveKeyIDOf(tt.alg))
		if !ok {
			t.Fatalf("no published %s key", tt.alg)
		}
		jws, err := jose.ParseSigned(got, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.alg)})
		if err != nil {
			t.Fatalf("SignAs(%s, %s): go-jose does not parse it: %v", tt.alg, tt.typ, err)
		}
		verified, err := jws.Verify(jwk)
		if err != nil {
			t.Errorf("SignAs(%s, %s): go-jose does not verify it: %v", tt.alg, tt.typ, err)
		}
		if !bytes.Equal(verified, payload) {
			t.Errorf("SignAs(%s, %s): got payload %s, want %s", tt.alg, tt.typ, verified, payload)
		}
	}
}

// TestSignManyVerify signs enough ES256 tokens that some r or s is short
// (about 1 in 128 signatures has a leading zero byte in one of them), and
// every one must verify with go-jose.
func TestSignManyVerify(t *testing.T) {
	kr, err := Open(context.Background(), newStore(t), newKEK(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := kr.PublicJWK(kr.ActiveKeyID())
	for i := range 1000 {
		payload := []byte(`{"n":` + strconv.Itoa(i) + `}`)
		tok, err := kr.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if _, err := jws.Verify(jwk); err != nil {
			t.Fatalf("token %d %s: %v", i, tok, err)
		}
	}
}

// derSignature writes SEQUENCE { r INTEGER, s INTEGER } with the given
// INTEGER contents, unchecked, so that malformed ones can be written too.
func derSignature(r, s []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(r) })
		b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(s) })
	})
	return b.BytesOrPanic()
}

func TestES256Signature(t *testing.T) {
	full := bytes.Repeat([]byte{0x7f}, 32)
	high := append([]byte{0}, bytes.Repeat([]byte{0xff}, 32)...) // 2^256-1, needs a sign byte
	short31 := bytes.Repeat([]byte{0x12}, 31)
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	tests := []struct {
		name string
		der  []byte
		want []byte // nil: an error
	}{
		{"32-byte r and s", derSignature(full, full), append(pad(full), pad(full)...)},
		{"r and s with the sign byte", derSignature(high, high), append(pad(high[1:]), pad(high[1:])...)},
		{"short r", derSignature(short31, high), append(pad(short31), pad(high[1:])...)},
		{"short s", derSignature(high, short31), append(pad(high[1:]), pad(short31)...)},
		{"one-byte r and s", derSignature([]byte{1}, []byte{2}), append(pad([]byte{1}), pad([]byte{2})...)},
		{"r of 33 bytes", derSignature(append([]byte{1}, full...), full), nil},
		{"negative r", derSignature([]byte{0x80}, full), nil},
		{"non-minimal r", derSignature([]byte{0, 1}, full), nil},
		{"empty r", derSignature(nil, full), nil},
		{"trailing data", append(derSignature(full, full), 0), nil},
		{"three integers", func() []byte {
			var b cryptobyte.Builder
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1BigInt(big.NewInt(1))
				b.AddASN1BigInt(big.NewInt(2))
				b.AddASN1BigInt(big.NewInt(3))
			})
			return b.BytesOrPanic()
		}(), nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		got, err := es256Signature(tt.der)
		switch {
		case tt.want == nil && err == nil:
			t.Errorf("%s: got %x, want an error", tt.name, got)
		case tt.want != nil && err != nil:
			t.Errorf("%s: got %v, want %x", tt.name, err, tt.want)
		case tt.want != nil && !bytes.Equal(got[:], tt.want):
			t.Errorf("%s: got %x, want %x", tt.name, got, tt.want)
		}
	}
}

// TestES256SignatureShortValues converts real P-256 signatures whose r or
// s has a leading zero byte, which DER leaves out, and checks that the
// 64-byte form still verifies.
func TestES256SignatureShortValues(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("header.payload"))
	var shortR, shortS bool
	for i := 0; i < 200000 && !(shortR && shortS); i++ {
		der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		r, s := derInts(t, der)
		if len(r.Bytes()) == 32 && len(s.Bytes()) == 32 {
			continue
		}
		shortR, shortS = shortR || len(r.Bytes()) < 32, shortS || len(s.Bytes()) < 32
		raw, err := es256Signature(der)
		if err != nil {
			t.Fatalf("%x: %v", der, err)
		}
		gotR, gotS := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
		if gotR.Cmp(r) != 0 || gotS.Cmp(s) != 0 {
			t.Errorf("%x: got r %x s %x, want r %x s %x", der, gotR, gotS, r, s)
		}
		if !ecdsa.Verify(&priv.PublicKey, digest[:], gotR, gotS) {
			t.Errorf("%x: converted signature does not verify", der)
		}
	}
	if !shortR || !shortS {
		t.Fatalf("found a short r: %t, a short s: %t; want both", shortR, shortS)
	}
}

func derInts(t *testing.T, der []byte) (r, s *big.Int) {
	t.Helper()
	r, s = new(big.Int), new(big.Int)
	in, inner := cryptobyte.String(der), cryptobyte.String(nil)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) {
		t.Fatalf("not a DER signature: %x", der)
	}
	return r, s
}
