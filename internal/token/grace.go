package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// The grace copy of a rotated refresh token's child (docs/fapi.md#refresh-
// token-policy): a retry within the client's grace window must answer with
// the very token the first use got, and the store keeps only hashes, so the
// child is kept encrypted on its parent's row for the window, and only then.

// graceSealV1 marks a child sealed as: version byte, 12-byte random nonce,
// AES-256-GCM ciphertext of the token with "refresh-grace:" and the parent's
// hash as associated data, so a copy moved to another row does not open.
const graceSealV1 = 1

// GraceKeySize is the length of Handler.RefreshGraceKey.
const GraceKeySize = 32

// errGraceKey is a server set up without the grace key while a client has a
// grace window: a configuration error, reported as server_error.
var errGraceKey = fmt.Errorf("token: RefreshGraceKey must be %d bytes to serve refresh-token grace windows", GraceKeySize)

// errUnsealChild hides why decryption failed: a wrong key (the root secret
// changed between instances) and an altered row look the same.
var errUnsealChild = errors.New("token: cannot decrypt the grace copy of a refresh token (wrong root secret, or the row was altered)")

func (h *Handler) graceAEAD() (cipher.AEAD, error) {
	if len(h.RefreshGraceKey) != GraceKeySize {
		return nil, errGraceKey
	}
	block, err := aes.NewCipher(h.RefreshGraceKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealChild encrypts child, the token the refresh token parentHash is
// rotated into.
func (h *Handler) sealChild(parentHash, child string) ([]byte, error) {
	aead, err := h.graceAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{graceSealV1}, nonce...)
	return aead.Seal(out, nonce, []byte(child), []byte("refresh-grace:"+parentHash)), nil
}

// openChild reverses sealChild.
func (h *Handler) openChild(parentHash string, sealed []byte) (string, error) {
	aead, err := h.graceAEAD()
	if err != nil {
		return "", err
	}
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != graceSealV1 {
		return "", errUnsealChild
	}
	plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte("refresh-grace:"+parentHash))
	if err != nil {
		return "", errUnsealChild
	}
	return string(plain), nil
}
