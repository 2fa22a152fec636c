package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/ariesexchange/aries/internal/store"
)

// Algorithm is the JWS algorithm of access tokens, and of the ID tokens of
// clients that ask for it.
const Algorithm = "ES256"

// RS256 is the algorithm of ID tokens by default: every OpenID Provider must
// offer it (OpenID Connect Core 1.0 section 15.1), and some relying parties
// accept nothing else. Its key is RSA-2048 (RFC 7518 section 3.3 asks for
// at least that).
const RS256 = "RS256"

// Algorithms are the algorithms the keyring keeps a key for, each rotated
// on its own: Open creates a key for any that has none.
var Algorithms = []string{Algorithm, RS256}

// rsaBits is the size of RS256 keys.
const rsaBits = 2048

// TokenType is the JWS "typ" header of JWT access tokens (RFC 9068 section
// 2.1), what Sign signs.
const TokenType = "at+jwt"

// IDTokenType is the "typ" header of the keyring's other JWTs, ID tokens:
// RFC 7519 section 5.1's "JWT", which an access-token validator refuses
// (RFC 9068 section 4), so neither kind passes for the other.
const IDTokenType = "JWT"

// Rotate generates an ES256 signing key (the access-token key), stores it
// encrypted under kek, and retires every other ES256 key at now. Servers
// start signing with it when they next Reload; the keys it retires stay
// published for the Keyring's publishFor. RotateAll rotates every
// algorithm's key, as `aries keys rotate` does.
func Rotate(ctx context.Context, st store.SigningKeyStore, kek []byte, now time.Time) (store.SigningKey, error) {
	return RotateAlgorithm(ctx, st, kek, Algorithm, now)
}

// RotateAll rotates the key of every algorithm (Algorithms, in that order)
// and returns the new keys.
func RotateAll(ctx context.Context, st store.SigningKeyStore, kek []byte, now time.Time) ([]store.SigningKey, error) {
	var out []store.SigningKey
	for _, alg := range Algorithms {
		k, err := RotateAlgorithm(ctx, st, kek, alg, now)
		if err != nil {
			return out, err
		}
		out = append(out, k)
	}
	return out, nil
}

// RotateAlgorithm generates a signing key for alg (one of Algorithms),
// stores it encrypted under kek, and retires the other keys of alg at now.
func RotateAlgorithm(ctx context.Context, st store.SigningKeyStore, kek []byte, alg string, now time.Time) (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case Algorithm:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return store.SigningKey{}, fmt.Errorf("keys: no such signing algorithm %q", alg)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: generate: %w", err)
	}
	kid := newKeyID()
	sealed, err := seal(kek, kid, priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	jwk, err := publicJWK(kid, alg, priv.Public()).MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode public key: %w", err)
	}
	k := store.SigningKey{
		ID:                  kid,
		Algorithm:           alg,
		EncryptedPrivateKey: sealed,
		PublicJWK:           jwk,
		CreatedAt:           now,
	}
	if err := st.CreateSigningKey(ctx, k); err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: store new key: %w", err)
	}
	// A crash between the two writes leaves two live keys of alg; both
	// stay published and the newer signs, so nothing breaks.
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

func publicJWK(kid, alg string, pub crypto.PublicKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// Keyring signs with the active key of each algorithm and publishes the
// public keys. It is safe for concurrent use: Sign and PublicKey read an
// immutable snapshot through an atomic pointer, and Reload swaps in a new
// one.
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
	active map[string]*activeKey // by algorithm
	public []publicKey           // newest first, only keys that may still be published
	byID   map[string]*publicKey
}

// activeKey is the key of one algorithm that signs.
type activeKey struct {
	id      string
	alg     string
	signer  crypto.Signer     // the private key, behind opaqueKey
	headers map[string]string // by typ: the base64url protected header, encoded once
	sigLen  int               // bytes of a JWS signature: 64 for ES256, the modulus for RS256
}

// protectedHeader is the JWS protected header (RFC 7515 section 4.1) of
// every token the keyring signs. Its members are in name order, the order
// go-jose writes a header in, so the header is byte for byte the one
// go-jose would sign (sign_test.go compares them).
type protectedHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type publicKey struct {
	jwk       jose.JSONWebKey
	live      bool      // active, or not yet retired
	retiredAt time.Time // meaningful when !live
}

