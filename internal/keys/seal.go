package keys

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// sealV1 marks a private key sealed as: version byte, 12-byte random nonce,
// AES-256-GCM ciphertext of the PKCS#8 DER with the kid as associated data.
const sealV1 = 1

// KEKSize is the length of the key-encryption key.
const KEKSize = 32

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: key-encryption key is %d bytes, want %d", len(kek), KEKSize)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts priv (an *ecdsa.PrivateKey or *rsa.PrivateKey) for storage
// under kek, bound to kid.
func seal(kek []byte, kid string, priv crypto.Signer) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("keys: encode private key: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{sealV1}, nonce...)
	out = aead.Seal(out, nonce, der, []byte(kid))
	clear(der)
	return out, nil
}

// errUnseal hides why decryption failed: a wrong key-encryption key and a
// tampered row look the same to an attacker and to the operator.
var errUnseal = errors.New("keys: cannot decrypt signing key (wrong master secret, or the row was altered)")

// unseal reverses seal. The key is an *ecdsa.PrivateKey or an
// *rsa.PrivateKey; which one its row's algorithm wants is the caller's
// check.
func unseal(kek []byte, kid string, sealed []byte) (crypto.Signer, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() {
		return nil, errUnseal
	}
	if sealed[0] != sealV1 {
		return nil, fmt.Errorf("keys: signing key %s has unknown format version %d", kid, sealed[0])
	}
	nonce, ct := sealed[1:1+aead.NonceSize()], sealed[1+aead.NonceSize():]
	der, err := aead.Open(nil, nonce, ct, []byte(kid))
	if err != nil {
		return nil, errUnseal
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: %w", kid, err)
	}
	switch priv := k.(type) {
	case *ecdsa.PrivateKey:
		return priv, nil
	case *rsa.PrivateKey:
		return priv, nil
	}
	return nil, fmt.Errorf("keys: signing key %s is a %T, want ECDSA or RSA", kid, k)
}
