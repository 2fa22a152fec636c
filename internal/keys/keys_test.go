package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/sqlite"
	"github.com/ariesexchange/aries/internal/testclock"
)

// newStore returns an empty SQLite store in a temporary directory.
func newStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "aries.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// faultyStore alters what SigningKeys returns, to play a tampered database
// or one that is down.
type faultyStore struct {
	store.Store
	alter   func([]store.SigningKey)
	loadErr error
}

func (s *faultyStore) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	rows, err := s.Store.SigningKeys(ctx)
	if err == nil && s.alter != nil {
		s.alter(rows)
	}
	return rows, err
}

func rows(t *testing.T, st store.Store) []store.SigningKey {
	t.Helper()
	r, err := st.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newKEK() []byte {
	b := make([]byte, KEKSize)
	rand.Read(b)
	return b
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// kids lists the ES256 key ids of a JWKS, in order: most tests here follow
// the access-token key; rs256_test.go follows the ID-token key.
func kids(set jose.JSONWebKeySet) []string { return kidsOf(set, Algorithm) }

func kidsOf(set jose.JSONWebKeySet, alg string) []string {
	var out []string
	for _, k := range set.Keys {
		if k.Algorithm == alg {
			out = append(out, k.KeyID)
		}
	}
	return out
}

// rowOf returns the newest stored key of alg.
func rowOf(t *testing.T, st store.Store, alg string) store.SigningKey {
	t.Helper()
	for _, r := range rows(t, st) {
		if r.Algorithm == alg {
			return r
		}
	}
	t.Fatalf("no %s key stored", alg)
	return store.SigningKey{}
}

func TestOpenCreatesFirstKeyOnce(t *testing.T) {
	ctx := context.Background()
	st, kek := newStore(t), newKEK()
	kr, err := Open(ctx, st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One key per algorithm: ES256 for access tokens, RS256 for ID tokens.
	if n := len(rows(t, st)); n != 2 {
		t.Fatalf("got %d stored keys, want 2", n)
	}
	row := rowOf(t, st, "ES256")
	if row.ID != kr.ActiveKeyID() {
		t.Errorf("got ES256 row id %q, want the active id %q", row.ID, kr.ActiveKeyID())
	}
	if rs := rowOf(t, st, "RS256"); rs.ID != kr.ActiveKeyIDOf(RS256) {
		t.Errorf("got RS256 row id %q, want the active RS256 id %q", rs.ID, kr.ActiveKeyIDOf(RS256))
	}

	set := kr.JWKS()
	if len(set.Keys) != 2 {
		t.Fatalf("got %d keys in JWKS, want 2", len(set.Keys))
	}
	for _, k := range set.Keys {
		if k.KeyID != kr.ActiveKeyIDOf(k.Algorithm) || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("got JWK kid %q alg %q use %q public %v, want an active kid, sig, public",
				k.KeyID, k.Algorithm, k.Use, k.IsPublic())
		}
	}

	again, err := Open(ctx, st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rows(t, st)); n != 2 || again.ActiveKeyID() != kr.ActiveKeyID() || again.ActiveKeyIDOf(RS256) != kr.ActiveKeyIDOf(RS256) {
		t.Errorf("second Open: got %d keys, active %q; want 2 keys, the same active ones", n, again.ActiveKeyID())
	}
}

func TestPrivateKeyEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	st, kek := newStore(t), newKEK()
	if _, err := Open(ctx, st, kek, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows(t, st) {
		priv, err := unseal(kek, row.ID, row.EncryptedPrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		var d []byte
		switch k := priv.(type) {
		case *ecdsa.PrivateKey:
			d = k.D.Bytes()
		case *rsa.PrivateKey:
			d = k.D.Bytes()
		}
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		if len(d) == 0 || bytes.Contains(row.EncryptedPrivateKey, d) || bytes.Contains(row.EncryptedPrivateKey, der) {
			t.Errorf("%s key: stored key contains the private key in clear", row.Algorithm)
		}
		if bytes.Contains(row.PublicJWK, []byte(`"d"`)) || bytes.Contains(row.PublicJWK, []byte(`"p"`)) {
			t.Errorf("%s key: stored public JWK has a private part: %s", row.Algorithm, row.PublicJWK)
		}
	}

	if _, err := Open(ctx, st, newKEK(), time.Hour, nil); err == nil {
		t.Error("Open with another key-encryption key: got nil error, want one")
	}
	if _, err := Open(ctx, st, kek[:16], time.Hour, nil); err == nil {
		t.Error("Open with a 16-byte key-encryption key: got nil error, want one")
	}
}

func TestUnsealRefusesAlteredKeys(t *testing.T) {
	kek := newKEK()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sealed, err := seal(kek, "kid1", priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := unseal(kek, "kid1", sealed)
	if k, ok := got.(*ecdsa.PrivateKey); err != nil || !ok || !k.Equal(priv) {
		t.Fatalf("round trip: got err %v, key %T; want nil and the same key", err, got)
	}
	alter := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(sealed)) }
	tests := []struct {
		name   string
		kek    []byte
		kid    string
		sealed []byte
	}{
		{"other key-encryption key", newKEK(), "kid1", sealed},
		{"moved to another kid", kek, "kid2", sealed},
		{"ciphertext flipped", kek, "kid1", alter(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"nonce flipped", kek, "kid1", alter(func(b []byte) []byte { b[1] ^= 1; return b })},
		{"unknown version", kek, "kid1", alter(func(b []byte) []byte { b[0] = 2; return b })},
		{"truncated", kek, "kid1", sealed[:20]},
		{"empty", kek, "kid1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := unseal(tt.kek, tt.kid, tt.sealed); err == nil {
				t.Errorf("got key %v, want an error", k != nil)
			}
		})
	}
}

func TestSwappedRowDoesNotDecrypt(t *testing.T) {
	ctx := context.Background()
	st, kek, c := newStore(t), newKEK(), testclock.New(t0)
	if _, err := Open(ctx, st, kek, time.Hour, c.Now); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	if _, err := Rotate(ctx, st, kek, c.Now()); err != nil {
		t.Fatal(err)
	}
	// Put the old (retired) key's ciphertext in the active (newest) row.
	tampered := &faultyStore{Store: st, alter: func(r []store.SigningKey) {
		r[0].EncryptedPrivateKey = r[1].EncryptedPrivateKey
	}}
	_, err := Open(ctx, tampered, kek, time.Hour, c.Now)
	if !errors.Is(err, errUnseal) {
		t.Errorf("got %v, want %v", err, errUnseal)
	}
}

func TestSignVerify(t *testing.T) {
	kr, err := Open(context.Background(), newStore(t), newKEK(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"sub":"usr_1"}`)
	tok, err := kr.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.KeyID != kr.ActiveKeyID() || h.Algorithm != "ES256" || h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Errorf("got header kid %q alg %q typ %v, want kid %q alg ES256 typ at+jwt",
			h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType], kr.ActiveKeyID())
	}
	pub, ok := kr.PublicKey(h.KeyID)
	if !ok {
		t.Fatalf("PublicKey(%q): not published", h.KeyID)
	}
	got, err := jws.Verify(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("got payload %s, want %s", got, payload)
	}
	if _, ok := kr.PublicKey("nope"); ok {
		t.Error("PublicKey of an unknown kid: got ok, want not found")
	}
}

func TestSignerHidesPrivateKey(t *testing.T) {
	kr, err := Open(context.Background(), newStore(t), newKEK(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	kid, s := kr.Signer()
	if kid != kr.ActiveKeyID() {
		t.Errorf("got kid %q, want %q", kid, kr.ActiveKeyID())
	}
	if _, ok := s.(*ecdsa.PrivateKey); ok {
		t.Error("Signer() is an *ecdsa.PrivateKey; want the private key hidden")
	}
	pub, _ := kr.PublicKey(kid)
	if !s.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Error("Signer().Public() differs from the published key")
	}
}

func TestRotationKeepsOldKeyPublished(t *testing.T) {
	ctx := context.Background()
	st, kek, c := newStore(t), newKEK(), testclock.New(t0)
	const publishFor = 20 * time.Minute
	kr, err := Open(ctx, st, kek, publishFor, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	old := kr.ActiveKeyID()

	c.Add(time.Hour)
	retiredAt := c.Now()
	nk, err := Rotate(ctx, st, kek, retiredAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != nk.ID {
		t.Errorf("after Reload: got active %q, want the new key %q", kr.ActiveKeyID(), nk.ID)
	}

	tests := []struct {
		at        time.Time
		wantOld   bool
		wantJWKS  []string
		afterNote string
	}{
		{retiredAt, true, []string{nk.ID, old}, "at rotation"},
		{retiredAt.Add(publishFor - time.Second), true, []string{nk.ID, old}, "just before publishFor"},
		{retiredAt.Add(publishFor), false, []string{nk.ID}, "at publishFor"},
		{retiredAt.Add(48 * time.Hour), false, []string{nk.ID}, "long after"},
	}
	for _, tt := range tests {
		c.Set(tt.at)
		if _, ok := kr.PublicKey(old); ok != tt.wantOld {
			t.Errorf("%s: old key published %v, want %v", tt.afterNote, ok, tt.wantOld)
		}
		if got := kids(kr.JWKS()); !slices.Equal(got, tt.wantJWKS) {
			t.Errorf("%s: got JWKS kids %v, want %v", tt.afterNote, got, tt.wantJWKS)
		}
		if _, ok := kr.PublicKey(nk.ID); !ok {
			t.Errorf("%s: active key not published", tt.afterNote)
		}
	}
	// A fresh read of the store agrees.
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kids(kr.JWKS()); !slices.Equal(got, []string{nk.ID}) {
		t.Errorf("after Reload: got JWKS kids %v, want %v", got, []string{nk.ID})
	}
}

func TestActiveKeyWhenEveryKeyIsRetired(t *testing.T) {
	// Two instances rotating at once can each retire the other's key.
	ctx := context.Background()
	st, kek, c := newStore(t), newKEK(), testclock.New(t0)
	a, err := Rotate(ctx, st, kek, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	b, err := Rotate(ctx, st, kek, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.RetireSigningKeys(ctx, a.ID, c.Now()) // retires b; a was already retired
	kr, err := Open(ctx, st, kek, time.Hour, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != b.ID {
		t.Errorf("got active %q, want the newest key %q", kr.ActiveKeyID(), b.ID)
	}
	if got := kids(kr.JWKS()); !slices.Equal(got, []string{b.ID, a.ID}) {
		t.Errorf("got JWKS kids %v, want %v", got, []string{b.ID, a.ID})
	}
}

func TestReloadErrorKeepsKeys(t *testing.T) {
	ctx := context.Background()
	st := &faultyStore{Store: newStore(t)}
	kr, err := Open(ctx, st, newKEK(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	kid := kr.ActiveKeyID()
	st.loadErr = errors.New("database is down")
	if err := kr.Reload(ctx); err == nil {
		t.Error("Reload: got nil error, want the store's")
	}
	if _, err := kr.Sign([]byte("{}")); err != nil || kr.ActiveKeyID() != kid {
		t.Errorf("after failed Reload: sign error %v, active %q; want nil, %q", err, kr.ActiveKeyID(), kid)
	}
}

func TestConcurrentSignAndRotate(t *testing.T) {
	ctx := context.Background()
	st, kek := newStore(t), newKEK()
	kr, err := Open(ctx, st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 4 {
		wg.Go(func() {
			for range 25 {
				tok, err := kr.Sign([]byte(`{}`))
				if err != nil {
					errs <- err
					return
				}
				jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					errs <- err
					return
				}
				pub, ok := kr.PublicKey(jws.Signatures[0].Protected.KeyID)
				if !ok {
					errs <- errors.New("signing key not published")
					return
				}
				if _, err := jws.Verify(pub); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := Rotate(ctx, st, kek, time.Now()); err != nil {
				errs <- err
				return
			}
			if err := kr.Reload(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
