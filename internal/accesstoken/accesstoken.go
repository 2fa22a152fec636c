package accesstoken

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/keys"
)

var (
	// ErrInvalid: the string is not an access token this server issued
	// (malformed, wrong algorithm or type, unknown key, bad signature,
	// another issuer or audience).
	ErrInvalid = errors.New("accesstoken: invalid token")
	// ErrExpired: a genuine token whose lifetime is over. It is reported
	// only after the signature has been verified.
	ErrExpired = errors.New("accesstoken: token expired")
)

// DefaultTTL is the access-token lifetime when Minter.TTL is zero
// (DESIGN.md section 4).
const DefaultTTL = 15 * time.Minute

// Leeway is the clock skew tolerated when checking exp and iat, so that
// instances whose clocks differ slightly agree on a token.
const Leeway = 30 * time.Second

// maxLen bounds the input Parse will look at; real tokens are under 1 KiB.
const maxLen = 8 << 10

// Claims are the JWT claims of an access token (RFC 9068 section 2.2).
// Times are seconds since the Unix epoch.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"` // user id, or the client id for client_credentials
	Audience  string   `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"` // space-separated (RFC 9068 section 2.2.3)
	AuthTime  int64    `json:"auth_time,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	GrantID   string   `json:"grant_id,omitempty"`
}

// Expiry returns exp as a time.
func (c Claims) Expiry() time.Time { return time.Unix(c.ExpiresAt, 0) }

// Minter issues and checks access tokens for one issuer and audience.
type Minter struct {
	Keys     *keys.Keyring
	Issuer   string
	Audience string
	TTL      time.Duration    // DefaultTTL when zero
	Now      func() time.Time // time.Now when nil
}

func (m *Minter) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Minter) ttl() time.Duration {
	if m.TTL <= 0 {
		return DefaultTTL
	}
	return m.TTL
}

// Mint sets iss, aud, iat, exp and a fresh jti on c, signs it and returns
// the token with the claims it carries. The caller fills sub, client_id,
// scope and, for user grants, auth_time, amr and grant_id.
func (m *Minter) Mint(c Claims) (string, Claims, error) {
	now := m.now()
	c.Issuer = m.Issuer
	c.Audience = m.Audience
	c.IssuedAt = now.Unix()
	c.ExpiresAt = now.Add(m.ttl()).Unix()
	c.ID = newJTI()
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, fmt.Errorf("accesstoken: encode claims: %w", err)
	}
	tok, err := m.Keys.Sign(payload)
	if err != nil {
		return "", Claims{}, err
	}
	return tok, c, nil
}

// newJTI returns 128 random bits: unique enough to key the revocation list.
func newJTI() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Parse verifies token and returns its claims. It fails with an error
// wrapping ErrInvalid or ErrExpired. It does not consult the revocation list
// or the grant; introspection does that with the jti and grant_id.
func (m *Minter) Parse(token string) (Claims, error) {
	if len(token) > maxLen {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxLen)
	}
	// The allow-list stops "none" and HS256 (RFC 8725 section 3.1).
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(jws.Signatures) != 1 {
		return Claims{}, fmt.Errorf("%w: want one signature", ErrInvalid)
	}
	h := jws.Signatures[0].Protected
	// RFC 9068 section 4: reject tokens whose typ is not at+jwt, so an ID
	// token or other JWT signed by the same key is not taken for one.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !isATJWT(typ) {
		return Claims{}, fmt.Errorf("%w: typ %q, want at+jwt", ErrInvalid, typ)
	}
	pub, ok := m.Keys.PublicKey(h.KeyID)
	if !ok {
		return Claims{}, fmt.Errorf("%w: unknown signing key %q", ErrInvalid, h.KeyID)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	switch {
	case c.Issuer != m.Issuer:
		return Claims{}, fmt.Errorf("%w: issuer %q", ErrInvalid, c.Issuer)
	case c.Audience != m.Audience:
		return Claims{}, fmt.Errorf("%w: audience %q", ErrInvalid, c.Audience)
	case c.ExpiresAt == 0 || c.ID == "":
		return Claims{}, fmt.Errorf("%w: exp or jti missing", ErrInvalid)
	}
	now := m.now()
	if now.Add(Leeway).Before(time.Unix(c.IssuedAt, 0)) {
		return Claims{}, fmt.Errorf("%w: issued in the future", ErrInvalid)
	}
	if !now.Add(-Leeway).Before(c.Expiry()) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// isATJWT accepts "at+jwt" and its full media type, case-insensitively
// (RFC 9068 section 2.1, RFC 7515 section 4.1.9).
func isATJWT(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}
