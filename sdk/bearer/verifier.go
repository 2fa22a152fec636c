package bearer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Defaults of Config.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultRealm              = "aries"
	DefaultVerifiedCacheSize  = 1024
)

// maxTokenSize bounds the work spent on a token before its signature is
// checked. Aries tokens are well under 1 KiB.
const maxTokenSize = 8 << 10

// Config configures a Verifier. Issuer, Audience and one of JWKSURL and
// KeySet are required.
type Config struct {
	// JWKSURL is the authorization server's key set, for example
	// https://auth.example.com/.well-known/jwks.json.
	JWKSURL string
	// KeySet, when set, replaces fetching JWKSURL: it returns the JWKS
	// document (RFC 7517 section 5) itself. A service running inside the
	// authorization server's process uses it to read the keys without a
	// network call to itself. It is called exactly when a fetch would be,
	// with the same caching and the same bound on refetches.
	KeySet func(ctx context.Context) ([]byte, error)
	// Issuer must equal the token's "iss" exactly.
	Issuer string
	// Audience must be one of the token's "aud" values: the identifier
	// of the API this service is part of.
	Audience string
	// Algorithms are the accepted JWS "alg" values; empty means ES256 only.
	// Only asymmetric algorithms may be listed.
	Algorithms []string
	// HTTPClient fetches the JWKS; nil means http.DefaultClient. Each fetch
	// is bounded to 10 seconds.
	HTTPClient *http.Client
	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// DefaultLeeway; a negative value means none.
	Leeway time.Duration
	// RefreshInterval is the age after which the cached JWKS is refreshed
	// in the background (zero: DefaultRefreshInterval).
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches (zero:
	// DefaultMinRefreshInterval). A token naming an unknown key within it
	// of the last fetch is refused without a fetch.
	MinRefreshInterval time.Duration
	// Revoked, when set, is asked about every token that passed every other
	// check; true refuses it as invalid_token, an error answers 503 (the
	// check fails closed). Without it, a revoked access token is accepted
	// until it expires.
	Revoked func(ctx context.Context, c *Claims) (bool, error)
	// Realm is the realm of the WWW-Authenticate challenge (empty:
	// DefaultRealm).
	Realm string
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger receives JWKS and revocation-check failures; nil means
	// slog.Default().
	Logger *slog.Logger
	// VerifiedCacheSize bounds how many verified tokens Verify remembers,
	// keyed by their SHA-256, so that a token presented again skips the
	// signature check; the times, the key's presence in the JWKS and
	// Revoked are still checked on every call. Zero means
	// DefaultVerifiedCacheSize; a negative value turns the cache off.
	VerifiedCacheSize int
	// DPoP configures the DPoP scheme (RFC 9449 section 7), accepted
	// beside Bearer by Require and VerifyRequest. Its zero value accepts
	// proofs of dpop.DefaultAlgorithms, remembers them in this process's
	// memory and takes the request's URL from the request itself.
	DPoP DPoPConfig
}

// Claims are the verified claims of an access token (RFC 9068 section 2.2).
// The type is protocol.Claims, the one the server mints; it is named here
// so that a handler behind Require needs no other import.
type Claims = protocol.Claims

// ErrInvalidToken matches (with errors.Is) every error of Verify that is the
// token's fault: the caller should answer 401 invalid_token.
var ErrInvalidToken = errors.New("bearer: invalid token")

// ErrKeySetUnavailable matches the errors of Verify when the JWKS could not
// be fetched: the token may be fine, the caller should answer 503.
var ErrKeySetUnavailable = errors.New("bearer: JWKS unavailable")

// InvalidTokenError says why a token was refused. Reason is fixed text,
// safe to send to the client as error_description; it never quotes the token.
type InvalidTokenError struct {
	Reason string
}

func (e *InvalidTokenError) Error() string { return "bearer: invalid token: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidToken) true.
func (e *InvalidTokenError) Is(target error) bool { return target == ErrInvalidToken }

func invalid(reason string) error { return &InvalidTokenError{Reason: reason} }

// asymmetric lists the algorithms Config.Algorithms may name.
var asymmetric = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// Verifier verifies Aries access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	algs []jose.SignatureAlgorithm

	// keys is the cached key set; nil until the first successful fetch.
	keys atomic.Pointer[keySet]
	// refreshing is true while a background refresh runs.
	refreshing atomic.Bool

	// fetchMu serialises fetches and guards the fields below.
	fetchMu     sync.Mutex
	lastAttempt time.Time
	lastErr     error

	// proofs checks the DPoP proofs of VerifyRequest (dpop.go).
	proofs *dpop.Verifier

	// verified remembers the tokens Verify accepted (cache.go); nil when
	// Config.VerifiedCacheSize turns it off.
	verified *verifiedCache
}

// NewVerifier checks cfg and returns a Verifier. It does not fetch the
// JWKS: the first token does, so a service may start before the
// authorization server (as the sandbox in `aries serve` does). Call Refresh
// to fetch eagerly.
func NewVerifier(cfg Config) (*Verifier, error) {
	if (cfg.JWKSURL == "" && cfg.KeySet == nil) || cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("bearer: Config needs JWKSURL or KeySet, Issuer and Audience")
	}
	v := &Verifier{cfg: cfg}
	if len(cfg.Algorithms) == 0 {
		v.algs = []jose.SignatureAlgorithm{jose.ES256}
	}
	for _, a := range cfg.Algorithms {
		alg := jose.SignatureAlgorithm(a)
		if !slices.Contains(asymmetric, alg) {
			return nil, fmt.Errorf("bearer: algorithm %q is not an accepted asymmetric signature algorithm", a)
		}
		v.algs = append(v.algs, alg)
	}
	switch {
	case cfg.Leeway == 0:
		v.cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		v.cfg.Leeway = 0
	}
	if cfg.RefreshInterval <= 0 {
		v.cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.MinRefreshInterval <= 0 {
		v.cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.HTTPClient == nil {
		v.cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Realm == "" {
		v.cfg.Realm = DefaultRealm
	}
	if cfg.Now == nil {
		v.cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		v.cfg.Logger = slog.Default()
	}
	proofs, err := dpop.NewVerifier(dpop.Config{
		Algorithms: cfg.DPoP.Algorithms, Window: cfg.DPoP.Window,
		Replay: cfg.DPoP.Replay, Nonces: cfg.DPoP.Nonces, Now: v.cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("bearer: DPoP: %w", err)
	}
	v.proofs = proofs
	switch {
	case cfg.VerifiedCacheSize == 0:
		v.verified = newVerifiedCache(DefaultVerifiedCacheSize)
	case cfg.VerifiedCacheSize > 0:
		v.verified = newVerifiedCache(cfg.VerifiedCacheSize)
	}
	return v, nil
}

// Verify checks rawToken as RFC 9068 section 4 requires and returns its
// claims. Errors match ErrInvalidToken (the token's fault, with an
// *InvalidTokenError saying why), ErrKeySetUnavailable, or come from
// Config.Revoked.
//
// Verify checks the token alone, not how it was presented: a token bound
// to a DPoP key (Claims.Bound) passes it. A resource server checks a
// request with VerifyRequest (or Require), which also asks for the proof
// such a token needs.
//
// A token Verify accepted before (Config.VerifiedCacheSize) skips the
// signature check while the key that verified it is still in the JWKS;
// its times and Config.Revoked are checked on every call.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*Claims, error) {
	if rawToken == "" {
		return nil, invalid("no access token")
	}
	if len(rawToken) > maxTokenSize {
		return nil, invalid("access token too large")
	}
	var sum [sha256.Size]byte
	if v.verified != nil {
		sum = sha256.Sum256([]byte(rawToken))
		if c, ok := v.cachedClaims(sum); ok {
			if err := v.checkClaims(c, v.cfg.Now()); err != nil {
				return nil, err
			}
			if err := v.checkRevoked(ctx, c); err != nil {
				return nil, err
			}
			return c, nil
		}
	}

	// ParseSignedCompact refuses any alg outside the allow-list, "none"
	// included, and any serialization but the compact one of a JWT.
	jws, err := jose.ParseSignedCompact(rawToken, v.algs)
	if err != nil {
		return nil, invalid("malformed token or unaccepted signature algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("token must have exactly one signature")
	}
	h := jws.Signatures[0].Header
	// RFC 9068 section 4: typ must be at+jwt, so that an ID token or any
	// other JWT signed by the same key cannot pass as an access token.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
		return nil, invalid(`token type is not "at+jwt"`)
	}
	if h.KeyID == "" {
		return nil, invalid("token names no signing key")
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, invalid("token algorithm does not match its key")
	}

	// Verify, then decode the payload once with encoding/json: go-jose's
	// own claim decoding parses it twice with a slower decoder, which was
	// 14% of the API's CPU under load in the profile that led to this (the
	// August 2026 version of BENCHMARKS.md, in the repository's history).
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, invalid("bad signature")
	}
	c := new(Claims)
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, invalid("malformed claims")
	}
	now := v.cfg.Now()
	if err := v.checkClaims(c, now); err != nil {
		return nil, err
	}
	var keep *Claims
	if v.verified != nil {
		// Copied before Revoked sees c, remembered only once it passed.
		keep = cloneClaims(c)
	}
	if err := v.checkRevoked(ctx, c); err != nil {
		return nil, err
	}
	if keep != nil {
		v.verified.put(sum, verifiedToken{claims: *keep, key: key}, now, v.cfg.Leeway)
	}
	return c, nil
}

// checkClaims checks the claims of a token whose signature is good, at
// now. Both paths of Verify use it, the one through the signature and the
// one through the cache of verified tokens, so that a remembered token is
// held to exactly the checks a new one is.
func (v *Verifier) checkClaims(c *Claims, now time.Time) error {
	leeway := v.cfg.Leeway
	switch {
	case c.Issuer != v.cfg.Issuer:
		return invalid("wrong issuer")
	case !slices.Contains(c.Audience, v.cfg.Audience):
		return invalid("wrong audience")
	case c.Expiry.IsZero():
		return invalid("token has no expiry")
	// RFC 7519 section 4.1.4: the current time must be before exp.
	case expired(c, now, leeway):
		return invalid("token expired")
	// RFC 7519 section 4.1.5: not before nbf, when the token has one.
	case !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore):
		return invalid("token not valid yet")
	// RFC 9068 section 2.2 requires iat, sub, client_id and jti.
	case c.IssuedAt.IsZero():
		return invalid("token has no issue time")
	case now.Add(leeway).Before(c.IssuedAt):
		return invalid("token issued in the future")
	case c.Subject == "" || c.ClientID == "" || c.JTI == "":
		return invalid("token lacks sub, client_id or jti")
	}
	return nil
}

// expired reports whether now is past c's exp, leeway included (RFC 7519
// section 4.1.4). The cache of verified tokens drops entries with it.
func expired(c *Claims, now time.Time, leeway time.Duration) bool {
	return !now.Before(c.Expiry.Add(leeway))
}

// checkRevoked asks Config.Revoked about c, on every call of Verify.
func (v *Verifier) checkRevoked(ctx context.Context, c *Claims) error {
	if v.cfg.Revoked == nil {
		return nil
	}
	revoked, err := v.cfg.Revoked(ctx, c)
	if err != nil {
		return fmt.Errorf("bearer: revocation check: %w", err)
	}
	if revoked {
		return invalid("token revoked")
	}
	return nil
}

// isAccessTokenType reports whether typ names the media type
// application/at+jwt, which the header may shorten to at+jwt (RFC 7515
// section 4.1.9); media types compare case-insensitively.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}
