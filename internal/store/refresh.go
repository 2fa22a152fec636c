package store

import (
	"errors"
	"time"
)

// RefreshUse is one use of a refresh token at the token endpoint, under
// its client's policy (docs/fapi.md#refresh-token-policy).
type RefreshUse struct {
	ClientID string // the authenticated client
	Hash     string // the presented token's hash

	// Next is the token a rotation stores (its GrantID and ClientID are
	// ignored: it joins the presented token's grant and client; CreatedAt
	// zero means now; ExpiresAt is clamped to the grant's). Next.DPoPJKT
	// is the key the request proved, "" for none: the key a bound token
	// needs and the one Next is bound to. Under RotationNone only
	// Next.ExpiresAt, the presented token's new idle expiry, and
	// Next.DPoPJKT are read.
	Next RefreshToken

	// Rotation is RotationRotate ("" too) or RotationNone.
	Rotation string
	// Grace is how long after the rotation the presented token, presented
	// again, returns Next instead of revoking the family; 0 for none.
	// Sealed is Next's value encrypted by the caller (the store never
	// holds a usable token in clear), kept on the presented token's row
	// for Grace and wiped after; required when Grace is not 0.
	Grace  time.Duration
	Sealed []byte
}

// keepsChild reports whether the use keeps a grace copy of its child.
func (u RefreshUse) keepsChild() bool {
	return u.Rotation != RotationNone && u.Grace > 0
}

// Check reports a use the store cannot carry out as asked.
func (u RefreshUse) Check() error {
	switch {
	case u.Rotation != "" && u.Rotation != RotationRotate && u.Rotation != RotationNone:
		return errors.New("store: unknown refresh token rotation " + u.Rotation)
	case u.Rotation != RotationNone && u.Next.Hash == "":
		return errors.New("store: rotating a refresh token needs the next token's hash")
	case u.Grace < 0:
		return errors.New("store: negative refresh token grace window")
	case u.keepsChild() && len(u.Sealed) == 0:
		return errors.New("store: a refresh token grace window needs the sealed next token")
	}
	return nil
}

// Refreshed is what a use of a refresh token did.
type Refreshed struct {
	Grant   Grant
	Outcome RefreshOutcome
	// Sealed is the child a RefreshGrace outcome returns, as the use that
	// rotated the token sealed it.
	Sealed []byte
}

// RefreshOutcome says which refresh token the token endpoint answers with.
type RefreshOutcome int

const (
	// RefreshRotated: the token was spent and RefreshUse.Next stored.
	RefreshRotated RefreshOutcome = iota + 1
	// RefreshKept: the token was not rotated (RotationNone) and stays
	// usable; its idle expiry slid to RefreshUse.Next.ExpiresAt.
	RefreshKept
	// RefreshGrace: the token had been rotated within the grace window;
	// nothing was stored, and Refreshed.Sealed is the child that rotation
	// made.
	RefreshGrace
)
