package mfa

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

var (
	// ErrInvalidCode: the code is wrong, malformed, or was already used.
	ErrInvalidCode = errors.New("mfa: wrong or already used code")
	// ErrEnabled: the user already has TOTP on; remove it first.
	ErrEnabled = errors.New("mfa: already enabled")
	// ErrNotEnabled: the user has no TOTP (or no pending enrollment, for
	// Confirm).
	ErrNotEnabled = errors.New("mfa: not enabled")
	// ErrLocked: the user's second factor is locked after too many wrong
	// codes (package lockout); only a recovery code or an operator lifts it.
	ErrLocked = lockout.ErrLocked
)

// Store is what second factors keep: enrollments, recovery codes and
// challenges, and the failures behind the second-factor lock.
type Store interface {
	store.MFAStore
	store.LockoutStore
}

// Service checks and manages second factors. Build it with New.
type Service struct {
	store  Store
	hasher *secret.Hasher
	aead   cipher.AEAD
	now    func() time.Time
	locks  *lockout.SecondFactors
}

// New returns a Service over st. hasher hashes recovery codes and challenge
// tokens; key (KeySize bytes, derived from the root secret) encrypts TOTP
// secrets at rest; now is the clock (time.Now if nil).
func New(st Store, hasher *secret.Hasher, key []byte, now func() time.Time) (*Service, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, hasher: hasher, aead: aead, now: now,
		locks: &lockout.SecondFactors{Store: st, Now: now}}, nil
}

// Enabled reports whether the user has TOTP on.
func (s *Service) Enabled(ctx context.Context, userID string) (bool, error) {
	t, err := s.store.TOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !t.EnabledAt.IsZero(), nil
}

// Enroll turns TOTP on for u at once and returns the enrollment and its
// recovery codes, for an operator creating the account (`aries users create
// --mfa`): the operator hands the secret over, so no first code is asked.
// ErrEnabled if u already has TOTP on.
func (s *Service) Enroll(ctx context.Context, u store.User) (Enrollment, []string, error) {
	sec, err := newSecret()
	if err != nil {
		return Enrollment{}, nil, err
	}
	e, err := newEnrollment(u.Email, sec)
	if err != nil {
		return Enrollment{}, nil, err
	}
	now := s.now()
	codes, err := s.enable(ctx, store.TOTP{
		UserID: u.ID, EncryptedSecret: s.seal(u.ID, sec), LastStep: 0, CreatedAt: now, EnabledAt: now,
	})
	if err != nil {
		return Enrollment{}, nil, err
	}
	return e, codes, nil
}

