package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

func testRedeemAuthCode(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, g := w.issue(t, "a")

	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant of a new code", err, nil)
	diff(t, "Grant of a new code", got, g)

	plain, _ := newCode("nopkce", w.client.ID, w.user.ID)
	plain.CodeChallenge, plain.CodeChallengeMethod = "", ""
	plain.AMR = nil
	_, plainGrant := newCode("nopkce", w.client.ID, w.user.ID)
	is(t, "CreateAuthCode without PKCE", s.CreateAuthCode(ctx(t), plain, plainGrant), nil)

	now := t0.Add(10 * time.Second)
	for _, c := range []store.AuthCode{code, plain} {
		redeemed, err := s.RedeemAuthCode(ctx(t), c.Hash, next("rt_"+c.Hash, now), now)
		is(t, "RedeemAuthCode", err, nil)
		want := c
		want.UsedAt = now
		diff(t, "RedeemAuthCode", redeemed, want)
	}

	got, err = s.Grant(ctx(t), g.ID)
	is(t, "Grant after redemption", err, nil)
	diff(t, "Grant after redemption", got, g)

	_, err = s.RedeemAuthCode(ctx(t), "code_nobody", next("rt_nobody", now), now)
	is(t, "RedeemAuthCode unknown", err, store.ErrNotFound)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_nobody", now)
	is(t, "RefreshTokenGrant of an unknown code's token", err, store.ErrNotFound)
}

// testRedeemAuthCodeRefreshToken checks the refresh token RedeemAuthCode
// stores with the code's first use.
func testRedeemAuthCodeRefreshToken(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	other := mustClient(t, s, "aries_ci_other", "", t0)
	now := t0.Add(time.Second)

	// GrantID and ClientID come from the code, whatever the caller says.
	code, g := w.issue(t, "a")
	first := next("rt_a", now)
	first.GrantID, first.ClientID = "grt_nobody", other.ID
	_, err := s.RedeemAuthCode(ctx(t), code.Hash, first, now)
	is(t, "RedeemAuthCode", err, nil)
	gotRT, gotGrant, err := s.RefreshTokenGrant(ctx(t), "rt_a", t0.Add(time.Minute))
	is(t, "RefreshTokenGrant", err, nil)
	want := next("rt_a", now)
	want.GrantID, want.ClientID = g.ID, w.client.ID
	diff(t, "RefreshTokenGrant token", gotRT, want)
	diff(t, "RefreshTokenGrant grant", gotGrant, g)

	// A zero CreatedAt is the time of the redemption.
	code, _ = w.issue(t, "b")
	first = store.RefreshToken{Hash: "rt_b", ExpiresAt: now.Add(refreshLife)}
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, first, now)
	is(t, "RedeemAuthCode with no CreatedAt", err, nil)
	gotRT, _, err = s.RefreshTokenGrant(ctx(t), "rt_b", now)
	is(t, "RefreshTokenGrant", err, nil)
	sameTime(t, "CreatedAt of a token stored without one", gotRT.CreatedAt, now)

	// A taken hash refuses the whole redemption: the code is not used up
	// and the token holding the hash is not touched.
	code, _ = w.issue(t, "c")
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_a", now), now)
	is(t, "RedeemAuthCode with a taken refresh token hash", err, store.ErrConflict)
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_c", now), now.Add(time.Second))
	is(t, "RedeemAuthCode after a conflict", err, nil)
	gotRT, gotGrant, err = s.RefreshTokenGrant(ctx(t), "rt_a", t0.Add(time.Minute))
	is(t, "RefreshTokenGrant of the taken hash", err, nil)
	diff(t, "token holding the taken hash", gotRT, want)
	diff(t, "grant of the token holding the taken hash", gotGrant, g)
}

