package accesstoken

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// DefaultTTL is the access-token lifetime when Minter.TTL is zero
// (docs/protocol.md#lifetimes).
const DefaultTTL = 15 * time.Minute

// Minter issues access tokens for one issuer and audience. Tokens are
// checked by package bearer (sdk/bearer), the one validator of the server
// and of every resource server.
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
// the token with the claims it carries (iat and exp in whole seconds, as a
// verifier reads them back). The caller fills sub, client_id, scope and, for
// user grants, auth_time, amr and grant_id.
func (m *Minter) Mint(c protocol.Claims) (string, protocol.Claims, error) {
	now := m.now()
	c.Issuer = m.Issuer
	c.Audience = []string{m.Audience}
	c.IssuedAt = time.Unix(now.Unix(), 0)
	c.Expiry = time.Unix(now.Add(m.ttl()).Unix(), 0)
	c.JTI = newJTI()
	// The same bytes as json.Marshal(c), which would call MarshalJSON and
	// then scan and copy its output to validate and compact it: the output
	// of json.Marshal inside MarshalJSON is compact and escaped already.
	payload, err := c.MarshalJSON()
	if err != nil {
		return "", protocol.Claims{}, fmt.Errorf("accesstoken: encode claims: %w", err)
	}
	tok, err := m.Keys.Sign(payload)
	if err != nil {
		return "", protocol.Claims{}, err
	}
	return tok, c, nil
}

// newJTI returns 128 random bits: unique enough to key the revocation list.
func newJTI() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