// Begin stores a new pending enrollment for u, replacing an earlier pending
// one, and returns it. TOTP is not on until Confirm sees a code from it.
// ErrEnabled if u already has TOTP on.
func (s *Service) Begin(ctx context.Context, u store.User) (Enrollment, error) {
	sec, err := newSecret()
	if err != nil {
		return Enrollment{}, err
	}
	e, err := newEnrollment(u.Email, sec)
	if err != nil {
		return Enrollment{}, err
	}
	err = s.store.StartTOTP(ctx, store.TOTP{UserID: u.ID, EncryptedSecret: s.seal(u.ID, sec), CreatedAt: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return Enrollment{}, ErrEnabled
	}
	if err != nil {
		return Enrollment{}, err
	}
	return e, nil
}

// Pending returns u's pending enrollment, to show it again after a wrong
// first code. ErrNotEnabled when there is none; ErrEnabled when TOTP is on.
func (s *Service) Pending(ctx context.Context, u store.User) (Enrollment, error) {
	t, sec, err := s.load(ctx, u.ID)
	if err != nil {
		return Enrollment{}, err
	}
	if !t.EnabledAt.IsZero() {
		return Enrollment{}, ErrEnabled
	}
	return newEnrollment(u.Email, sec)
}

// Confirm checks code against u's pending enrollment and, when it matches,
// turns TOTP on and returns the recovery codes, which exist in clear only in
// this return value. ErrInvalidCode for a wrong code; ErrNotEnabled when
// nothing is pending; ErrEnabled when TOTP is already on.
func (s *Service) Confirm(ctx context.Context, u store.User, code string) ([]string, error) {
	t, sec, err := s.load(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if !t.EnabledAt.IsZero() {
		return nil, ErrEnabled
	}
	step, ok, err := matchStep(sec, code, s.now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInvalidCode
	}
	// The confirming code counts as used. The secret enabled is the one the
	// code was checked against, even if another browser has started a new
	// enrollment meanwhile.
	t.LastStep, t.EnabledAt = step, s.now()
	return s.enable(ctx, t)
}

// enable stores t as enabled with fresh recovery codes and returns them.
func (s *Service) enable(ctx context.Context, t store.TOTP) ([]string, error) {
	codes := newRecoveryCodes()
	hashes := make([]string, len(codes))
	for i, c := range codes {
		n, _ := normalizeRecovery(c)
		hashes[i] = s.hashRecovery(n)
	}
	err := s.store.EnableTOTP(ctx, t, hashes)
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrEnabled
	}
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Remove turns TOTP off for the user after checking a current code from
// it (which is spent like any other). ErrInvalidCode for a wrong code;
// ErrNotEnabled when TOTP is not on.
func (s *Service) Remove(ctx context.Context, userID, code string) error {
	if err := s.CheckTOTP(ctx, userID, code); err != nil {
		return err
	}
	return s.store.DeleteTOTP(ctx, userID)
}

// CheckTOTP accepts code if it is the user's TOTP code for a step within
// one of now and later than any step accepted before; the step is then
// spent. ErrInvalidCode otherwise; ErrNotEnabled when TOTP is not on;
// ErrLocked when the second factor is locked, or this wrong code locked it
// (then the error is also ErrInvalidCode).
func (s *Service) CheckTOTP(ctx context.Context, userID, code string) error {
	t, sec, err := s.load(ctx, userID)
	if err != nil {
		return err
	}
	if t.EnabledAt.IsZero() {
		return ErrNotEnabled
	}
	last, err := s.locks.Attempt(ctx, userID)
	if err != nil {
		return err
	}
	step, ok, err := matchStep(sec, code, s.now())
	if err != nil {
		return err
	}
	if !ok || step <= t.LastStep {
		return s.wrongCode(ctx, userID, last)
	}
	// The read above only saves a write; the conditional UPDATE decides,
	// so of two requests racing with one code exactly one wins.
	switch err := s.store.UseTOTPStep(ctx, userID, step); {
	case errors.Is(err, store.ErrReplayed):
		return s.wrongCode(ctx, userID, last)
	case errors.Is(err, store.ErrNotFound):
		return ErrNotEnabled
	case err != nil:
		return err
	}
	return s.locks.Passed(ctx, userID)
}

// wrongCode settles a wrong TOTP code with the lock.
func (s *Service) wrongCode(ctx context.Context, userID string, last bool) error {
	locked, err := s.locks.Failed(ctx, userID, last)
	if err != nil {
		return err
	}
	if locked {
		return errors.Join(ErrInvalidCode, ErrLocked)
	}
	return ErrInvalidCode
}

// UseRecoveryCode spends one of the user's recovery codes, which also lifts
// a second-factor lock. ErrInvalidCode when it is not an unused code of the
// user's (and ErrLocked too when that wrong code locked the factor).
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) error {
	n, ok := normalizeRecovery(code)
	err := ErrInvalidCode
	if ok {
		err = s.store.UseRecoveryCode(ctx, userID, s.hashRecovery(n), s.now())
	}
	switch {
	case err == nil:
		return s.locks.Unlock(ctx, userID)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrInvalidCode):
		locked, lerr := s.locks.RecoveryFailed(ctx, userID)
		if lerr != nil {
			return lerr
		}
		if locked {
			return errors.Join(ErrInvalidCode, ErrLocked)
		}
		return ErrInvalidCode
	default:
		return err
	}
}

// Locked reports whether the user's second factor is locked.
func (s *Service) Locked(ctx context.Context, userID string) (bool, error) {
	return s.locks.Locked(ctx, userID)
}

// Unlock lifts the user's second-factor lock (`aries users unlock`).
func (s *Service) Unlock(ctx context.Context, userID string) error {
	return s.locks.Unlock(ctx, userID)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, userID)
}

// load reads the user's enrollment and decrypts its secret; ErrNotEnabled
// when there is none.
func (s *Service) load(ctx context.Context, userID string) (store.TOTP, string, error) {
	t, err := s.store.TOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.TOTP{}, "", ErrNotEnabled
	}
	if err != nil {
		return store.TOTP{}, "", err
	}
	sec, err := s.unseal(userID, t.EncryptedSecret)
	if err != nil {
		return store.TOTP{}, "", fmt.Errorf("user %s: %w", userID, err)
	}
	return t, sec, nil
}
