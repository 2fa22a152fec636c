package clientauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

// AssertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 section 2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Algorithms are the JWS algorithms a client assertion may be signed with,
// as the metadata lists them (token_endpoint_auth_signing_alg_values_supported):
// those the FAPI 2.0 Security Profile (section 5.4.1) allows. RS256
// (PKCS#1 v1.5), HMAC and "none" are refused when the JWS is parsed, so no
// key is ever tried with them. "Ed25519", EdDSA's RFC 9864 name, is
// accepted as EdDSA without being listed.
var Algorithms = []string{string(jose.ES256), string(jose.PS256), string(jose.EdDSA)}

// algEd25519 is EdDSA with Ed25519 under its fully-specified name (RFC
// 9864 section 2.2), which current clients (oauth4webapi) sign with: the
// same algorithm as EdDSA with an Ed25519 key, so it is accepted too.
const algEd25519 = jose.SignatureAlgorithm("Ed25519")

var assertionAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.EdDSA, algEd25519}

// Bounds of an assertion, checked before any work that grows with it.
const (
	// MaxAssertionLifetime is how far ahead of now an assertion's exp may
	// lie: it is used once, within seconds of being signed, and the jti is
	// remembered until exp, so a short life keeps the replay cache small.
	MaxAssertionLifetime = 5 * time.Minute
	// MaxFutureSkew is how far in the future iat and nbf may lie: a client
	// whose clock runs ahead (FAPI 2.0 Security Profile section 5.3.2.1:
	// accept up to 10 seconds).
	MaxFutureSkew = 10 * time.Second

	maxAssertionSize = 8 << 10 // an assertion signed with RSA-4096 is about 1 KiB
	maxJTISize       = 256
	maxCachedJWKS    = 4096 // clients whose parsed keys are kept; the cache is emptied when full
)

// ReplayCache remembers the jti of every accepted assertion until it
// expires: Use records key until expiresAt and reports whether it was
// new. The server passes the cache its DPoP proofs use (package replay:
// the store's table or Redis, shared by every instance); the keys cannot
// collide, see assertionKey.
type ReplayCache interface {
	Use(ctx context.Context, key string, expiresAt time.Time) (fresh bool, err error)
}

// assertionClaims are the claims RFC 7523 section 3 checks.
type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
}

// assertion authenticates a client by a JWT signed with one of its
// registered keys (RFC 7523 sections 2.2 and 3, RFC 7521 section 4.2).
// Every failure past the shape of the request is the same 401
// invalid_client; the reason goes to the log at WARN, never the assertion.
func (a *Authenticator) assertion(ctx context.Context, r *http.Request, p oauth.Params) (Result, *oauth.Error) {
	if r.Header.Get("Authorization") != "" {
		return Result{}, oauth.Errorf(oauth.InvalidRequest, "use one client authentication method: a client_assertion, or an Authorization header, not both")
	}
	if _, ok := p["client_secret"]; ok {
		return Result{}, oauth.Errorf(oauth.InvalidRequest, "use one client authentication method: a client_assertion, or a client_secret, not both")
	}
	typ, raw := p["client_assertion_type"], p["client_assertion"]
	switch {
	case typ == "":
		return Result{}, oauth.Errorf(oauth.InvalidRequest, "client_assertion_type is required with a client_assertion")
	case raw == "":
		return Result{}, oauth.Errorf(oauth.InvalidRequest, "client_assertion is required with a client_assertion_type")
	case typ != AssertionType:
		return Result{}, oauth.ClientError("client_assertion_type must be "+AssertionType, false)
	case len(raw) > maxAssertionSize:
		return Result{}, oauth.ClientError("the client_assertion is too large", false)
	}
	fail := oauth.ClientError("client authentication failed", false)
	jws, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		// The allow-list is public (the metadata lists it), so saying so
		// helps only the honest client.
		return Result{}, oauth.ClientError("the client_assertion must be a compact JWS signed with ES256, PS256 or EdDSA", false)
	}
	var claims assertionClaims
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims) != nil {
		return Result{}, oauth.ClientError("the client_assertion's payload is not a JSON object of JWT claims", false)
	}
	// RFC 7523 section 3 items 1-2: a client asserts itself, so iss and sub
	// are both its client_id; a client_id parameter must name it too (RFC
	// 7521 section 4.2).
	id := claims.Subject
	if id == "" || claims.Issuer != id || !oauth.ValidIdentifier(id) {
		a.warn(ctx, r, id, "iss and sub must both be the client_id")
		return Result{}, fail
	}
	if bodyID, ok := p["client_id"]; ok && bodyID != id {
		a.warn(ctx, r, id, "client_id differs from the assertion's sub")
		return Result{}, fail
	}
	c, oerr := a.client(ctx, id)
	if oerr != nil {
		return Result{}, oerr
	}
	if c == nil || c.Disabled {
		a.warn(ctx, r, id, "no such client, or disabled")
		return Result{}, fail
	}
	if c.Type != store.Confidential || c.TokenEndpointAuthMethod != store.AuthPrivateKeyJWT {
		a.warn(ctx, r, id, "the client does not authenticate with private_key_jwt")
		return Result{}, fail
	}
	if reason := a.checkClaims(r, jws.Signatures[0].Protected, claims); reason != "" {
		a.warn(ctx, r, id, reason)
		return Result{}, fail
	}
	if !verify(raw, jws, a.keys(c), jws.Signatures[0].Protected) {
		a.warn(ctx, r, id, "the signature matches none of the client's registered keys")
		return Result{}, fail
	}
	// Single use (RFC 7523 section 3 item 7), recorded only for an
	// assertion whose signature holds, so nobody else can spend a
	// client's jti.
	fresh, err := a.replay().Use(ctx, assertionKey(id, claims.ID), claims.Expiry.Time())
	if err != nil {
		if a.OnStoreError != nil {
			a.OnStoreError(ctx, err)
		}
		return Result{}, &oauth.Error{Code: oauth.ServerError, Description: "the client assertion could not be checked; try again", Status: http.StatusServiceUnavailable}
	}
	if !fresh {
		a.warn(ctx, r, id, "client assertion replayed (its jti was used before)")
		return Result{}, fail
	}
	return Result{Client: *c, Method: store.AuthPrivateKeyJWT}, nil
}

