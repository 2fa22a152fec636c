package storetest

import (
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// failures asserts AuthFailures' count and latest time.
func failures(t *testing.T, s store.Store, what string, kind store.FailureKind, subject, source string, since time.Time, wantN int, wantLast time.Time) {
	t.Helper()
	n, last, err := s.AuthFailures(ctx(t), kind, subject, source, since)
	is(t, "AuthFailures "+what, err, nil)
	if n != wantN || !last.Equal(wantLast) {
		t.Errorf("AuthFailures %s: got %d, latest %v; want %d, latest %v", what, n, last, wantN, wantLast)
	}
}

func testAuthFailures(t *testing.T, s store.Store) {
	const pw, tf = store.PasswordFailure, store.SecondFactorFailure
	failures(t, s, "of nobody", pw, "usr_a", "10.0.0.1", t0.Add(-time.Hour), 0, time.Time{})

	for i, src := range []string{"10.0.0.1", "10.0.0.1", "10.0.0.2"} {
		is(t, "AddAuthFailure", s.AddAuthFailure(ctx(t), pw, "usr_a", src, t0.Add(time.Duration(i)*time.Minute)), nil)
	}
	is(t, "AddAuthFailure other kind", s.AddAuthFailure(ctx(t), tf, "usr_a", "", t0), nil)
	is(t, "AddAuthFailure other subject", s.AddAuthFailure(ctx(t), pw, "usr_b", "10.0.0.1", t0), nil)

	failures(t, s, "from one source", pw, "usr_a", "10.0.0.1", t0.Add(-time.Hour), 2, t0.Add(time.Minute))
	failures(t, s, "from every source", pw, "usr_a", "", t0.Add(-time.Hour), 3, t0.Add(2*time.Minute))
	failures(t, s, "since a later time", pw, "usr_a", "", t0.Add(time.Minute), 2, t0.Add(2*time.Minute))
	failures(t, s, "of the other kind", tf, "usr_a", "", t0.Add(-time.Hour), 1, t0)

	is(t, "ClearAuthFailures one source", s.ClearAuthFailures(ctx(t), pw, "usr_a", "10.0.0.1"), nil)
	failures(t, s, "after clearing one source", pw, "usr_a", "", t0.Add(-time.Hour), 1, t0.Add(2*time.Minute))
	failures(t, s, "other subject after clearing", pw, "usr_b", "", t0.Add(-time.Hour), 1, t0)
	is(t, "ClearAuthFailures every source", s.ClearAuthFailures(ctx(t), pw, "usr_a", ""), nil)
	failures(t, s, "after clearing all", pw, "usr_a", "", t0.Add(-time.Hour), 0, time.Time{})
	failures(t, s, "other kind after clearing", tf, "usr_a", "", t0.Add(-time.Hour), 1, t0)

	// Failures older than the retention go with DeleteExpired.
	is(t, "DeleteExpired", s.DeleteExpired(ctx(t), t0.Add(store.AuthFailureRetention)), nil)
	failures(t, s, "after DeleteExpired", tf, "usr_a", "", t0.Add(-time.Hour), 0, time.Time{})
}

// Every concurrent failure is counted: a burst of guesses cannot slip under
// a lock by racing.
func testAuthFailuresConcurrently(t *testing.T, s store.Store) {
	const n = 20
	errs := race(n, func(int) error {
		return s.AddAuthFailure(ctx(t), store.SecondFactorFailure, "usr_a", "10.0.0.1", t0)
	})
	for _, err := range errs {
		is(t, "concurrent AddAuthFailure", err, nil)
	}
	failures(t, s, "after a burst", store.SecondFactorFailure, "usr_a", "", t0, n, t0)
}

func testSecondFactorLock(t *testing.T, s store.Store) {
	u := mustUser(t, s, "usr_lock", "lock@example.com")
	at, err := s.SecondFactorLockedAt(ctx(t), u.ID)
	is(t, "SecondFactorLockedAt before", err, nil)
	if !at.IsZero() {
		t.Fatalf("a new user's second factor is locked since %v", at)
	}
	is(t, "LockSecondFactor unknown user", s.LockSecondFactor(ctx(t), "usr_nobody", t0), store.ErrNotFound)
	is(t, "LockSecondFactor", s.LockSecondFactor(ctx(t), u.ID, t0), nil)
	is(t, "LockSecondFactor again", s.LockSecondFactor(ctx(t), u.ID, t0.Add(time.Hour)), nil)
	at, err = s.SecondFactorLockedAt(ctx(t), u.ID)
	is(t, "SecondFactorLockedAt", err, nil)
	if !at.Equal(t0) {
		t.Errorf("locked at %v, want the first lock's time %v", at, t0)
	}

	is(t, "AddAuthFailure", s.AddAuthFailure(ctx(t), store.SecondFactorFailure, u.ID, "10.0.0.1", t0), nil)
	is(t, "AddAuthFailure password", s.AddAuthFailure(ctx(t), store.PasswordFailure, u.ID, "10.0.0.1", t0), nil)
	is(t, "UnlockSecondFactor", s.UnlockSecondFactor(ctx(t), u.ID), nil)
	at, err = s.SecondFactorLockedAt(ctx(t), u.ID)
	is(t, "SecondFactorLockedAt after unlock", err, nil)
	if !at.IsZero() {
		t.Errorf("still locked since %v after UnlockSecondFactor", at)
	}
	failures(t, s, "second factor after unlock", store.SecondFactorFailure, u.ID, "", t0.Add(-time.Hour), 0, time.Time{})
	// Unlocking the second factor leaves the password's failures alone.
	failures(t, s, "password after unlock", store.PasswordFailure, u.ID, "", t0.Add(-time.Hour), 1, t0)
	is(t, "UnlockSecondFactor when unlocked", s.UnlockSecondFactor(ctx(t), u.ID), nil)
}
