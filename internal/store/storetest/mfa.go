package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

func testTOTPEnrollment(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	uid := w.user.ID
	_, err := s.TOTP(ctx(t), uid)
	is(t, "TOTP before enrollment", err, store.ErrNotFound)

	first := store.TOTP{UserID: uid, EncryptedSecret: []byte("sealed-1"), CreatedAt: t0}
	is(t, "StartTOTP", s.StartTOTP(ctx(t), first), nil)
	got, err := s.TOTP(ctx(t), uid)
	is(t, "TOTP pending", err, nil)
	diff(t, "pending TOTP", got, first)

	// A second start (another browser, a reload) replaces the pending secret.
	second := store.TOTP{UserID: uid, EncryptedSecret: []byte("sealed-2"), CreatedAt: t0.Add(time.Minute)}
	is(t, "StartTOTP again", s.StartTOTP(ctx(t), second), nil)
	got, err = s.TOTP(ctx(t), uid)
	is(t, "TOTP pending again", err, nil)
	diff(t, "replaced pending TOTP", got, second)
	left, err := s.RecoveryCodesLeft(ctx(t), uid)
	is(t, "RecoveryCodesLeft while pending", err, nil)
	if left != 0 {
		t.Errorf("RecoveryCodesLeft while pending: got %d, want 0", left)
	}

	enabled := store.TOTP{UserID: uid, EncryptedSecret: []byte("sealed-2"), LastStep: 59_000_000, CreatedAt: t0.Add(time.Minute), EnabledAt: t0.Add(2 * time.Minute)}
	is(t, "EnableTOTP", s.EnableTOTP(ctx(t), enabled, []string{"rc_1", "rc_2", "rc_3"}), nil)
	got, err = s.TOTP(ctx(t), uid)
	is(t, "TOTP enabled", err, nil)
	diff(t, "enabled TOTP", got, enabled)
	left, err = s.RecoveryCodesLeft(ctx(t), uid)
	is(t, "RecoveryCodesLeft", err, nil)
	if left != 3 {
		t.Errorf("RecoveryCodesLeft: got %d, want 3", left)
	}

	// An enabled authenticator is replaced only by removing it first.
	is(t, "StartTOTP when enabled", s.StartTOTP(ctx(t), first), store.ErrConflict)
	other := enabled
	other.EncryptedSecret = []byte("sealed-3")
	is(t, "EnableTOTP when enabled", s.EnableTOTP(ctx(t), other, []string{"rc_x"}), store.ErrConflict)
	got, err = s.TOTP(ctx(t), uid)
	is(t, "TOTP after conflicts", err, nil)
	diff(t, "TOTP after conflicts", got, enabled)
	is(t, "recovery code after a refused EnableTOTP", s.UseRecoveryCode(ctx(t), uid, "rc_1", t0), nil)

	is(t, "DeleteTOTP", s.DeleteTOTP(ctx(t), uid), nil)
	_, err = s.TOTP(ctx(t), uid)
	is(t, "TOTP after delete", err, store.ErrNotFound)
	left, err = s.RecoveryCodesLeft(ctx(t), uid)
	is(t, "RecoveryCodesLeft after delete", err, nil)
	if left != 0 {
		t.Errorf("RecoveryCodesLeft after delete: got %d, want 0", left)
	}
	is(t, "DeleteTOTP again", s.DeleteTOTP(ctx(t), uid), nil)

	// Enabling without a pending enrollment (the CLI) works too.
	is(t, "EnableTOTP without pending", s.EnableTOTP(ctx(t), other, []string{"rc_x"}), nil)
	got, err = s.TOTP(ctx(t), uid)
	is(t, "TOTP enabled directly", err, nil)
	diff(t, "TOTP enabled directly", got, other)
	is(t, "old recovery code after re-enrollment", s.UseRecoveryCode(ctx(t), uid, "rc_2", t0), store.ErrNotFound)
	is(t, "new recovery code", s.UseRecoveryCode(ctx(t), uid, "rc_x", t0), nil)
}

