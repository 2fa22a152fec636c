package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/ariesexchange/aries/internal/store"
)

// Algorithm is the JWS algorithm of every Aries signing key.
const Algorithm = "ES256"

// TokenType is the JWS "typ" header of what the keyring signs: JWT access
// tokens (RFC 9068 section 2.1).
const TokenType = "at+jwt"

// Rotate generates a signing key, stores it encrypted under kek, and retires
// every other key at now. Servers start signing with it when they next
// Reload; the keys it retires stay published for the Keyring's publishFor.
func Rotate(ctx context.Context, st store.SigningKeyStore, kek []byte, now time.Time) (store.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: generate: %w", err)
	}
	kid := newKeyID()
	sealed, err := seal(kek, kid, priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	jwk, err := publicJWK(kid, &priv.PublicKey).MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode public key: %w", err)
	}
	k := store.SigningKey{
		ID:                  kid,
		Algorithm:           Algorithm,
		EncryptedPrivateKey: sealed,
		PublicJWK:           jwk,
		CreatedAt:           now,
	}
	if err := st.CreateSigningKey(ctx, k); err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: store new key: %w", err)
	}
	// A crash between the two writes leaves two live keys; both stay
	// published and the newer signs, so nothing breaks.
	if err := st.RetireSigningKeys(ctx, kid, now); err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: retire old keys: %w", err)
	}
	return k, nil
}

// newKeyID returns 96 random bits in base64url: unguessable, so a kid never
// collides across instances that rotate at the same moment.
func newKeyID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func publicJWK(kid string, pub *ecdsa.PublicKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: Algorithm, Use: "sig"}
}

// Keyring signs with the active key and publishes the public keys. It is
// safe for concurrent use: Sign and PublicKey read an immutable snapshot
// through an atomic pointer, and Reload swaps in a new one.
type Keyring struct {
	st         store.SigningKeyStore
	kek        []byte
	publishFor time.Duration
	now        func() time.Time

	reload sync.Mutex // serialises Reload so an older snapshot never wins
	snap   atomic.Pointer[snapshot]
	// missReload is when PublicKey last reloaded for a key id it did not
	// know, in unix nanoseconds.
	missReload atomic.Int64
}

// snapshot is one reading of the store. It is never modified once built.
type snapshot struct {
	activeID string
	signer   crypto.Signer // the active private key
	jws      jose.Signer   // built once: alg ES256, kid, typ at+jwt
	public   []publicKey   // newest first, only keys that may still be published
	byID     map[string]*publicKey
}

type publicKey struct {
	jwk       jose.JSONWebKey
	live      bool      // active, or not yet retired
	retiredAt time.Time // meaningful when !live
}

// Open loads the keyring from st, creating the first key when there is
// none. kek is the 32-byte key-encryption key. publishFor is how long a
// retired key stays published: the longest access-token lifetime plus clock
// leeway. now is the clock (time.Now when nil).
func Open(ctx context.Context, st store.SigningKeyStore, kek []byte, publishFor time.Duration, now func() time.Time) (*Keyring, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: key-encryption key is %d bytes, want %d", len(kek), KEKSize)
	}
	if now == nil {
		now = time.Now
	}
	k := &Keyring{st: st, kek: kek, publishFor: publishFor, now: now}
	existing, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: load: %w", err)
	}
	if len(existing) == 0 {
		if _, err := Rotate(ctx, st, kek, now()); err != nil {
			return nil, err
		}
	}
	// Read back rather than trust what Rotate returned: another instance
	// starting at the same moment may have created a key too.
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload re-reads the keys from the store, so a rotation made by another
// process takes effect. On error the keyring keeps its previous keys.
func (k *Keyring) Reload(ctx context.Context) error {
	k.reload.Lock()
	defer k.reload.Unlock()
	rows, err := k.st.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: load: %w", err)
	}
	s, err := k.build(rows, k.now())
	if err != nil {
		return err
	}
	k.snap.Store(s)
	return nil
}

