package bearer

import (
	"context"
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
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults of Config.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultRealm              = "aries"
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
}

// Claims are the verified claims of an access token (RFC 9068 section 2.2).
type Claims struct {
	Issuer   string
	Subject  string // the user id, or the client id for client_credentials
	Audience []string
	ClientID string
	Scopes   []string
	AuthTime time.Time // zero when the token has no user sign-in
	AMR      []string  // authentication methods, e.g. "pwd", "otp"
	JTI      string
	GrantID  string // the grant the token was issued under, when present
	Expiry   time.Time
	IssuedAt time.Time
}

// HasScope reports whether the token carries scope s. Scope names are
// case-sensitive (RFC 6749 section 3.3).
func (c *Claims) HasScope(s string) bool {
	return slices.Contains(c.Scopes, s)
}

// UserID returns the user the token acts for, or "" when a client acts as
// itself (client_credentials): Aries then sets "sub" to the client id.
func (c *Claims) UserID() string {
	if c.Subject == c.ClientID {
		return ""
	}
	return c.Subject
}

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
	return v, nil
}

// privateClaims are the claims of RFC 9068 and Aries beyond RFC 7519's.
type privateClaims struct {
	ClientID string           `json:"client_id"`
	Scope    string           `json:"scope"`
	AuthTime *jwt.NumericDate `json:"auth_time"`
	AMR      []string         `json:"amr"`
	GrantID  string           `json:"grant_id"`
}

// Verify checks rawToken as RFC 9068 section 4 requires and returns its
// claims. Errors match ErrInvalidToken (the token's fault, with an
// *InvalidTokenError saying why), ErrKeySetUnavailable, or come from
// Config.Revoked.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*Claims, error) {
	if rawToken == "" {
		return nil, invalid("no access token")
	}
	if len(rawToken) > maxTokenSize {
		return nil, invalid("access token too large")
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
	// 14% of the API's CPU under load (BENCHMARKS.md).
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, invalid("bad signature")
	}
	var claims struct {
		jwt.Claims
		privateClaims
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, invalid("malformed claims")
	}
	std, priv := claims.Claims, claims.privateClaims

	now := v.cfg.Now()
	leeway := v.cfg.Leeway
	switch {
	case std.Issuer != v.cfg.Issuer:
		return nil, invalid("wrong issuer")
	case !std.Audience.Contains(v.cfg.Audience):
		return nil, invalid("wrong audience")
	case std.Expiry == nil:
		return nil, invalid("token has no expiry")
	// RFC 7519 section 4.1.4: the current time must be before exp.
	case !now.Before(std.Expiry.Time().Add(leeway)):
		return nil, invalid("token expired")
	case std.NotBefore != nil && now.Add(leeway).Before(std.NotBefore.Time()):
		return nil, invalid("token not valid yet")
	// RFC 9068 section 2.2 requires iat, sub, client_id and jti.
	case std.IssuedAt == nil:
		return nil, invalid("token has no issue time")
	case now.Add(leeway).Before(std.IssuedAt.Time()):
		return nil, invalid("token issued in the future")
	case std.Subject == "" || priv.ClientID == "" || std.ID == "":
		return nil, invalid("token lacks sub, client_id or jti")
	}

	c := &Claims{
		Issuer:   std.Issuer,
		Subject:  std.Subject,
		Audience: []string(std.Audience),
		ClientID: priv.ClientID,
		Scopes:   strings.Fields(priv.Scope),
		AuthTime: priv.AuthTime.Time(),
		AMR:      priv.AMR,
		JTI:      std.ID,
		GrantID:  priv.GrantID,
		Expiry:   std.Expiry.Time(),
		IssuedAt: std.IssuedAt.Time(),
	}
	if v.cfg.Revoked != nil {
		revoked, err := v.cfg.Revoked(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("bearer: revocation check: %w", err)
		}
		if revoked {
			return nil, invalid("token revoked")
		}
	}
	return c, nil
}

// isAccessTokenType reports whether typ names the media type
// application/at+jwt, which the header may shorten to at+jwt (RFC 7515
// section 4.1.9); media types compare case-insensitively.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}
