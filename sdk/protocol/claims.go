package protocol

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Claims are the claims of an Aries access token, a JWT per RFC 9068
// section 2.2. The server mints them and package bearer verifies them; both
// go through this type and its JSON encoding, so a claim is named in one
// place.
//
// The JSON form is the JWT claims set: times are NumericDates (RFC 7519
// section 2), Scopes travel as the space-separated "scope" (RFC 9068
// section 2.2.3, RFC 8693 section 4.2), and "aud" is a string when there is
// one audience and an array otherwise (RFC 7519 section 4.1.3).
type Claims struct {
	Issuer    string
	Subject   string // the user id, or the client id for client_credentials
	Audience  []string
	ClientID  string
	Scopes    []string
	AuthTime  time.Time // zero when the token has no user sign-in
	AMR       []string  // authentication methods, e.g. "pwd", "otp"
	JTI       string
	GrantID   string    // the grant the token was issued under, when present
	Expiry    time.Time // zero when the token has none (never valid)
	IssuedAt  time.Time
	NotBefore time.Time // zero when absent; Aries does not set it
	// Confirmation binds the token to the key of a DPoP proof (RFC 9449
	// section 6.1, claim "cnf"); its zero value is a bearer token.
	Confirmation Confirmation
}

// Confirmation is the "cnf" claim (RFC 7800 section 3.1) of a DPoP-bound
// token: JKT is the RFC 7638 SHA-256 thumbprint, base64url-encoded, of the
// public key every DPoP proof presented with the token must be signed by
// (RFC 9449 section 6.1).
type Confirmation struct {
	JKT string `json:"jkt,omitempty"`
}

// Bound reports whether the token is bound to a DPoP key: such a token is
// accepted only with the DPoP scheme and a proof by that key, never as a
// bearer token (RFC 9449 section 7.1).
func (c *Claims) Bound() bool { return c.Confirmation.JKT != "" }

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

// claimsJSON is the claims set on the wire. The fields are in the order the
// server has always written them; the four RFC 9068 section 2.2 requires
// besides the times (iss, sub, jti, client_id) and scope are written even
// when empty.
type claimsJSON struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  Audience      `json:"aud,omitempty"`
	Expiry    *numericDate  `json:"exp,omitempty"`
	NotBefore *numericDate  `json:"nbf,omitempty"`
	IssuedAt  *numericDate  `json:"iat,omitempty"`
	JTI       string        `json:"jti"`
	ClientID  string        `json:"client_id"`
	Scope     string        `json:"scope"`
	AuthTime  *numericDate  `json:"auth_time,omitempty"`
	AMR       []string      `json:"amr,omitempty"`
	GrantID   string        `json:"grant_id,omitempty"`
	Cnf       *Confirmation `json:"cnf,omitempty"`
}

// MarshalJSON writes the JWT claims set. Times are whole seconds; a zero
// time leaves its claim out.
func (c Claims) MarshalJSON() ([]byte, error) {
	return json.Marshal(claimsJSON{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		Expiry:    dateOf(c.Expiry),
		NotBefore: dateOf(c.NotBefore),
		IssuedAt:  dateOf(c.IssuedAt),
		JTI:       c.JTI,
		ClientID:  c.ClientID,
		Scope:     strings.Join(c.Scopes, " "),
		AuthTime:  dateOf(c.AuthTime),
		AMR:       c.AMR,
		GrantID:   c.GrantID,
		Cnf:       confirmationOf(c.Confirmation),
	})
}

// confirmationOf leaves "cnf" out of a bearer token's claims.
func confirmationOf(c Confirmation) *Confirmation {
	if c == (Confirmation{}) {
		return nil
	}
	return &c
}

// UnmarshalJSON reads a JWT claims set. It fails on a claim of the wrong
// JSON type; a missing time is a zero time. Claims it does not know are
// ignored (RFC 7519 section 4).
func (c *Claims) UnmarshalJSON(b []byte) error {
	var w claimsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var cnf Confirmation
	if w.Cnf != nil {
		cnf = *w.Cnf
	}
	*c = Claims{
		Issuer:       w.Issuer,
		Subject:      w.Subject,
		Audience:     []string(w.Audience),
		ClientID:     w.ClientID,
		Scopes:       strings.Fields(w.Scope),
		AuthTime:     w.AuthTime.time(),
		AMR:          w.AMR,
		JTI:          w.JTI,
		GrantID:      w.GrantID,
		Expiry:       w.Expiry.time(),
		IssuedAt:     w.IssuedAt.time(),
		NotBefore:    w.NotBefore.time(),
		Confirmation: cnf,
	}
	return nil
}

// Audience is an "aud" value (RFC 7519 section 4.1.3): a single string on
// the wire when it has one member, an array otherwise.
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

var errAudience = errors.New(`protocol: "aud" must be a string or an array of strings`)

// UnmarshalJSON reads a string or an array of strings; anything else,
// null included, is an error.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*a = Audience{v}
	case []any:
		list := make(Audience, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return errAudience
			}
			list[i] = s
		}
		*a = list
	default:
		return errAudience
	}
	return nil
}

// numericDate is seconds since the epoch (RFC 7519 section 2). A JSON
// number with a fraction is accepted and truncated.
type numericDate int64

// maxNumericDate bounds an accepted date: far past any real time, and far
// enough below the overflow of time.Unix that no value wraps around into
// the past (which would let a not-yet-valid token pass its nbf).
const maxNumericDate = 1 << 62

var errNumericDate = errors.New("protocol: a JWT date must be a number of seconds")

func (n numericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(n), 10), nil
}

func (n *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f >= maxNumericDate || f <= -maxNumericDate {
		return errNumericDate
	}
	*n = numericDate(f)
	return nil
}

// time is the date as a time.Time; a nil date (claim absent or null) is the
// zero time.
func (n *numericDate) time() time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(int64(*n), 0)
}

func dateOf(t time.Time) *numericDate {
	if t.IsZero() {
		return nil
	}
	n := numericDate(t.Unix())
	return &n
}
