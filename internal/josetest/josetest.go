// Package josetest signs tokens with go-jose, a JOSE library this project
// did not write, for the tests that check what Aries's own signer writes
// and what its verifiers accept. It imports nothing of Aries, so every
// package's tests can use it, internal/keys' included.
package josetest

import (
	"crypto"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// SignJWS signs payload as a compact JWS with alg and key (a crypto.Signer
// is wrapped opaque), with header kid and header typ unless each is empty.
func SignJWS(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, payload []byte) string {
	t.Helper()
	if s, ok := key.(crypto.Signer); ok {
		key = cryptosigner.Opaque(s)
	}
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