// Open loads the keyring from st, creating the first key of each algorithm
// that has none. kek is the 32-byte key-encryption key. publishFor is how long a
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
	for _, alg := range Algorithms {
		// A store from before RS256 (ID tokens) gets its first RS256 key
		// here, beside its ES256 keys.
		if !slices.ContainsFunc(existing, func(k store.SigningKey) bool { return k.Algorithm == alg }) {
			if _, err := RotateAlgorithm(ctx, st, kek, alg, now()); err != nil {
				return nil, err
			}
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
// keys are decrypted; retired keys contribute their public half.
func (k *Keyring) build(rows []store.SigningKey, now time.Time) (*snapshot, error) {
	// The active key of an algorithm is its newest live one; if concurrent
	// rotations retired every key of it, its newest.
	active := map[string]store.SigningKey{}
	for _, alg := range Algorithms {
		i := slices.IndexFunc(rows, func(r store.SigningKey) bool { return r.Algorithm == alg && r.RetiredAt.IsZero() })
		if i < 0 {
			i = slices.IndexFunc(rows, func(r store.SigningKey) bool { return r.Algorithm == alg })
		}
		if i < 0 {
			return nil, fmt.Errorf("keys: the store holds no %s signing key", alg)
		}
		active[alg] = rows[i]
	}

	s := &snapshot{active: map[string]*activeKey{}, byID: make(map[string]*publicKey, len(rows))}
	for _, r := range rows {
		isActive := active[r.Algorithm].ID == r.ID
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

	for _, alg := range Algorithms {
		a, err := k.activate(active[alg], s.byID[active[alg].ID])
		if err != nil {
			return nil, err
		}
		s.active[alg] = a
	}
	return s, nil
}

// activate decrypts the active key of row's algorithm and encodes its
// protected headers: ES256 signs access tokens (typ at+jwt) and the ID
// tokens of the clients that ask for ES256; RS256 signs ID tokens.
func (k *Keyring) activate(row store.SigningKey, pub *publicKey) (*activeKey, error) {
	priv, err := unseal(k.kek, row.ID, row.EncryptedPrivateKey)
	if err != nil {
		return nil, err
	}
	if !samePublic(priv.Public(), pub.jwk.Key) {
		return nil, fmt.Errorf("keys: signing key %s does not match its published public key", row.ID)
	}
	a := &activeKey{id: row.ID, alg: row.Algorithm, signer: opaqueKey{priv}, headers: map[string]string{}}
	types := []string{IDTokenType}
	switch p := priv.Public().(type) {
	case *ecdsa.PublicKey:
		a.sigLen = es256Size
		types = append(types, TokenType)
	case *rsa.PublicKey:
		a.sigLen = p.Size()
	}
	for _, typ := range types {
		h, err := json.Marshal(protectedHeader{Alg: row.Algorithm, Kid: row.ID, Typ: typ})
		if err != nil {
			return nil, fmt.Errorf("keys: header for %s: %w", row.ID, err)
		}
		a.headers[typ] = base64.RawURLEncoding.EncodeToString(h)
	}
	return a, nil
}

// samePublic reports whether a private key's public half is pub.
func samePublic(mine crypto.PublicKey, pub crypto.PublicKey) bool {
	eq, ok := mine.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pub)
}

// parsePublic reads and checks the stored public JWK of a row: a P-256 key
// for ES256, an RSA key of at least 2048 bits for RS256.
func parsePublic(r store.SigningKey) (jose.JSONWebKey, error) {
	if !slices.Contains(Algorithms, r.Algorithm) {
		return jose.JSONWebKey{}, fmt.Errorf("keys: signing key %s has algorithm %q, want one of %v", r.ID, r.Algorithm, Algorithms)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(r.PublicJWK); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("keys: signing key %s: public JWK: %w", r.ID, err)
	}
	var fits bool
	switch pub := jwk.Key.(type) {
	case *ecdsa.PublicKey:
		fits = r.Algorithm == Algorithm && pub.Curve == elliptic.P256()
	case *rsa.PublicKey:
		fits = r.Algorithm == RS256 && pub.N.BitLen() >= rsaBits
	}
	if !fits || jwk.KeyID != r.ID || jwk.Algorithm != r.Algorithm {
		return jose.JSONWebKey{}, fmt.Errorf("keys: signing key %s: public JWK is not an %s key with that kid", r.ID, r.Algorithm)
	}
	return jwk, nil
}

// opaqueKey exposes only crypto.Signer, so a caller holding the active
// signer cannot type-assert its way to the private key.
type opaqueKey struct{ k crypto.Signer }

func (o opaqueKey) Public() crypto.PublicKey { return o.k.Public() }

func (o opaqueKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, digest, opts)
}

// Sign returns payload as a JWS in compact serialization, signed with the
// active ES256 key; its protected header is alg ES256, the key's kid and
// typ at+jwt: an access token.
func (k *Keyring) Sign(payload []byte) (string, error) {
	return k.SignAs(Algorithm, TokenType, payload)
}

// SignAs is Sign with the active key of alg (one of Algorithms) and the
// header typ, which is TokenType (ES256 only) or IDTokenType.
func (k *Keyring) SignAs(alg, typ string, payload []byte) (string, error) {
	a, ok := k.snap.Load().active[alg]
	if !ok {
		return "", fmt.Errorf("keys: no %s signing key", alg)
	}
	header, ok := a.headers[typ]
	if !ok {
		return "", fmt.Errorf("keys: %s keys do not sign typ %q", alg, typ)
	}
	return a.sign(header, payload)
}

// sign returns the JWS Compact Serialization (RFC 7515 section 7.1) of
// payload under header, already base64url-encoded: the signing input
// header.payload, then "." and the signature, written into one buffer.
func (a *activeKey) sign(header string, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	out := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(a.sigLen))
	out = append(out, header...)
	out = append(out, '.')
	out = enc.AppendEncode(out, payload)
	// Both algorithms sign SHA-256 of the signing input: ES256 per RFC 7518
	// section 3.4, RS256 (RSASSA-PKCS1-v1_5) per section 3.3.
	digest := sha256.Sum256(out)
	sig, err := a.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	if a.alg == Algorithm {
		raw, err := es256Signature(sig)
		if err != nil {
			return "", fmt.Errorf("keys: sign: %w", err)
		}
		sig = raw[:]
	}
	if len(sig) != a.sigLen {
		return "", fmt.Errorf("keys: sign: got a %d-byte %s signature, want %d", len(sig), a.alg, a.sigLen)
	}
	out = append(out, '.')
	out = enc.AppendEncode(out, sig)
	return string(out), nil
}