func testTOTPReplay(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	uid := w.user.ID
	is(t, "UseTOTPStep without TOTP", s.UseTOTPStep(ctx(t), uid, 10), store.ErrNotFound)
	is(t, "StartTOTP", s.StartTOTP(ctx(t), store.TOTP{UserID: uid, EncryptedSecret: []byte("x"), CreatedAt: t0}), nil)
	is(t, "UseTOTPStep while pending", s.UseTOTPStep(ctx(t), uid, 10), store.ErrNotFound)
	is(t, "EnableTOTP", s.EnableTOTP(ctx(t), store.TOTP{UserID: uid, EncryptedSecret: []byte("x"), LastStep: 100, CreatedAt: t0, EnabledAt: t0}, nil), nil)

	tests := []struct {
		step int64
		want error
	}{
		{100, store.ErrReplayed}, // the enrollment's own code
		{99, store.ErrReplayed},
		{101, nil},
		{101, store.ErrReplayed},
		{103, nil},
		{102, store.ErrReplayed}, // older than the newest accepted
		{104, nil},
	}
	for _, tt := range tests {
		is(t, fmt.Sprintf("UseTOTPStep(%d)", tt.step), s.UseTOTPStep(ctx(t), uid, tt.step), tt.want)
	}
	got, err := s.TOTP(ctx(t), uid)
	is(t, "TOTP", err, nil)
	if got.LastStep != 104 {
		t.Errorf("LastStep: got %d, want 104", got.LastStep)
	}

	const n = 16
	errs := race(n, func(int) error { return s.UseTOTPStep(ctx(t), uid, 200) })
	var wins int
	for i, err := range errs {
		switch err {
		case nil:
			wins++
		case store.ErrReplayed:
		default:
			t.Errorf("concurrent UseTOTPStep %d: got error %v, want success or %v", i, err, store.ErrReplayed)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent uses of one step: got %d successes, want 1", n, wins)
	}

	other := mustUser(t, s, "usr_bob", "bob@example.com")
	is(t, "UseTOTPStep of a user without TOTP", s.UseTOTPStep(ctx(t), other.ID, 500), store.ErrNotFound)
}

func testRecoveryCodes(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	uid := w.user.ID
	bob := mustUser(t, s, "usr_bob", "bob@example.com")
	is(t, "UseRecoveryCode without TOTP", s.UseRecoveryCode(ctx(t), uid, "rc_1", t0), store.ErrNotFound)
	is(t, "EnableTOTP", s.EnableTOTP(ctx(t), store.TOTP{UserID: uid, EncryptedSecret: []byte("x"), CreatedAt: t0, EnabledAt: t0}, []string{"rc_1", "rc_2", "rc_3"}), nil)
	is(t, "EnableTOTP bob", s.EnableTOTP(ctx(t), store.TOTP{UserID: bob.ID, EncryptedSecret: []byte("y"), CreatedAt: t0, EnabledAt: t0}, []string{"rc_bob"}), nil)

	tests := []struct {
		name, user, hash string
		want             error
	}{
		{"first use", uid, "rc_1", nil},
		{"second use", uid, "rc_1", store.ErrNotFound},
		{"unknown", uid, "rc_9", store.ErrNotFound},
		{"another user's code", uid, "rc_bob", store.ErrNotFound},
		{"code of alice used by bob", bob.ID, "rc_2", store.ErrNotFound},
		{"another code", uid, "rc_2", nil},
	}
	for _, tt := range tests {
		is(t, "UseRecoveryCode "+tt.name, s.UseRecoveryCode(ctx(t), tt.user, tt.hash, t0), tt.want)
	}
	left, err := s.RecoveryCodesLeft(ctx(t), uid)
	is(t, "RecoveryCodesLeft", err, nil)
	if left != 1 {
		t.Errorf("RecoveryCodesLeft: got %d, want 1", left)
	}

	const n = 16
	errs := race(n, func(int) error { return s.UseRecoveryCode(ctx(t), uid, "rc_3", t0) })
	var wins int
	for i, err := range errs {
		switch err {
		case nil:
			wins++
		case store.ErrNotFound:
		default:
			t.Errorf("concurrent UseRecoveryCode %d: got error %v, want success or %v", i, err, store.ErrNotFound)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent uses of one recovery code: got %d successes, want 1", n, wins)
	}

	// Codes die with the authenticator they back up.
	is(t, "DeleteTOTP bob", s.DeleteTOTP(ctx(t), bob.ID), nil)
	is(t, "UseRecoveryCode after DeleteTOTP", s.UseRecoveryCode(ctx(t), bob.ID, "rc_bob", t0), store.ErrNotFound)
}

// newChallenge returns a first-party challenge for the world's user and
// client, created at t0, not yet stored.
func (w *world) newChallenge(hash string) store.MFAChallenge {
	return store.MFAChallenge{
		Hash:                hash,
		Purpose:             store.MFAFirstParty,
		UserID:              w.user.ID,
		ClientID:            w.client.ID,
		RedirectURI:         "https://app.example/cb",
		Scopes:              []string{"user:information", "order:execution"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		MaxAttempts:         5,
		CreatedAt:           t0,
		ExpiresAt:           t0.Add(5 * time.Minute),
	}
}

func testMFAChallenges(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c := w.newChallenge("mc_1")
	browser := store.MFAChallenge{
		Hash: "mc_browser", Purpose: store.MFAStepUp, UserID: w.user.ID, SessionHash: "sess_1",
		ReturnTo: "/oauth2/authorize?client_id=x&scope=trade", MaxAttempts: 5, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute),
	}
	for _, ch := range []store.MFAChallenge{c, browser} {
		is(t, "CreateMFAChallenge "+ch.Hash, s.CreateMFAChallenge(ctx(t), ch), nil)
	}
	is(t, "CreateMFAChallenge with a taken hash", s.CreateMFAChallenge(ctx(t), c), store.ErrConflict)

	for _, want := range []store.MFAChallenge{c, browser} {
		got, err := s.MFAChallenge(ctx(t), want.Hash, t0)
		is(t, "MFAChallenge "+want.Hash, err, nil)
		diff(t, "MFAChallenge "+want.Hash, got, want)
	}
	_, err := s.MFAChallenge(ctx(t), "mc_nobody", t0)
	is(t, "MFAChallenge unknown", err, store.ErrNotFound)

	expiry := []struct {
		name string
		now  time.Time
		want error
	}{
		{"last live millisecond", c.ExpiresAt.Add(-time.Millisecond), nil},
		{"at expiry", c.ExpiresAt, store.ErrNotFound},
		{"after expiry", c.ExpiresAt.Add(time.Hour), store.ErrNotFound},
	}
	for _, tt := range expiry {
		_, err := s.MFAChallenge(ctx(t), c.Hash, tt.now)
		is(t, "MFAChallenge "+tt.name, err, tt.want)
	}
	_, err = s.FailMFAChallenge(ctx(t), c.Hash, c.ExpiresAt)
	is(t, "FailMFAChallenge at expiry", err, store.ErrNotFound)
	_, err = s.ConsumeMFAChallenge(ctx(t), c.Hash, c.ExpiresAt)
	is(t, "ConsumeMFAChallenge at expiry", err, store.ErrNotFound)

	got, err := s.ConsumeMFAChallenge(ctx(t), c.Hash, t0.Add(time.Second))
	is(t, "ConsumeMFAChallenge", err, nil)
	want := c
	want.UsedAt = t0.Add(time.Second)
	diff(t, "consumed challenge", got, want)
	_, err = s.ConsumeMFAChallenge(ctx(t), c.Hash, t0.Add(2*time.Second))
	is(t, "ConsumeMFAChallenge again", err, store.ErrNotFound)
	_, err = s.MFAChallenge(ctx(t), c.Hash, t0.Add(2*time.Second))
	is(t, "MFAChallenge after consume", err, store.ErrNotFound)
	_, err = s.FailMFAChallenge(ctx(t), c.Hash, t0.Add(2*time.Second))
	is(t, "FailMFAChallenge after consume", err, store.ErrNotFound)
}

func testMFAChallengeAttempts(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c := w.newChallenge("mc_1")
	is(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx(t), c), nil)
	for i := 1; i <= c.MaxAttempts; i++ {
		got, err := s.FailMFAChallenge(ctx(t), c.Hash, t0)
		is(t, fmt.Sprintf("FailMFAChallenge %d", i), err, nil)
		if got.FailedAttempts != i {
			t.Errorf("FailMFAChallenge %d: got FailedAttempts %d, want %d", i, got.FailedAttempts, i)
		}
	}
	// Out of attempts: dead for every operation.
	_, err := s.MFAChallenge(ctx(t), c.Hash, t0)
	is(t, "MFAChallenge out of attempts", err, store.ErrNotFound)
	_, err = s.FailMFAChallenge(ctx(t), c.Hash, t0)
	is(t, "FailMFAChallenge out of attempts", err, store.ErrNotFound)
	_, err = s.ConsumeMFAChallenge(ctx(t), c.Hash, t0)
	is(t, "ConsumeMFAChallenge out of attempts", err, store.ErrNotFound)

	// Concurrent failures are each counted, and none beyond the maximum.
	many := w.newChallenge("mc_many")
	many.MaxAttempts = 10
	is(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx(t), many), nil)
	const n = 16
	errs := race(n, func(int) error {
		_, err := s.FailMFAChallenge(ctx(t), many.Hash, t0)
		return err
	})
	var counted int
	for i, err := range errs {
		switch err {
		case nil:
			counted++
		case store.ErrNotFound:
		default:
			t.Errorf("concurrent FailMFAChallenge %d: got error %v", i, err)
		}
	}
	if counted != many.MaxAttempts {
		t.Errorf("%d concurrent failures with %d attempts: got %d counted, want %d", n, many.MaxAttempts, counted, many.MaxAttempts)
	}
}

