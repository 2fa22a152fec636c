package mfa

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
)

// After SecondFactorLimit wrong codes, across any number of challenges,
// the factor is locked: the right code is refused, a recovery code lifts it.
func TestSecondFactorLock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, recovery, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	for i := range lockout.SecondFactorLimit - 1 {
		err := e.svc.CheckTOTP(ctx, e.alice.ID, wrongCode(t, enr.Secret, e.clock.Now()))
		if !errors.Is(err, ErrInvalidCode) || errors.Is(err, ErrLocked) {
			t.Fatalf("wrong code %d: got %v, want only %v", i+1, err, ErrInvalidCode)
		}
	}
	err = e.svc.CheckTOTP(ctx, e.alice.ID, wrongCode(t, enr.Secret, e.clock.Now()))
	if !errors.Is(err, ErrInvalidCode) || !errors.Is(err, ErrLocked) {
		t.Fatalf("wrong code %d: got %v, want %v and %v", lockout.SecondFactorLimit, err, ErrInvalidCode, ErrLocked)
	}
	if locked, _ := e.svc.Locked(ctx, e.alice.ID); !locked {
		t.Fatal("Locked = false after the limit")
	}
	// Hours later the right code is still refused, unchecked: the lock
	// waits for a recovery code, not for time.
	e.clock.Add(3 * time.Hour)
	err = e.svc.CheckTOTP(ctx, e.alice.ID, code(t, enr.Secret, e.clock.Now()))
	if !errors.Is(err, ErrLocked) || errors.Is(err, ErrInvalidCode) {
		t.Fatalf("right code while locked: got %v, want only %v", err, ErrLocked)
	}
	// Bob is not affected.
	bobEnr, _, err := e.svc.Enroll(ctx, e.bob)
	is(t, "Enroll bob", err, nil)
	is(t, "bob's code", e.svc.CheckTOTP(ctx, e.bob.ID, code(t, bobEnr.Secret, e.clock.Now())), nil)

	is(t, "a wrong recovery code while locked", e.svc.UseRecoveryCode(ctx, e.alice.ID, "aaaaa-aaaaa"), ErrInvalidCode)
	is(t, "a recovery code while locked", e.svc.UseRecoveryCode(ctx, e.alice.ID, recovery[0]), nil)
	if locked, _ := e.svc.Locked(ctx, e.alice.ID); locked {
		t.Fatal("still locked after a recovery code")
	}
	is(t, "the right code after the recovery code", e.svc.CheckTOTP(ctx, e.alice.ID, code(t, enr.Secret, e.clock.Now())), nil)
}

// The lock holds under a burst: of many concurrent wrong codes, at most
// SecondFactorLimit are ever checked.
func TestSecondFactorLockConcurrently(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	const n = 3 * lockout.SecondFactorLimit
	errs := make([]error, n)
	var wg sync.WaitGroup
	wrong := wrongCode(t, enr.Secret, e.clock.Now())
	for i := range n {
		wg.Go(func() { errs[i] = e.svc.CheckTOTP(ctx, e.alice.ID, wrong) })
	}
	wg.Wait()
	checked := 0
	for i, err := range errs {
		switch {
		case errors.Is(err, ErrInvalidCode):
			checked++
		case !errors.Is(err, ErrLocked):
			t.Errorf("attempt %d: got %v, want %v or %v", i, err, ErrInvalidCode, ErrLocked)
		}
	}
	if checked > lockout.SecondFactorLimit {
		t.Errorf("%d concurrent wrong codes: %d were checked, want at most %d", n, checked, lockout.SecondFactorLimit)
	}
	if locked, _ := e.svc.Locked(ctx, e.alice.ID); !locked {
		t.Error("not locked after the burst")
	}
}

// An operator's unlock lifts the lock and the count behind it.
func TestSecondFactorUnlock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	for range lockout.SecondFactorLimit {
		e.svc.CheckTOTP(ctx, e.alice.ID, wrongCode(t, enr.Secret, e.clock.Now()))
	}
	is(t, "Unlock", e.svc.Unlock(ctx, e.alice.ID), nil)
	is(t, "the right code after Unlock", e.svc.CheckTOTP(ctx, e.alice.ID, code(t, enr.Secret, e.clock.Now())), nil)
	// The count started over: one wrong code does not lock again.
	err = e.svc.CheckTOTP(ctx, e.alice.ID, wrongCode(t, enr.Secret, e.clock.Now()))
	if errors.Is(err, ErrLocked) {
		t.Errorf("a wrong code after Unlock: got %v, want no lock", err)
	}
}