// es256Size is the length of an ES256 JWS signature: R and S, each 32
// bytes (RFC 7518 section 3.4).
const es256Size = 64

var errECDSASignature = errors.New("keys: ECDSA signature is not a P-256 ASN.1 (r, s)")

// es256Signature converts an ECDSA signature as crypto.Signer returns it,
// ASN.1 DER SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 section 2.2.3),
// into the JWS form of RFC 7518 section 3.4: r then s, each a 32-byte
// big-endian integer. DER writes integers in as few bytes as they need, so
// a short r or s is left-padded with zeros.
func es256Signature(der []byte) ([es256Size]byte, error) {
	var out [es256Size]byte
	var inner cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() ||
		len(r) > es256Size/2 || len(s) > es256Size/2 {
		return out, errECDSASignature
	}
	copy(out[es256Size/2-len(r):es256Size/2], r)
	copy(out[es256Size-len(s):], s)
	return out, nil
}

// Signer returns the active ES256 key's id and the key as a crypto.Signer
// (sign SHA-256 digests). It does not reveal the private key.
func (k *Keyring) Signer() (kid string, s crypto.Signer) {
	a := k.snap.Load().active[Algorithm]
	return a.id, a.signer
}

// ActiveKeyID returns the kid new access tokens are signed with.
func (k *Keyring) ActiveKeyID() string { return k.ActiveKeyIDOf(Algorithm) }

// ActiveKeyIDOf returns the kid new tokens signed with alg carry, or "" for
// an algorithm the keyring has no key for.
func (k *Keyring) ActiveKeyIDOf(alg string) string {
	if a, ok := k.snap.Load().active[alg]; ok {
		return a.id
	}
	return ""
}

// PublicKey returns the public key with id kid if it is published now: the
// key to verify a token whose header names kid.
//
// A kid it does not know makes it re-read the store first (at most once a
// second, so made-up kids cost nothing): with several instances, another
// one may sign with a key this one has not loaded yet. Instances starting
// together on an empty store each create a first key, and after `aries
// keys rotate` each picks the new key up at its own next Reload.
func (k *Keyring) PublicKey(kid string) (crypto.PublicKey, bool) {
	jwk, ok := k.PublicJWK(kid)
	return jwk.Key, ok
}

// PublicJWK is PublicKey with the key's JWK, whose Algorithm a verifier
// must find in the token's header.
func (k *Keyring) PublicJWK(kid string) (jose.JSONWebKey, bool) {
	p, ok := k.snap.Load().byID[kid]
	if !ok && k.reloadForMiss() {
		p, ok = k.snap.Load().byID[kid]
	}
	if !ok || !k.published(p, k.now()) {
		return jose.JSONWebKey{}, false
	}
	return p.jwk, true
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
