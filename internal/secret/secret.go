// Package secret makes and checks the high-entropy strings Aries hands out:
// client secrets, authorization codes, refresh tokens, session ids. Each is
// 256 bits from crypto/rand behind a recognisable prefix (so leak scanners
// can find them) and is stored only as a keyed hash: HMAC-SHA-256 under a
// server pepper, in a versioned format. A slow password KDF would add nothing
// for secrets this long and would put milliseconds on the token endpoint.
package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Prefixes of the secrets Aries issues.
const (
	ClientSecretPrefix = "aries_cs_"
	ClientIDPrefix     = "aries_ci_"
	CodePrefix         = "aries_ac_"
	RefreshPrefix      = "aries_rt_"
	SessionPrefix      = "aries_ss_"
)

// New returns prefix followed by 256 random bits in base64url.
func New(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// ID returns a shorter random identifier (128 bits) for rows that are not
// secrets, such as user and grant ids.
func ID(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}

// hashVersion tags stored hashes so the scheme can change without breaking
// existing rows.
const hashVersion = "h1$"

// Hasher hashes secrets for storage and checks them in constant time.
type Hasher struct {
	pepper []byte
}

// NewHasher returns a Hasher keyed by pepper (at least 32 bytes).
func NewHasher(pepper []byte) *Hasher {
	return &Hasher{pepper: pepper}
}

// Hash returns the stored form of s. It is deterministic, so the store can
// look a token up by its hash.
func (h *Hasher) Hash(s string) string {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte(s))
	return hashVersion + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether s hashes to stored, in constant time.
func (h *Hasher) Verify(s, stored string) bool {
	return hmac.Equal([]byte(h.Hash(s)), []byte(stored))
}

// Master is the server's root secret. Every other server key (the hash
// pepper, the key that encrypts signing keys at rest) is derived from it, so
// an operator manages one value and instances that share it agree.
type Master struct {
	key []byte
}

// ParseMaster accepts a base64 (standard or URL, padded or not) or hex
// encoding of at least 32 random bytes.
func ParseMaster(s string) (Master, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= 32 {
			return Master{key: b}, nil
		}
	}
	return Master{}, errors.New("the secret must be at least 32 random bytes in base64 (try: openssl rand -base64 32)")
}

// NewMaster generates a fresh root secret and returns it with its encoding.
func NewMaster() (Master, string) {
	b := make([]byte, 32)
	rand.Read(b)
	return Master{key: b}, base64.RawURLEncoding.EncodeToString(b)
}

// Derivation labels of the keys made from the root secret. Changing one
// makes every stored hash or key of that kind unreadable.
const (
	pepperPurpose         = "secret-hash-pepper"
	keyEncryptionPurpose  = "signing-key-encryption"
	totpEncryptionPurpose = "totp-secret-encryption"
	refreshGracePurpose   = "refresh-grace-encryption"
)

// Keys are the server keys derived from the root secret, one per use. The
// server, the command line and the benchmark all take them from Master.Keys,
// so they agree on every label.
type Keys struct {
	Pepper         []byte // keys the stored hashes of secrets (NewHasher)
	KeyEncryption  []byte // encrypts the signing keys at rest (package keys)
	TOTPEncryption []byte // encrypts the users' TOTP secrets at rest (package mfa)
	// RefreshGrace encrypts the copy of a rotated refresh token's child
	// kept for the client's grace window (package token).
	RefreshGrace []byte
}

// Keys derives the server keys.
func (m Master) Keys() Keys {
	return Keys{
		Pepper:         m.Derive(pepperPurpose),
		KeyEncryption:  m.Derive(keyEncryptionPurpose),
		TOTPEncryption: m.Derive(totpEncryptionPurpose),
		RefreshGrace:   m.Derive(refreshGracePurpose),
	}
}

// Hasher returns the Hasher keyed by the derived pepper: the one every part
// of Aries hashes secrets with.
func (m Master) Hasher() *Hasher {
	return NewHasher(m.Keys().Pepper)
}

// Derive returns a 32-byte key for one purpose (HKDF-SHA-256, RFC 5869).
func (m Master) Derive(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, m.key, nil, "aries "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}
