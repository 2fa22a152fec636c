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

// RefreshState is what a backend read of a refresh token its UPDATE did not
// match: the token, its grant and, once it was rotated, the token it was
// rotated into.
type RefreshState struct {
	GrantID   string
	ClientID  string // the client the token was issued to
	UserID    string // the grant's user
	Used      bool
	UsedAt    time.Time // when it was rotated; zero until then
	ExpiresAt time.Time
	DPoPJKT   string // the key the token is bound to, "" for none

	// GraceUntil and Sealed are the grace copy of the child (RefreshUse):
	// zero and nil when none is kept.
	GraceUntil time.Time
	Sealed     []byte
	// Child is the token this one was rotated into.
	Child ChildState

	GrantRevokedAt time.Time // zero while the grant is live
	GrantExpiresAt time.Time
}

// ChildState is the token a refresh token was rotated into, as a backend
// read it.
type ChildState struct {
	Found     bool
	Used      bool
	ExpiresAt time.Time
	DPoPJKT   string
}

// NotRotated is what a backend does with a refresh token its UPDATE did not
// match (WhyNotRotated).
type NotRotated struct {
	// Grace: answer with the child sealed on the row (RefreshGrace); Err
	// is nil.
	Grace bool
	// Revoke the grant: the token was replayed.
	Revoke bool
	// Wipe the grace copy of the child: its window is over, or its family
	// is dead, and a row that cannot be used must not keep a token.
	Wipe bool
	Err  error
}

// WhyNotRotated says what to do with the refresh token t that the use u
// (whose policy is u.Rotation and u.Grace) could not consume at now.
//
// Another client's token is not this caller's to consume or revoke, and
// neither is a token bound to a key the caller did not prove (RFC 9449
// section 5): a thief holding a copy of a spent bound token cannot revoke
// the family with it. A rotated token presented again means two parties
// hold the family, so all of it dies (RFC 9700 section 4.14.2), with one
// exception: within the client's grace window (RefreshUse.Grace) the
// same client, proving the same key as the use that rotated it, gets the
// child that use got, so that two threads of one app refreshing at once
// both end up holding the live token (docs/fapi.md#refresh-token-policy).
//
// The child must still be unused and live. Once the child has itself been
// rotated, a retry of the parent is a replay even inside the window:
// handing out a spent child would help no honest client (its next use would
// be a replay that revokes the family anyway), and a family used from two
// places is what rotation exists to detect, so it is revoked now rather
// than one request later. The retry must also prove the key the child is bound to
// (for an unbound child: no key), so a retry is indistinguishable from the
// use it repeats; anything else is a second party, a replay.
func WhyNotRotated(t RefreshState, u RefreshUse, now time.Time) NotRotated {
	jkt := u.Next.DPoPJKT
	switch {
	case t.ClientID != u.ClientID:
		return NotRotated{Err: ErrNotFound}
	case !DPoPKeyFits(t.DPoPJKT, jkt):
		return NotRotated{Err: ErrDPoPKeyMismatch}
	case t.Used:
		windowOver := !InGrace(t, u.Grace, now)
		grantDead := !t.GrantRevokedAt.IsZero() || expired(t.GrantExpiresAt, now)
		wipe := len(t.Sealed) > 0
		switch {
		case !windowOver && grantDead:
			return NotRotated{Wipe: wipe, Err: ErrRevoked}
		case !windowOver && t.Child.Found && !t.Child.Used && !expired(t.Child.ExpiresAt, now) && t.Child.DPoPJKT == jkt:
			return NotRotated{Grace: true}
		}
		return NotRotated{Revoke: true, Wipe: wipe,
			Err: &ReuseError{Err: ErrRefreshReplayed, GrantID: t.GrantID, UserID: t.UserID}}
	case expired(t.ExpiresAt, now):
		return NotRotated{Err: ErrNotFound}
	default:
		// Live, unused, this client's and key's: the UPDATE failed on the
		// grant.
		return NotRotated{Err: ErrRevoked}
	}
}

// InGrace reports whether the child sealed on the rotated token t may
// still be handed out at now to a client whose grace window is grace: the
// window set when t was rotated has not closed, nor has the client's
// current one (an operator who shortens or removes the window shortens
// the windows already open).
func InGrace(t RefreshState, grace time.Duration, now time.Time) bool {
	return len(t.Sealed) > 0 && t.Used &&
		!expired(t.GraceUntil, now) && !expired(t.UsedAt.Add(grace), now)
}

// GraceUntil is when the grace copy of a child made at now by u must be
// gone, zero when u keeps none.
func GraceUntil(u RefreshUse, now time.Time) time.Time {
	if !u.keepsChild() {
		return time.Time{}
	}
	return now.Truncate(time.Millisecond).Add(u.Grace)
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