func testAuthCodeReuse(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, g := w.issue(t, "a")
	_, err := s.RedeemAuthCode(ctx(t), code.Hash, next("rt_a", t0.Add(10*time.Second)), t0.Add(10*time.Second))
	is(t, "RedeemAuthCode", err, nil)

	reuse := t0.Add(20 * time.Second)
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_a_again", reuse), reuse)
	is(t, "RedeemAuthCode a second time", err, store.ErrCodeReused)
	// The security log names whose grant was revoked.
	if re, ok := errors.AsType[*store.ReuseError](err); !ok || re.GrantID != g.ID || re.UserID != g.UserID {
		t.Errorf("reuse error %#v, want a *store.ReuseError naming grant %s of user %s", err, g.ID, g.UserID)
	}

	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	sameTime(t, "Grant.RevokedAt after reuse", got.RevokedAt, reuse)

	// The refresh token the first redemption stored dies with the grant;
	// the second redemption stored none.
	later := reuse.Add(time.Second)
	w.rotate(t, "rt_a", "rt_a_2", later, store.ErrRevoked)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_a", later)
	is(t, "RefreshTokenGrant of the first redemption's token after reuse", err, store.ErrRevoked)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_a_again", later)
	is(t, "RefreshTokenGrant of the second redemption's token", err, store.ErrNotFound)

	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_a_third", later), later)
	is(t, "RedeemAuthCode a third time", err, store.ErrCodeReused)
	got, err = s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	sameTime(t, "Grant.RevokedAt after another reuse (first time kept)", got.RevokedAt, reuse)
}

// testAuthCodeReuseAfterRotation checks that a reuse kills the whole family
// the first redemption started, not only its first refresh token.
func testAuthCodeReuseAfterRotation(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")
	_, other := w.login(t, "b")
	w.rotate(t, rt.Hash, "rt_a_2", t0.Add(10*time.Second), nil)

	reuse := t0.Add(30 * time.Second)
	_, err := s.RedeemAuthCode(ctx(t), "code_a", next("rt_a_again", reuse), reuse)
	is(t, "RedeemAuthCode a second time", err, store.ErrCodeReused)
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	sameTime(t, "Grant.RevokedAt after reuse", got.RevokedAt, reuse)

	w.rotate(t, "rt_a_2", "rt_a_3", reuse.Add(time.Second), store.ErrRevoked)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_a_2", reuse.Add(time.Second))
	is(t, "RefreshTokenGrant of the rotated token after reuse", err, store.ErrRevoked)

	got, err = s.Grant(ctx(t), other.ID)
	is(t, "Grant of another code", err, nil)
	if !got.RevokedAt.IsZero() {
		t.Errorf("Grant of another code: got RevokedAt %v, want zero", got.RevokedAt)
	}
}

func testAuthCodeExpiry(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	exp := t0.Add(codeLife)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"last live millisecond", exp.Add(-time.Millisecond), nil},
		{"at expiry", exp, store.ErrNotFound},
		{"an hour late", exp.Add(time.Hour), store.ErrNotFound},
	}
	for i, tt := range tests {
		code, _ := w.issue(t, fmt.Sprint(i))
		rt := fmt.Sprint("rt_", i)
		_, err := s.RedeemAuthCode(ctx(t), code.Hash, next(rt, tt.now), tt.now)
		is(t, "RedeemAuthCode "+tt.name, err, tt.want)
		if tt.want != nil {
			// A failed attempt neither uses the code up nor stores its
			// token (the same hash is free again).
			now := t0.Add(time.Second)
			_, err = s.RedeemAuthCode(ctx(t), code.Hash, next(rt, now), now)
			is(t, "RedeemAuthCode in time after a late attempt", err, nil)
		}
	}
}

func testAuthCodeRevokedGrant(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, g := w.issue(t, "a")
	is(t, "RevokeGrant", s.RevokeGrant(ctx(t), g.ID, t0.Add(time.Second)), nil)
	now := t0.Add(2 * time.Second)
	_, err := s.RedeemAuthCode(ctx(t), code.Hash, next("rt_a", now), now)
	is(t, "RedeemAuthCode of a revoked grant", err, store.ErrRevoked)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_a", now)
	is(t, "RefreshTokenGrant of a refused redemption's token", err, store.ErrNotFound)
}

