package store

import "time"

// The decisions around single use, written once: each backend reads the
// row in its own SQL and lets these functions decide. Times compare at the
// millisecond, the precision both backends store.

// CodeState is what a backend read of a code its redeeming UPDATE did not
// match.
type CodeState struct {
	GrantID   string
	UserID    string
	Used      bool
	ExpiresAt time.Time
}

// WhyNotRedeemed says why the code cannot be redeemed at now, and whether
// its grant must be revoked: a code used twice revokes every token the
// first use issued (RFC 6749 section 4.1.2, RFC 9700 section 4.5).
func WhyNotRedeemed(c CodeState, now time.Time) (revoke bool, err error) {
	switch {
	case c.Used:
		return true, &ReuseError{Err: ErrCodeReused, GrantID: c.GrantID, UserID: c.UserID}
	case expired(c.ExpiresAt, now):
		return false, ErrNotFound
	default:
		// Live and unused, so the UPDATE failed on the grant.
		return false, ErrRevoked
	}
}

// RefreshState is what a backend read of a refresh token its rotating
// UPDATE did not match.
type RefreshState struct {
	GrantID   string
	ClientID  string // the client the token was issued to
	UserID    string // the grant's user
	Used      bool
	ExpiresAt time.Time
	DPoPJKT   string // the key the token is bound to, "" for none
}

// WhyNotRotated says why the token cannot be rotated by clientID proving
// the DPoP key jkt ("" for none) at now, and whether its grant must be
// revoked: a rotated token presented again means two parties hold the
// family, so all of it dies (RFC 9700 section 4.14.2). Another client's
// token is not this caller's to consume or revoke, and neither is a token
// bound to a key the caller did not prove (RFC 9449 section 5): a thief
// holding a copy of a spent bound token cannot revoke the family with it.
func WhyNotRotated(t RefreshState, clientID, jkt string, now time.Time) (revoke bool, err error) {
	switch {
	case t.ClientID != clientID:
		return false, ErrNotFound
	case !DPoPKeyFits(t.DPoPJKT, jkt):
		return false, ErrDPoPKeyMismatch
	case t.Used:
		return true, &ReuseError{Err: ErrRefreshReplayed, GrantID: t.GrantID, UserID: t.UserID}
	case expired(t.ExpiresAt, now):
		return false, ErrNotFound
	default:
		return false, ErrRevoked
	}
}

// RefreshTokenUsable says whether a refresh token and its grant can still
// be used at now: ErrNotFound for a rotated or expired token, ErrRevoked
// for a revoked or expired grant.
func RefreshTokenUsable(t RefreshToken, g Grant, now time.Time) error {
	switch {
	case !t.UsedAt.IsZero() || expired(t.ExpiresAt, now):
		return ErrNotFound
	case !g.RevokedAt.IsZero() || expired(g.ExpiresAt, now):
		return ErrRevoked
	}
	return nil
}

// expired reports whether a row with expiry at is dead at now.
func expired(at, now time.Time) bool {
	return !at.After(now.Truncate(time.Millisecond))
}

// DPoPKeyFits reports whether a refresh token bound to bound ("" for an
// unbound token) may be rotated by a request proving the key jkt ("" for
// none): a bound token only with its own key (RFC 9449 section 5); an
// unbound one by anyone its client is.
func DPoPKeyFits(bound, jkt string) bool {
	return bound == "" || bound == jkt
}