func testConsumeMFAChallengeConcurrently(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c := w.newChallenge("mc_1")
	is(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx(t), c), nil)
	const n = 16
	errs := race(n, func(int) error {
		_, err := s.ConsumeMFAChallenge(ctx(t), c.Hash, t0)
		return err
	})
	var wins int
	for i, err := range errs {
		switch err {
		case nil:
			wins++
		case store.ErrNotFound:
		default:
			t.Errorf("concurrent ConsumeMFAChallenge %d: got error %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent consumptions: got %d successes, want 1", n, wins)
	}
}

func testSessionOTPTime(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	withOTP := store.Session{
		IDHash: "sess_otp", UserID: w.user.ID, AuthTime: t0, AMR: []string{"pwd", "otp"},
		OTPTime: t0.Add(time.Second), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
	}
	without := store.Session{IDHash: "sess_pwd", UserID: w.user.ID, AuthTime: t0, AMR: []string{"pwd"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	for _, want := range []store.Session{withOTP, without} {
		is(t, "CreateSession "+want.IDHash, s.CreateSession(ctx(t), want), nil)
		got, err := s.Session(ctx(t), want.IDHash, t0)
		is(t, "Session "+want.IDHash, err, nil)
		diff(t, "Session "+want.IDHash, got, want)
	}
}

func testDeleteExpiredMFAChallenges(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	old := w.newChallenge("mc_old")
	live := w.newChallenge("mc_live")
	live.ExpiresAt = t0.Add(time.Hour)
	for _, c := range []store.MFAChallenge{old, live} {
		is(t, "CreateMFAChallenge "+c.Hash, s.CreateMFAChallenge(ctx(t), c), nil)
	}
	is(t, "DeleteExpired", s.DeleteExpired(ctx(t), old.ExpiresAt), nil)
	// Asked about an earlier moment, a deleted row is still gone.
	_, err := s.MFAChallenge(ctx(t), old.Hash, t0)
	is(t, "expired challenge after DeleteExpired", err, store.ErrNotFound)
	_, err = s.MFAChallenge(ctx(t), live.Hash, t0)
	is(t, "live challenge after DeleteExpired", err, nil)
}