func testAuthCodeConflicts(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	w.issue(t, "a")

	// Same code hash, new grant: refused, and the grant is not left behind.
	c, g := newCode("b", w.client.ID, w.user.ID)
	c.Hash = "code_a"
	is(t, "CreateAuthCode with a taken hash", s.CreateAuthCode(ctx(t), c, g), store.ErrConflict)
	_, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant of a refused code", err, store.ErrNotFound)

	// New code, taken grant id: refused, and the code is not left behind.
	c, g = newCode("c", w.client.ID, w.user.ID)
	c.GrantID, g.ID = "grt_a", "grt_a"
	is(t, "CreateAuthCode with a taken grant id", s.CreateAuthCode(ctx(t), c, g), store.ErrConflict)
	now := t0.Add(time.Second)
	_, err = s.RedeemAuthCode(ctx(t), c.Hash, next("rt_c", now), now)
	is(t, "RedeemAuthCode of a refused code", err, store.ErrNotFound)
}

// testRedeemAuthCodeConcurrently is the token endpoint under a double
// submit or an attacker racing the client: exactly one caller gets the code
// and its refresh token is stored; the losers store nothing, and their
// reuse revokes the grant.
func testRedeemAuthCodeConcurrently(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, g := w.issue(t, "a")
	now := t0.Add(time.Second)

	const n = 20
	codes := make([]store.AuthCode, n)
	errs := race(n, func(i int) error {
		var err error
		codes[i], err = s.RedeemAuthCode(ctx(t), code.Hash, next(fmt.Sprint("rt_", i), now), now)
		return err
	})

	wins, reused := 0, 0
	for i, err := range errs {
		rt := fmt.Sprint("rt_", i)
		switch {
		case err == nil:
			wins++
			want := code
			want.UsedAt = now
			diff(t, "winning RedeemAuthCode", codes[i], want)
			// The winner's token exists; the losers have revoked its grant.
			got, _, err := s.RefreshTokenGrant(ctx(t), rt, now)
			switch {
			case err == nil:
				if got.GrantID != g.ID {
					t.Errorf("winner's refresh token: got grant %q, want %q", got.GrantID, g.ID)
				}
			case !errors.Is(err, store.ErrRevoked):
				t.Errorf("RefreshTokenGrant of the winner's token: got error %v, want success or %v", err, store.ErrRevoked)
			}
		case errors.Is(err, store.ErrCodeReused):
			reused++
			_, _, err := s.RefreshTokenGrant(ctx(t), rt, now)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RefreshTokenGrant of loser %d's token: got error %v, want %v", i, err, store.ErrNotFound)
			}
		default:
			t.Errorf("RedeemAuthCode %d: got error %v, want success or %v", i, err, store.ErrCodeReused)
		}
	}
	if wins != 1 || reused != n-1 {
		t.Errorf("%d concurrent redemptions: got %d successes and %d ErrCodeReused, want 1 and %d", n, wins, reused, n-1)
	}
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	if got.RevokedAt.IsZero() {
		t.Errorf("Grant after concurrent reuse: got RevokedAt zero, want it revoked")
	}
}

func testRotateRefreshToken(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt1, g := w.login(t, "a")

	now1 := t0.Add(5 * time.Minute)
	got := w.rotate(t, rt1.Hash, "rt_a_2", now1, nil)
	diff(t, "grant returned by RotateRefreshToken", got, g)

	gotRT, gotGrant, err := s.RefreshTokenGrant(ctx(t), "rt_a_2", now1)
	is(t, "RefreshTokenGrant of the new token", err, nil)
	diff(t, "new refresh token", gotRT, store.RefreshToken{
		Hash: "rt_a_2", GrantID: g.ID, ClientID: w.client.ID,
		CreatedAt: now1, ExpiresAt: now1.Add(refreshLife),
	})
	diff(t, "grant of the new token", gotGrant, g)

	_, _, err = s.RefreshTokenGrant(ctx(t), rt1.Hash, now1)
	is(t, "RefreshTokenGrant of the rotated token", err, store.ErrNotFound)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_nobody", now1)
	is(t, "RefreshTokenGrant unknown", err, store.ErrNotFound)
	w.rotate(t, "rt_nobody", "rt_x", now1, store.ErrNotFound)

	now2 := now1.Add(time.Hour)
	got = w.rotate(t, "rt_a_2", "rt_a_3", now2, nil)
	diff(t, "grant returned by the second rotation", got, g)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_a_3", now2)
	is(t, "RefreshTokenGrant of the third token", err, nil)
}

