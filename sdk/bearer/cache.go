package bearer

import (
	"crypto"
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// verifiedToken is a token Verify accepted: its claims and the JWKS key
// whose signature it carries.
type verifiedToken struct {
	claims Claims
	key    jose.JSONWebKey
}

// verifiedCache remembers the tokens Verify accepted, by the SHA-256 of the
// token exactly as presented, so that a client sending its token with every
// call (as it does for the token's lifetime) costs one signature check, not
// one per call. It holds at most size entries.
type verifiedCache struct {
	size int

	mu     sync.RWMutex
	tokens map[[sha256.Size]byte]verifiedToken
}

func newVerifiedCache(size int) *verifiedCache {
	return &verifiedCache{size: size, tokens: make(map[[sha256.Size]byte]verifiedToken)}
}

func (vc *verifiedCache) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	vc.mu.RLock()
	defer vc.mu.RUnlock()
	t, ok := vc.tokens[sum]
	return t, ok
}

// put remembers t. When the cache is full it drops the entries expired at
// now; if that leaves it more than three quarters full, it starts over, so
// that each scan frees a quarter of the entries at least and puts stay
// cheap on average.
func (vc *verifiedCache) put(sum [sha256.Size]byte, t verifiedToken, now time.Time, leeway time.Duration) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if _, ok := vc.tokens[sum]; !ok && len(vc.tokens) >= vc.size {
		for k, old := range vc.tokens {
			if expired(&old.claims, now, leeway) {
				delete(vc.tokens, k)
			}
		}
		if len(vc.tokens) > vc.size*3/4 {
			clear(vc.tokens)
		}
	}
	vc.tokens[sum] = t
}

// cachedClaims returns a copy of the claims of the token whose SHA-256 is
// sum if Verify accepted it before and the key that verified it is still
// the key of that id in the current JWKS: the token then still passes
// every check of Verify that does not depend on the time or on
// Config.Revoked, which the caller runs. It never fetches the JWKS; a key
// that left it (or changed under the same id) makes the token go through
// the signature check again, which refuses or accepts it on its own.
func (v *Verifier) cachedClaims(sum [sha256.Size]byte) (*Claims, bool) {
	t, ok := v.verified.get(sum)
	if !ok {
		return nil, false
	}
	ks := v.keys.Load()
	if ks == nil {
		return nil, false
	}
	cur, ok := ks.keys[t.key.KeyID]
	if !ok || cur.Algorithm != t.key.Algorithm || !sameKey(cur.Key, t.key.Key) {
		return nil, false
	}
	// As key (jwks.go) does for every token: an old set is refreshed in
	// the background, so that a retired key stops passing cached tokens.
	if v.cfg.Now().Sub(ks.fetched) >= v.cfg.RefreshInterval {
		v.refreshInBackground(ks)
	}
	return cloneClaims(&t.claims), true
}

// sameKey reports whether a and b are the same public key. Every public
// key type of the standard library has an Equal method.
func sameKey(a, b any) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// cloneClaims copies c and the slices it holds, so that neither a caller
// of Verify nor Config.Revoked can change a remembered token through the
// claims they are handed.
func cloneClaims(c *Claims) *Claims {
	d := *c
	d.Audience = slices.Clone(c.Audience)
	d.Scopes = slices.Clone(c.Scopes)
	d.AMR = slices.Clone(c.AMR)
	return &d
}