// checkClaims applies RFC 7523 section 3's checks that need no key, and
// returns why the assertion fails them, or "".
func (a *Authenticator) checkClaims(r *http.Request, h jose.Header, c assertionClaims) string {
	// An assertion is not a DPoP proof, an access token or an ID token:
	// its typ, when set, says so (draft-ietf-oauth-rfc7523bis section 4).
	if v, present := h.ExtraHeaders[jose.HeaderType]; present {
		typ, _ := v.(string)
		switch strings.TrimPrefix(strings.ToLower(typ), "application/") {
		case "jwt", "client-authentication+jwt":
		default:
			return "typ must be JWT or client-authentication+jwt"
		}
	}
	if !a.audienceOK(r, c.Audience) {
		return "aud names neither the issuer nor this endpoint"
	}
	now := a.now()
	switch {
	case c.Expiry == nil:
		return "exp is missing"
	case !now.Before(c.Expiry.Time()):
		return "the assertion has expired"
	case c.Expiry.Time().Sub(now) > MaxAssertionLifetime:
		return "exp is more than 5 minutes ahead"
	case c.NotBefore != nil && c.NotBefore.Time().Sub(now) > MaxFutureSkew:
		return "nbf is more than 10 seconds in the future"
	case c.IssuedAt != nil && c.IssuedAt.Time().Sub(now) > MaxFutureSkew:
		return "iat is more than 10 seconds in the future"
	case c.ID == "" || len(c.ID) > maxJTISize:
		return "jti is missing or too long"
	}
	return ""
}

// audienceOK applies RFC 7523 section 3 item 3: the assertion names this
// server. Its issuer identifier is the one audience every client should
// send (it cannot be confused with another server's endpoint); the token
// and PAR endpoint URLs (Audiences) and the URL of the endpoint being
// called are accepted too, as RFC 7523 allows and older clients send.
func (a *Authenticator) audienceOK(r *http.Request, aud jwt.Audience) bool {
	called := strings.TrimSuffix(a.Issuer, "/") + r.URL.Path
	for _, v := range aud {
		if v == "" {
			continue
		}
		if v == a.Issuer || v == called || slices.Contains(a.Audiences, v) {
			return true
		}
	}
	return false
}

// verify reports whether the signature holds under one of keys: the one
// the header's kid names, or, without a kid, any registered key of the
// header's algorithm.
func verify(raw string, jws *jose.JSONWebSignature, keys []jose.JSONWebKey, h jose.Header) bool {
	alg := h.Algorithm
	if alg == string(algEd25519) {
		alg = string(jose.EdDSA)
	}
	for _, k := range keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg && k.Algorithm != h.Algorithm {
			continue
		}
		if !fits(k.Key, alg) {
			continue
		}
		if h.Algorithm == string(algEd25519) {
			// go-jose knows the algorithm as EdDSA only: the signature
			// over the compact serialization's first two parts (RFC 7515
			// section 5.2), checked directly.
			i := strings.LastIndexByte(raw, '.')
			sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
			if err == nil && ed25519.Verify(k.Key.(ed25519.PublicKey), []byte(raw[:i]), sig) {
				return true
			}
			continue
		}
		if _, err := jws.Verify(k.Key); err == nil {
			return true
		}
	}
	return false
}

// fits reports whether key is of the kind alg signs with (RFC 7518
// section 3.4 and 3.5, RFC 8037 section 3.1): a key of another kind is
// never tried, whatever the header says.
func fits(key any, alg string) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return alg == string(jose.ES256) && k.Curve == elliptic.P256()
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	case *rsa.PublicKey:
		return alg == string(jose.PS256)
	}
	return false
}

// assertionKey is the replay cache key of a client's jti: hashed to a
// fixed length, and prefixed so that it cannot equal the key of a DPoP
// proof (an unprefixed base64url hash) in the cache they share.
func assertionKey(clientID, jti string) string {
	sum := sha256.Sum256([]byte(clientID + "\x00" + jti))
	return "client_assertion:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// keys returns c's registered keys, parsed once per JWKS: parsing an RSA
// key costs more than checking a signature with it.
func (a *Authenticator) keys(c *store.Client) []jose.JSONWebKey {
	a.cache.mu.Lock()
	cached, ok := a.cache.m[c.ID]
	a.cache.mu.Unlock()
	if ok && cached.raw == c.JWKS {
		return cached.keys
	}
	// The registry validated the set when it was registered; a set that no
	// longer parses (stored by hand) matches no assertion.
	keys, _ := registry.ClientKeys(c.JWKS)
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	if a.cache.m == nil || len(a.cache.m) >= maxCachedJWKS {
		a.cache.m = make(map[string]cachedKeys)
	}
	a.cache.m[c.ID] = cachedKeys{raw: c.JWKS, keys: keys}
	return keys
}

// keyCache holds parsed JWK Sets by client id, each with the text it was
// parsed from, so an edit of the client's JWKS is seen at once.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKeys
}

type cachedKeys struct {
	raw  string
	keys []jose.JSONWebKey
}