func testRefreshTokenReplay(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt1, g := w.login(t, "a")
	rtOther, _ := w.login(t, "b")

	w.rotate(t, rt1.Hash, "rt_a_2", t0.Add(time.Minute), nil)

	replay := t0.Add(2 * time.Minute)
	_, err := s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: g.ClientID, Hash: rt1.Hash, Next: next("rt_a_3", replay)}, replay)
	is(t, "RotateRefreshToken of a rotated token", err, store.ErrRefreshReplayed)
	if re, ok := errors.AsType[*store.ReuseError](err); !ok || re.GrantID != g.ID || re.UserID != g.UserID {
		t.Errorf("replay error %#v, want a *store.ReuseError naming grant %s of user %s", err, g.ID, g.UserID)
	}
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	sameTime(t, "Grant.RevokedAt after replay", got.RevokedAt, replay)

	// The whole family is dead, including the token the thief may hold.
	w.rotate(t, "rt_a_2", "rt_a_4", replay.Add(time.Second), store.ErrRevoked)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_a_2", replay.Add(time.Second))
	is(t, "RefreshTokenGrant of the family's live token (this suite wants ErrRevoked)", err, store.ErrRevoked)

	// Other grants are untouched.
	w.rotate(t, rtOther.Hash, "rt_b_2", replay.Add(time.Second), nil)
}

func testRefreshTokenWrongClient(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	other := mustClient(t, s, "aries_ci_other", "", t0)
	rt1, g := w.login(t, "a")
	now := t0.Add(time.Minute)

	_, err := s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: other.ID, Hash: rt1.Hash, Next: next("rt_stolen", now)}, now)
	is(t, "RotateRefreshToken by another client", err, store.ErrNotFound)

	// Not consumed: the rightful client still rotates it.
	w.rotate(t, rt1.Hash, "rt_a_2", now, nil)

	// Another client presenting a used token learns nothing and cannot
	// revoke a family that is not its own.
	_, err = s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: other.ID, Hash: rt1.Hash, Next: next("rt_stolen_2", now)}, now)
	is(t, "RotateRefreshToken of a used token by another client", err, store.ErrNotFound)
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	if !got.RevokedAt.IsZero() {
		t.Errorf("Grant after another client's attempt: got RevokedAt %v, want zero", got.RevokedAt)
	}
	w.rotate(t, "rt_a_2", "rt_a_3", now.Add(time.Second), nil)
}

func testRefreshTokenExpiry(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, _ := w.issue(t, "a")
	exp := t0.Add(time.Hour)
	rt := store.RefreshToken{Hash: "rt_a", CreatedAt: t0.Add(time.Second), ExpiresAt: exp}
	_, err := s.RedeemAuthCode(ctx(t), code.Hash, rt, t0.Add(time.Second))
	is(t, "RedeemAuthCode", err, nil)

	for _, now := range []time.Time{exp, exp.Add(time.Hour)} {
		_, _, err = s.RefreshTokenGrant(ctx(t), rt.Hash, now)
		is(t, fmt.Sprintf("RefreshTokenGrant %v after expiry", now.Sub(exp)), err, store.ErrNotFound)
		w.rotate(t, rt.Hash, "rt_late", now, store.ErrNotFound)
	}

	last := exp.Add(-time.Millisecond)
	_, _, err = s.RefreshTokenGrant(ctx(t), rt.Hash, last)
	is(t, "RefreshTokenGrant in the last live millisecond", err, nil)
	w.rotate(t, rt.Hash, "rt_a_2", last, nil)
}

