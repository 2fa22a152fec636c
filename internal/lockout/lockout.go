// Package lockout owns the locks that stop credential guessing, the rules of
// docs/rate-limits.md#sign-in-throttles written once for every way to sign
// in (the hosted pages and the first-party endpoints):
//
//   - The password lock is keyed on the account being signed in to and the
//     source address together: after PasswordThreshold failures within
//     PasswordWindow, that pair is refused for a delay that doubles with each
//     further failure. A stranger failing from one address does not lock the
//     user out of another; the per-address rate limit (package ratelimit)
//     bounds one address across accounts.
//   - The second-factor lock is keyed on the user alone, across challenges,
//     sessions, sources and instances: after SecondFactorLimit wrong codes
//     within SecondFactorWindow the second factor is locked until a recovery
//     code or an operator (`aries users unlock`) lifts it. A correct password
//     lifts nothing.
//
// Both count in the store (store.LockoutStore), so every instance sees every
// failure. Nothing is keyed on a value the caller merely names: an email
// that has no account is counted under its hash, with the source address,
// exactly as an account is, so the lock reveals nothing either.
package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The password lock's rule.
const (
	PasswordThreshold = 5
	PasswordWindow    = 15 * time.Minute
	firstLock         = 30 * time.Second
	maxLock           = 15 * time.Minute
)

// The second-factor lock's rule.
const (
	SecondFactorLimit  = 10
	SecondFactorWindow = time.Hour
)

// ErrLocked: the user's second factor is locked.
var ErrLocked = errors.New("lockout: second factor locked after too many wrong codes")

// EmailSubject is the lock subject of a sign-in for an email no account
// has: a fixed-size hash, so a flood of long random emails stores nothing
// of their size.
func EmailSubject(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "email:" + hex.EncodeToString(sum[:16])
}

// Passwords is the password lock. Build it with NewPasswords and share one
// per process: it also admits one check at a time per account and address
// (Acquire), so a burst of parallel guesses cannot all pass the lock check
// before the first failure is stored.
type Passwords struct {
	store store.LockoutStore
	now   func() time.Time

	mu    sync.Mutex
	gates map[string]*gate
}

// gate admits one password check per account and address at a time.
type gate struct {
	ch   chan struct{}
	refs int // holders and waiters; the gate is dropped at 0
}

// NewPasswords returns the password lock over st with the clock now.
func NewPasswords(st store.LockoutStore, now func() time.Time) *Passwords {
	return &Passwords{store: st, now: now, gates: make(map[string]*gate)}
}

// Acquire waits until no other check of subject from source is running in
// this process, and returns the function that ends this one. Gates exist
// only while requests wait or run, so their memory is bounded by the
// requests in flight, not by what callers name.
func (p *Passwords) Acquire(ctx context.Context, subject, source string) (release func(), err error) {
	key := subject + "|" + source
	p.mu.Lock()
	g := p.gates[key]
	if g == nil {
		g = &gate{ch: make(chan struct{}, 1)}
		p.gates[key] = g
	}
	g.refs++
	p.mu.Unlock()
	select {
	case g.ch <- struct{}{}:
		return func() { <-g.ch; p.unref(key, g) }, nil
	case <-ctx.Done():
		p.unref(key, g)
		return nil, ctx.Err()
	}
}

func (p *Passwords) unref(key string, g *gate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g.refs--
	if g.refs == 0 {
		delete(p.gates, key)
	}
}

// Locked returns how long sign-in to subject from source stays refused,
// or 0.
func (p *Passwords) Locked(ctx context.Context, subject, source string) (time.Duration, error) {
	now := p.now()
	n, last, err := p.store.AuthFailures(ctx, store.PasswordFailure, subject, source, now.Add(-PasswordWindow))
	if err != nil || n < PasswordThreshold {
		return 0, err
	}
	if until := last.Add(lockDelay(n)); now.Before(until) {
		return until.Sub(now), nil
	}
	return 0, nil
}

// lockDelay is the lock after n failures within the window: firstLock at
// the threshold, doubling with each failure after it, up to maxLock.
func lockDelay(n int) time.Duration {
	d := firstLock
	for i := PasswordThreshold; i < n && d < maxLock; i++ {
		d *= 2
	}
	return min(d, maxLock)
}

