package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Nonces hands out and checks server nonces (RFC 9449 sections 8 and 9).
// Nonce is the value to send in the DPoP-Nonce header now; Valid reports
// whether a proof's "nonce" is one still accepted.
type Nonces interface {
	Nonce() string
	Valid(nonce string) bool
}

// DefaultNoncePeriod is how often RotatingNonces changes its nonce when
// its period is zero.
const DefaultNoncePeriod = time.Minute

// RotatingNonces are nonces that change every period and need no shared
// state: each is a period's number with its HMAC-SHA-256 under a key, so
// every instance holding the key hands out and accepts the same nonces. A
// nonce is accepted during its own period and the next (so one lives
// between one and two periods), and one period early, for instances whose
// clocks differ a little.
type RotatingNonces struct {
	key    []byte
	period time.Duration
	now    func() time.Time
}

// nonceMACSize is the truncated HMAC a nonce carries: 128 bits, beyond
// guessing.
const nonceMACSize = 16

// NewRotatingNonces returns the nonces of key (at least 32 bytes, shared
// by every instance) changing every period (DefaultNoncePeriod when zero)
// by the clock now (time.Now when nil).
func NewRotatingNonces(key []byte, period time.Duration, now func() time.Time) (*RotatingNonces, error) {
	if len(key) < 32 {
		return nil, errors.New("dpop: a nonce key needs at least 32 bytes")
	}
	if period < 0 {
		return nil, errors.New("dpop: negative nonce period")
	}
	if period == 0 {
		period = DefaultNoncePeriod
	}
	if now == nil {
		now = time.Now
	}
	return &RotatingNonces{key: key, period: period, now: now}, nil
}

func (n *RotatingNonces) current() int64 { return n.now().UnixNano() / int64(n.period) }

// nonceOf is the nonce of period p: base64url of p (8 bytes, big-endian)
// and its MAC. Its characters are all NQCHAR (RFC 9449 section 8.1).
func (n *RotatingNonces) nonceOf(p int64) string {
	var b [8 + nonceMACSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(p))
	m := hmac.New(sha256.New, n.key)
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Nonce implements Nonces.
func (n *RotatingNonces) Nonce() string { return n.nonceOf(n.current()) }

// Valid implements Nonces.
func (n *RotatingNonces) Valid(nonce string) bool {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+nonceMACSize {
		return false
	}
	p := int64(binary.BigEndian.Uint64(b[:8]))
	if d := n.current() - p; d < -1 || d > 1 {
		return false
	}
	return hmac.Equal([]byte(n.nonceOf(p)), []byte(nonce))
}