func testRefreshTokenClamp(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, g := w.issue(t, "a")

	// Asked to outlive its grant, a token is cut to the grant's expiry.
	rt := store.RefreshToken{Hash: "rt_a", CreatedAt: t0.Add(time.Second), ExpiresAt: g.ExpiresAt.Add(10 * day)}
	_, err := s.RedeemAuthCode(ctx(t), code.Hash, rt, t0.Add(time.Second))
	is(t, "RedeemAuthCode", err, nil)
	got, _, err := s.RefreshTokenGrant(ctx(t), rt.Hash, t0.Add(time.Minute))
	is(t, "RefreshTokenGrant", err, nil)
	sameTime(t, "ExpiresAt of a first token asked to outlive its grant", got.ExpiresAt, g.ExpiresAt)

	late := g.ExpiresAt.Add(-day)
	w.rotate(t, rt.Hash, "rt_a_2", late, nil)
	got, _, err = s.RefreshTokenGrant(ctx(t), "rt_a_2", late)
	is(t, "RefreshTokenGrant", err, nil)
	sameTime(t, "ExpiresAt of a rotated token asked to outlive its grant", got.ExpiresAt, g.ExpiresAt)

	// At the grant's expiry the family is over.
	_, err = s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: w.client.ID, Hash: "rt_a_2", Next: next("rt_a_3", g.ExpiresAt)}, g.ExpiresAt)
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrRevoked) {
		t.Errorf("RotateRefreshToken at the grant's expiry: got error %v, want %v or %v", err, store.ErrNotFound, store.ErrRevoked)
	}
}

func testRotateRefreshTokenConflict(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt1, _ := w.login(t, "a")
	rtB, _ := w.login(t, "b")
	now := t0.Add(time.Minute)

	w.rotate(t, rt1.Hash, rtB.Hash, now, store.ErrConflict)
	// Nothing was written: the old token still works.
	w.rotate(t, rt1.Hash, "rt_a_2", now, nil)
}

func testRotateRefreshTokenConcurrently(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")
	now := t0.Add(time.Minute)

	const n = 20
	errs := race(n, func(i int) error {
		_, err := s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: w.client.ID, Hash: rt.Hash, Next: next(fmt.Sprint("rt_next_", i), now)}, now)
		return err
	})

	wins, lost := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrRefreshReplayed), errors.Is(err, store.ErrRevoked):
			lost++
		default:
			t.Errorf("RotateRefreshToken %d: got error %v, want success, %v or %v", i, err, store.ErrRefreshReplayed, store.ErrRevoked)
		}
	}
	if wins != 1 || lost != n-1 {
		t.Errorf("%d concurrent rotations: got %d successes and %d replays, want 1 and %d", n, wins, lost, n-1)
	}
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	if got.RevokedAt.IsZero() {
		t.Errorf("Grant after concurrent replays: got RevokedAt zero, want it revoked")
	}
}

func testRevokeGrant(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	_, g := w.issue(t, "a")

	_, err := s.Grant(ctx(t), "grt_nobody")
	is(t, "Grant unknown", err, store.ErrNotFound)
	is(t, "RevokeGrant unknown", s.RevokeGrant(ctx(t), "grt_nobody", t0), store.ErrNotFound)

	first := t0.Add(time.Minute)
	is(t, "RevokeGrant", s.RevokeGrant(ctx(t), g.ID, first), nil)
	is(t, "RevokeGrant again", s.RevokeGrant(ctx(t), g.ID, first.Add(time.Hour)), nil)
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	want := g
	want.RevokedAt = first
	diff(t, "Grant after two revocations (first time kept)", got, want)
}