// Failed records a wrong password for subject from source.
func (p *Passwords) Failed(ctx context.Context, subject, source string) error {
	return p.store.AddAuthFailure(ctx, store.PasswordFailure, subject, source, p.now())
}

// Passed forgets subject's failures from source: the password is known
// there, so they were the owner's typos.
func (p *Passwords) Passed(ctx context.Context, subject, source string) error {
	return p.store.ClearAuthFailures(ctx, store.PasswordFailure, subject, source)
}

// SecondFactors is the second-factor lock.
type SecondFactors struct {
	Store store.LockoutStore
	Now   func() time.Time
}

// Locked reports whether the user's second factor is locked.
func (s *SecondFactors) Locked(ctx context.Context, userID string) (bool, error) {
	at, err := s.Store.SecondFactorLockedAt(ctx, userID)
	return !at.IsZero(), err
}

// Attempt reserves one attempt at a code for the user, before the code is
// checked: the attempt is counted as a failure first, so of any number of
// concurrent attempts, on any instances, at most SecondFactorLimit within
// the window are ever checked. ErrLocked when the factor is locked, or
// when this attempt is past the limit (which locks it). last is true for
// the attempt that reaches the limit: if its code is wrong, call Failed
// with it to lock.
func (s *SecondFactors) Attempt(ctx context.Context, userID string) (last bool, err error) {
	if locked, err := s.Locked(ctx, userID); err != nil || locked {
		return false, errors.Join(err, lockedIf(locked))
	}
	now := s.Now()
	if err := s.Store.AddAuthFailure(ctx, store.SecondFactorFailure, userID, "", now); err != nil {
		return false, err
	}
	n, _, err := s.Store.AuthFailures(ctx, store.SecondFactorFailure, userID, "", now.Add(-SecondFactorWindow))
	if err != nil {
		return false, err
	}
	if n > SecondFactorLimit {
		return false, errors.Join(s.Store.LockSecondFactor(ctx, userID, now), ErrLocked)
	}
	return n == SecondFactorLimit, nil
}

func lockedIf(locked bool) error {
	if locked {
		return ErrLocked
	}
	return nil
}

// Failed settles an attempt whose code was wrong. It reports whether the
// factor is now locked.
func (s *SecondFactors) Failed(ctx context.Context, userID string, last bool) (bool, error) {
	if !last {
		return false, nil
	}
	return true, s.Store.LockSecondFactor(ctx, userID, s.Now())
}

// RecoveryFailed records a wrong recovery code. Recovery codes are the way
// out of a lock, so they are not refused while locked (the per-user rate
// limit and their 50 bits bound guessing), but a wrong one counts like a
// wrong TOTP code. It reports whether the factor is now locked.
func (s *SecondFactors) RecoveryFailed(ctx context.Context, userID string) (bool, error) {
	now := s.Now()
	if err := s.Store.AddAuthFailure(ctx, store.SecondFactorFailure, userID, "", now); err != nil {
		return false, err
	}
	n, _, err := s.Store.AuthFailures(ctx, store.SecondFactorFailure, userID, "", now.Add(-SecondFactorWindow))
	if err != nil || n < SecondFactorLimit {
		return false, err
	}
	return true, s.Store.LockSecondFactor(ctx, userID, now)
}

// Passed settles an attempt whose code was right: the failures counted so
// far (this attempt's reservation among them) are forgotten.
func (s *SecondFactors) Passed(ctx context.Context, userID string) error {
	return s.Store.ClearAuthFailures(ctx, store.SecondFactorFailure, userID, "")
}

// Unlock lifts the user's second-factor lock and forgets the failures
// behind it: a recovery code was used, or an operator vouched for the user.
func (s *SecondFactors) Unlock(ctx context.Context, userID string) error {
	return s.Store.UnlockSecondFactor(ctx, userID)
}

// UnlockUser lifts every lock on the user, for an operator who has checked
// who is asking (`aries users unlock`): the second factor's, and the
// password's from every address.
func UnlockUser(ctx context.Context, st store.LockoutStore, userID string) error {
	if err := st.UnlockSecondFactor(ctx, userID); err != nil {
		return err
	}
	return st.ClearAuthFailures(ctx, store.PasswordFailure, userID, "")
}
