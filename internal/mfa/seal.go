package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// sealV1 marks a TOTP secret sealed as: version byte, 12-byte random nonce,
// AES-256-GCM ciphertext of the base32 secret with "totp:" and the user id as
// associated data, so a sealed secret copied to another user's row does not
// open.
const sealV1 = 1

// KeySize is the length of the key that encrypts TOTP secrets.
const KeySize = 32

// errUnseal hides why decryption failed: a wrong key and an altered row
// look the same.
var errUnseal = errors.New("mfa: cannot decrypt the TOTP secret (wrong root secret, or the row was altered)")

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("mfa: TOTP encryption key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Service) seal(userID, totpSecret string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{sealV1}, nonce...)
	return s.aead.Seal(out, nonce, []byte(totpSecret), []byte("totp:"+userID))
}

func (s *Service) unseal(userID string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealV1 {
		return "", errUnseal
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte("totp:"+userID))
	if err != nil {
		return "", errUnseal
	}
	return string(plain), nil
}