func testAccessTokens(t *testing.T, s store.Store) {
	revoked := func(jti string, want bool) {
		t.Helper()
		got, err := s.AccessTokenRevoked(ctx(t), jti)
		is(t, "AccessTokenRevoked", err, nil)
		if got != want {
			t.Errorf("AccessTokenRevoked(%q): got %v, want %v", jti, got, want)
		}
	}
	revoked("jti_1", false)
	is(t, "RevokeAccessToken", s.RevokeAccessToken(ctx(t), "jti_1", t0.Add(15*time.Minute)), nil)
	revoked("jti_1", true)
	revoked("jti_2", false)
	is(t, "RevokeAccessToken again", s.RevokeAccessToken(ctx(t), "jti_1", t0.Add(15*time.Minute)), nil)
	revoked("jti_1", true)
}

func testDeleteExpired(t *testing.T, s store.Store) {
	is(t, "DeleteExpired of an empty store", s.DeleteExpired(ctx(t), t0), nil)

	w := newWorld(t, s)
	now := t0.Add(time.Hour)

	sessLive := store.Session{IDHash: "sess_live", UserID: w.user.ID, CreatedAt: t0, ExpiresAt: now.Add(time.Hour)}
	sessOld := store.Session{IDHash: "sess_old", UserID: w.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	for _, sess := range []store.Session{sessLive, sessOld} {
		is(t, "CreateSession", s.CreateSession(ctx(t), sess), nil)
	}

	codeOld, _ := w.issue(t, "oldcode")
	codeLive, g := newCode("livecode", w.client.ID, w.user.ID)
	codeLive.ExpiresAt = now.Add(time.Minute)
	is(t, "CreateAuthCode", s.CreateAuthCode(ctx(t), codeLive, g), nil)

	rtLive, _ := w.login(t, "live")
	rtUsed, _ := w.login(t, "used")
	w.rotate(t, rtUsed.Hash, "rt_used_2", t0.Add(10*time.Minute), nil)

	c, _ := w.issue(t, "shortrt")
	rtOld := store.RefreshToken{Hash: "rt_old", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	_, err := s.RedeemAuthCode(ctx(t), c.Hash, rtOld, t0.Add(time.Second))
	is(t, "RedeemAuthCode", err, nil)

	c, gOld := newCode("shortgrant", w.client.ID, w.user.ID)
	gOld.ExpiresAt = t0.Add(50 * time.Minute)
	is(t, "CreateAuthCode", s.CreateAuthCode(ctx(t), c, gOld), nil)
	_, err = s.RedeemAuthCode(ctx(t), c.Hash, next("rt_shortgrant", t0), t0.Add(time.Second))
	is(t, "RedeemAuthCode", err, nil)

	is(t, "RevokeAccessToken", s.RevokeAccessToken(ctx(t), "jti_old", t0.Add(15*time.Minute)), nil)
	is(t, "RevokeAccessToken", s.RevokeAccessToken(ctx(t), "jti_live", now.Add(time.Minute)), nil)

	is(t, "DeleteExpired", s.DeleteExpired(ctx(t), now), nil)

	// What expired is gone: asked about with a "now" at which it was
	// still live, the store no longer has it.
	early := t0.Add(time.Second)
	_, err = s.Session(ctx(t), sessOld.IDHash, early)
	is(t, "Session that had expired", err, store.ErrNotFound)
	_, err = s.RedeemAuthCode(ctx(t), codeOld.Hash, next("rt_oldcode", early), early)
	is(t, "RedeemAuthCode of a code that had expired", err, store.ErrNotFound)
	_, _, err = s.RefreshTokenGrant(ctx(t), rtOld.Hash, early)
	is(t, "RefreshTokenGrant of a token that had expired", err, store.ErrNotFound)
	_, err = s.Grant(ctx(t), gOld.ID)
	is(t, "Grant that had expired", err, store.ErrNotFound)
	_, _, err = s.RefreshTokenGrant(ctx(t), "rt_shortgrant", early)
	is(t, "RefreshTokenGrant of an expired grant's token", err, store.ErrNotFound)
	gotRevoked, err := s.AccessTokenRevoked(ctx(t), "jti_old")
	is(t, "AccessTokenRevoked", err, nil)
	if gotRevoked {
		t.Errorf("AccessTokenRevoked of an expired record: got true, want false")
	}

	// What is live stays.
	_, err = s.Session(ctx(t), sessLive.IDHash, now)
	is(t, "live Session", err, nil)
	_, err = s.RedeemAuthCode(ctx(t), codeLive.Hash, next("rt_livecode", now), now)
	is(t, "RedeemAuthCode of a live code", err, nil)
	_, _, err = s.RefreshTokenGrant(ctx(t), rtLive.Hash, now)
	is(t, "RefreshTokenGrant of a live token", err, nil)
	gotRevoked, err = s.AccessTokenRevoked(ctx(t), "jti_live")
	is(t, "AccessTokenRevoked", err, nil)
	if !gotRevoked {
		t.Errorf("AccessTokenRevoked of a live record: got false, want true")
	}
	// A used refresh token that has not expired is kept, so its replay is
	// still caught.
	w.rotate(t, rtUsed.Hash, "rt_used_3", now, store.ErrRefreshReplayed)
}

func testTimes(t *testing.T, s store.Store) {
	w := newWorld(t, s)

	u, err := s.UserByID(ctx(t), w.user.ID)
	is(t, "UserByID", err, nil)
	if !u.CreatedAt.Equal(t0) {
		t.Errorf("CreatedAt: got %v, want %v (to the millisecond)", u.CreatedAt, t0)
	}
	if u.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location: got %v, want UTC", u.CreatedAt.Location())
	}

	// Finer than a millisecond: kept at least to the millisecond.
	fine := t0.Add(123_456 * time.Nanosecond)
	is(t, "CreateUser", s.CreateUser(ctx(t), store.User{ID: "usr_fine", Email: "fine@example.com", PasswordHash: "h", CreatedAt: fine}), nil)
	u, err = s.UserByID(ctx(t), "usr_fine")
	is(t, "UserByID", err, nil)
	if d := u.CreatedAt.Sub(fine).Abs(); d >= time.Millisecond {
		t.Errorf("CreatedAt: got %v, want %v to the millisecond (off by %v)", u.CreatedAt, fine, d)
	}

	// Zero times come back zero, not as year 1 in some zone or 1970.
	c, g := newCode("zero", w.client.ID, w.user.ID)
	g.AuthTime, c.AuthTime = time.Time{}, time.Time{}
	is(t, "CreateAuthCode", s.CreateAuthCode(ctx(t), c, g), nil)
	gotGrant, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	redeemed, err := s.RedeemAuthCode(ctx(t), c.Hash, next("rt_zero", t0), t0.Add(time.Second))
	is(t, "RedeemAuthCode", err, nil)
	sess := store.Session{IDHash: "sess_zero", UserID: w.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	is(t, "CreateSession", s.CreateSession(ctx(t), sess), nil)
	gotSess, err := s.Session(ctx(t), sess.IDHash, t0)
	is(t, "Session", err, nil)
	is(t, "SaveConsent", s.SaveConsent(ctx(t), store.Consent{UserID: w.user.ID, ClientID: w.client.ID, Scopes: []string{"user:information"}, GrantedAt: t0}), nil)
	gotConsent, err := s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent", err, nil)
	is(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), store.SigningKey{ID: "k", Algorithm: "ES256", EncryptedPrivateKey: []byte{1}, PublicJWK: []byte("{}"), CreatedAt: t0}), nil)
	keys, err := s.SigningKeys(ctx(t))
	is(t, "SigningKeys", err, nil)

	zeros := []struct {
		name string
		got  time.Time
	}{
		{"Grant.AuthTime", gotGrant.AuthTime},
		{"Grant.RevokedAt", gotGrant.RevokedAt},
		{"AuthCode.AuthTime", redeemed.AuthTime},
		{"Session.AuthTime", gotSess.AuthTime},
		{"Consent.LastUsedAt", gotConsent.LastUsedAt},
		{"SigningKey.RetiredAt", keys[0].RetiredAt},
	}
	for _, z := range zeros {
		if !z.got.IsZero() {
			t.Errorf("%s: got %v, want the zero time", z.name, z.got)
		}
	}
}
