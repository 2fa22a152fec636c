package store

import (
	"context"
	"time"
)

// FailureKind names what a failed authentication attempt was.
type FailureKind string

const (
	// PasswordFailure is a wrong password (or an unknown email). Its
	// subject is the account, its source the address it came from.
	PasswordFailure FailureKind = "password"
	// SecondFactorFailure is a wrong TOTP or recovery code. Its subject is
	// the user; it counts whatever the source.
	SecondFactorFailure FailureKind = "second_factor"
)

// AuthFailureRetention is how long DeleteExpired keeps failures: longer
// than the longest window any lock counts over (package lockout).
const AuthFailureRetention = 24 * time.Hour

// LockoutStore keeps the failed sign-in attempts that package lockout turns
// into locks. It lives in the database, not in process memory, so every
// instance sees every failure and a lock cannot be dodged by reaching
// another instance (docs/rate-limits.md#sign-in-throttles).
//
// Subjects and sources arrive already bounded by the caller: a user id or
// the hash of an unknown email, and an IP address.
type LockoutStore interface {
	// AddAuthFailure records one failure of kind for subject from source at
	// time at. Concurrent calls are all recorded.
	AddAuthFailure(ctx context.Context, kind FailureKind, subject, source string, at time.Time) error
	// AuthFailures counts the failures of kind for subject at or after
	// since, from source only (all sources when source is ""), and returns
	// the time of the latest (zero when there is none).
	AuthFailures(ctx context.Context, kind FailureKind, subject, source string, since time.Time) (int, time.Time, error)
	// ClearAuthFailures forgets subject's failures of kind, from source
	// only (all sources when source is "").
	ClearAuthFailures(ctx context.Context, kind FailureKind, subject, source string) error

	// LockSecondFactor locks the user's second factor from at; an earlier
	// lock is kept as it is. ErrNotFound for an unknown user.
	LockSecondFactor(ctx context.Context, userID string, at time.Time) error
	// SecondFactorLockedAt returns when the user's second factor was
	// locked, or the zero time when it is not locked.
	SecondFactorLockedAt(ctx context.Context, userID string) (time.Time, error)
	// UnlockSecondFactor lifts the user's second-factor lock and forgets
	// the user's second-factor failures, in one transaction. Unlocking an
	// unlocked user is not an error.
	UnlockSecondFactor(ctx context.Context, userID string) error
}