// build turns store rows (newest first) into a snapshot. Only the active
// key is decrypted; retired keys contribute their public half.
func (k *Keyring) build(rows []store.SigningKey, now time.Time) (*snapshot, error) {
	if len(rows) == 0 {
		return nil, errors.New("keys: the store holds no signing key")
	}
	// The active key is the newest live one; if concurrent rotations
	// retired every key, the newest.
	active := rows[0]
	for _, r := range rows {
		if r.RetiredAt.IsZero() {
			active = r
			break
		}
	}

	s := &snapshot{activeID: active.ID, byID: make(map[string]*publicKey, len(rows))}
	for _, r := range rows {
		isActive := r.ID == active.ID
		live := isActive || r.RetiredAt.IsZero()
		if !live && !now.Before(r.RetiredAt.Add(k.publishFor)) {
			continue // every token it signed has expired
		}
		jwk, err := parsePublic(r)
		if err != nil {
			return nil, err
		}
		s.public = append(s.public, publicKey{jwk: jwk, live: live, retiredAt: r.RetiredAt})
	}
	for i := range s.public {
		s.byID[s.public[i].jwk.KeyID] = &s.public[i]
	}

	priv, err := unseal(k.kek, active.ID, active.EncryptedPrivateKey)
	if err != nil {
		return nil, err
	}
	if !priv.PublicKey.Equal(s.byID[active.ID].jwk.Key) {
		return nil, fmt.Errorf("keys: signing key %s does not match its published public key", active.ID)
	}
	s.signer = opaqueKey{priv}
	s.jws, err = jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: cryptosigner.Opaque(s.signer)},
		(&jose.SignerOptions{}).WithType(TokenType).WithHeader(jose.HeaderKey("kid"), active.ID),
	)
	if err != nil {
		return nil, fmt.Errorf("keys: signer for %s: %w", active.ID, err)
	}
	return s, nil
}

// parsePublic reads and checks the stored public JWK of a row.
func parsePublic(r store.SigningKey) (jose.JSONWebKey, error) {
	if r.Algorithm != Algorithm {
		return jose.JSONWebKey{}, fmt.Errorf("keys: signing key %s has algorithm %q, want %s", r.ID, r.Algorithm, Algorithm)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(r.PublicJWK); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("keys: signing key %s: public JWK: %w", r.ID, err)
	}
	pub, ok := jwk.Key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() || jwk.KeyID != r.ID || jwk.Algorithm != Algorithm {
		return jose.JSONWebKey{}, fmt.Errorf("keys: signing key %s: public JWK is not an ES256 key with that kid", r.ID)
	}
	return jwk, nil
}

// opaqueKey exposes only crypto.Signer, so a caller holding the active
// signer cannot type-assert its way to the private key.
type opaqueKey struct{ k *ecdsa.PrivateKey }

func (o opaqueKey) Public() crypto.PublicKey { return o.k.Public() }

func (o opaqueKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, digest, opts)
}

// Sign returns payload as a JWS in compact serialization, signed with the
// active key; its protected header is alg ES256, the key's kid and typ
// at+jwt.
func (k *Keyring) Sign(payload []byte) (string, error) {
	jws, err := k.snap.Load().jws.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// Signer returns the active key's id and the key as a crypto.Signer (an
// ES256 key: sign SHA-256 digests). It does not reveal the private key.
func (k *Keyring) Signer() (kid string, s crypto.Signer) {
	snap := k.snap.Load()
	return snap.activeID, snap.signer
}

// ActiveKeyID returns the kid new tokens are signed with.
func (k *Keyring) ActiveKeyID() string { return k.snap.Load().activeID }

// PublicKey returns the public key with id kid if it is published now: the
// key to verify a token whose header names kid.
//
// A kid it does not know makes it re-read the store first (at most once a
// second, so made-up kids cost nothing): with several instances, another
// one may sign with a key this one has not loaded yet. Instances starting
// together on an empty store each create a first key, and after `aries
// keys rotate` each picks the new key up at its own next Reload.
func (k *Keyring) PublicKey(kid string) (crypto.PublicKey, bool) {
	p, ok := k.snap.Load().byID[kid]
	if !ok && k.reloadForMiss() {
		p, ok = k.snap.Load().byID[kid]
	}
	if !ok || !k.published(p, k.now()) {
		return nil, false
	}
	return p.jwk.Key, true
}

// reloadForMiss reloads the keys unless that was done for a miss less than
// a second ago, and reports whether it did. A failed reload keeps the
// current keys.
func (k *Keyring) reloadForMiss() bool {
	now := time.Now().UnixNano()
	last := k.missReload.Load()
	if now-last < int64(time.Second) || !k.missReload.CompareAndSwap(last, now) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return k.Reload(ctx) == nil
}

// JWKS returns the published public keys, newest first (RFC 7517 section 5).
func (k *Keyring) JWKS() jose.JSONWebKeySet {
	s, now := k.snap.Load(), k.now()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(s.public))}
	for i := range s.public {
		if k.published(&s.public[i], now) {
			set.Keys = append(set.Keys, s.public[i].jwk)
		}
	}
	return set
}

// published decides at use time, not at Reload, so a retired key leaves
// the JWKS when its last token expires even if no Reload happens.
func (k *Keyring) published(p *publicKey, now time.Time) bool {
	return p.live || now.Before(p.retiredAt.Add(k.publishFor))
}
