package mfa

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

// Challenge rules (docs/protocol.md#mfa-verification): a session token lives
// five minutes and dies after five wrong codes.
const (
	ChallengeTTL = 5 * time.Minute
	MaxAttempts  = 5
)

// TokenPrefix starts every challenge token, so leak scanners can spot one.
const TokenPrefix = "aries_ms_"

// ErrChallengeDead: the challenge is unknown, expired, used, or out of
// attempts. The sign-in must start again from the password.
var ErrChallengeDead = errors.New("mfa: challenge expired, used or out of attempts")

// Method is the kind of second factor an answer carries.
type Method int

const (
	TOTPCode     Method = iota // a 6-digit code from the authenticator app
	RecoveryCode               // one of the user's one-time recovery codes
)

// NewChallenge stores c as a fresh challenge (its Hash, attempts and times
// are set here) and returns its token, the only copy of which goes to the
// browser or app.
func (s *Service) NewChallenge(ctx context.Context, c store.MFAChallenge) (string, store.MFAChallenge, error) {
	token := secret.New(TokenPrefix)
	now := s.now()
	c.Hash = s.hasher.Hash(token)
	c.MaxAttempts, c.FailedAttempts = MaxAttempts, 0
	c.CreatedAt, c.ExpiresAt, c.UsedAt = now, now.Add(ChallengeTTL), time.Time{}
	if err := s.store.CreateMFAChallenge(ctx, c); err != nil {
		return "", store.MFAChallenge{}, err
	}
	return token, c, nil
}

// Challenge returns the live challenge behind token, or ErrChallengeDead.
func (s *Service) Challenge(ctx context.Context, token string) (store.MFAChallenge, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return store.MFAChallenge{}, ErrChallengeDead
	}
	c, err := s.store.MFAChallenge(ctx, s.hasher.Hash(token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.MFAChallenge{}, ErrChallengeDead
	}
	return c, err
}

// Answer checks code, a second factor of c's user, and on success consumes
// c and returns it. A wrong code counts against c and gives ErrInvalidCode
// with c as updated (c.FailedAttempts == c.MaxAttempts means that was the
// last try); a challenge that is no longer live gives ErrChallengeDead; a
// locked second factor (package lockout) gives ErrLocked, and then only a
// recovery code can answer.
func (s *Service) Answer(ctx context.Context, c store.MFAChallenge, m Method, code string) (store.MFAChallenge, error) {
	// Checked first so that a code sent to a dead challenge is not spent.
	c, err := s.store.MFAChallenge(ctx, c.Hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return c, ErrChallengeDead
	}
	if err != nil {
		return c, err
	}
	switch m {
	case TOTPCode:
		err = s.CheckTOTP(ctx, c.UserID, code)
	case RecoveryCode:
		err = s.UseRecoveryCode(ctx, c.UserID, code)
	default:
		err = ErrInvalidCode
	}
	switch {
	case errors.Is(err, ErrLocked):
		// Refused before the code was checked, or this wrong code locked
		// the factor: the challenge cannot be answered with a TOTP code
		// any more, whatever its attempts say.
		return c, ErrLocked
	case errors.Is(err, ErrInvalidCode):
		failed, ferr := s.store.FailMFAChallenge(ctx, c.Hash, s.now())
		if errors.Is(ferr, store.ErrNotFound) {
			return c, ErrChallengeDead
		}
		if ferr != nil {
			return c, ferr
		}
		return failed, ErrInvalidCode
	case errors.Is(err, ErrNotEnabled):
		// MFA was removed while the challenge waited: nothing can answer it.
		return c, ErrChallengeDead
	case err != nil:
		return c, err
	}
	done, err := s.store.ConsumeMFAChallenge(ctx, c.Hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return c, ErrChallengeDead
	}
	return done, err
}
