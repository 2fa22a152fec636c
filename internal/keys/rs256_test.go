package keys

import (
	"context"
	"crypto/rsa"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/testclock"
)

// TestRS256SignsIDTokens: the RS256 key signs with typ JWT (an ID token)
// and verifies against its published JWK; it never signs an access token.
func TestRS256SignsIDTokens(t *testing.T) {
	kr, err := Open(context.Background(), newStore(t), newKEK(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		alg, typ string
		ok       bool
	}{
		{RS256, IDTokenType, true},
		{Algorithm, IDTokenType, true},
		{Algorithm, TokenType, true},
		{RS256, TokenType, false}, // access tokens are ES256 only
		{"HS256", IDTokenType, false},
	}
	for _, tt := range tests {
		tok, err := kr.SignAs(tt.alg, tt.typ, []byte(`{"sub":"usr_1"}`))
		if (err == nil) != tt.ok {
			t.Errorf("SignAs(%s, %s): got error %v, want success %t", tt.alg, tt.typ, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.alg)})
		if err != nil {
			t.Fatal(err)
		}
		h := jws.Signatures[0].Header
		jwk, ok := kr.PublicJWK(h.KeyID)
		if !ok || h.KeyID != kr.ActiveKeyIDOf(tt.alg) || jwk.Algorithm != tt.alg || h.ExtraHeaders[jose.HeaderType] != tt.typ {
			t.Errorf("SignAs(%s, %s): header %+v, JWK alg %q; want the active %s kid and typ %s", tt.alg, tt.typ, h, jwk.Algorithm, tt.alg, tt.typ)
		}
		if _, err := jws.Verify(jwk.Key); err != nil {
			t.Errorf("SignAs(%s, %s): does not verify with its published key: %v", tt.alg, tt.typ, err)
		}
		if rsaKey, isRSA := jwk.Key.(*rsa.PublicKey); isRSA && rsaKey.N.BitLen() != 2048 {
			t.Errorf("RS256 key has %d bits, want 2048", rsaKey.N.BitLen())
		}
	}
}

// TestRotateAllRotatesEachAlgorithm: `aries keys rotate` gives each
// algorithm a new key; the old ones stay published for publishFor, so ID
// tokens and access tokens already issued still verify. Rotating one
// algorithm leaves the other's key in use.
func TestRotateAllRotatesEachAlgorithm(t *testing.T) {
	ctx := context.Background()
	st, kek, c := newStore(t), newKEK(), testclock.New(t0)
	const publishFor = 20 * time.Minute
	kr, err := Open(ctx, st, kek, publishFor, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	oldES, oldRS := kr.ActiveKeyID(), kr.ActiveKeyIDOf(RS256)
	oldIDToken, err := kr.SignAs(RS256, IDTokenType, []byte(`{"sub":"usr_1"}`))
	if err != nil {
		t.Fatal(err)
	}

	c.Add(time.Minute)
	es, err := Rotate(ctx, st, kek, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != es.ID || kr.ActiveKeyIDOf(RS256) != oldRS {
		t.Errorf("after rotating ES256: active ES256 %q, RS256 %q; want %q and the old %q", kr.ActiveKeyID(), kr.ActiveKeyIDOf(RS256), es.ID, oldRS)
	}

	c.Add(time.Minute)
	rotated, err := RotateAll(ctx, st, kek, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 || rotated[0].Algorithm != Algorithm || rotated[1].Algorithm != RS256 {
		t.Fatalf("RotateAll returned %+v, want an ES256 and an RS256 key", rotated)
	}
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != rotated[0].ID || kr.ActiveKeyIDOf(RS256) != rotated[1].ID {
		t.Errorf("after RotateAll: active %q and %q, want the new keys", kr.ActiveKeyID(), kr.ActiveKeyIDOf(RS256))
	}
	if got, want := kidsOf(kr.JWKS(), RS256), []string{rotated[1].ID, oldRS}; !slices.Equal(got, want) {
		t.Errorf("RS256 kids %v, want %v: the new key and the old one still published", got, want)
	}
	if got, want := kids(kr.JWKS()), []string{rotated[0].ID, es.ID, oldES}; !slices.Equal(got, want) {
		t.Errorf("ES256 kids %v, want %v", got, want)
	}

	// The ID token signed before the rotation still verifies.
	jws, err := jose.ParseSignedCompact(oldIDToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := kr.PublicKey(jws.Signatures[0].Header.KeyID)
	if !ok {
		t.Fatal("the old RS256 key is not published after rotation")
	}
	if _, err := jws.Verify(pub); err != nil {
		t.Errorf("old ID token: %v", err)
	}

	c.Add(publishFor)
	if _, ok := kr.PublicKey(oldRS); ok {
		t.Error("the old RS256 key is still published after publishFor")
	}
}

// TestOpenAddsRS256ToAnOlderStore: a store from before ID tokens holds only
// ES256 keys; Open adds an RS256 key and keeps signing access tokens with
// the ES256 key it had.
func TestOpenAddsRS256ToAnOlderStore(t *testing.T) {
	ctx := context.Background()
	st, kek := newStore(t), newKEK()
	es, err := Rotate(ctx, st, kek, t0)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := Open(ctx, st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != es.ID || kr.ActiveKeyIDOf(RS256) == "" {
		t.Errorf("active ES256 %q, RS256 %q; want %q and a new RS256 key", kr.ActiveKeyID(), kr.ActiveKeyIDOf(RS256), es.ID)
	}
	if n := len(rows(t, st)); n != 2 {
		t.Errorf("got %d stored keys, want 2", n)
	}
}
