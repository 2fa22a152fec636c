package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The refresh-token policies of docs/fapi.md#refresh-token-policy: none
// (the token is kept, its idle expiry slides) and rotation with a grace
// window (a retry of a rotation returns the same child).

const grace = 30 * time.Second

// keep is a use of hash under RotationNone at now, sliding the token's idle
// expiry to now+refreshLife.
func keep(clientID, hash string, now time.Time) store.RefreshUse {
	return store.RefreshUse{ClientID: clientID, Hash: hash, Rotation: store.RotationNone,
		Next: store.RefreshToken{ExpiresAt: now.Add(refreshLife)}}
}

// graceful is a rotation of hash into nextHash at now with a grace window
// of window; its sealed child is "sealed:"+nextHash.
func graceful(clientID, hash, nextHash string, window time.Duration, now time.Time) store.RefreshUse {
	return store.RefreshUse{ClientID: clientID, Hash: hash, Rotation: store.RotationRotate,
		Next: next(nextHash, now), Grace: window, Sealed: []byte("sealed:" + nextHash)}
}

// use runs u at now and expects want.
func use(t *testing.T, s store.Store, u store.RefreshUse, now time.Time, want error) store.Refreshed {
	t.Helper()
	res, err := s.UseRefreshToken(ctx(t), u, now)
	is(t, fmt.Sprintf("UseRefreshToken(%s, rotation %q, grace %v, key %q) at +%v",
		u.Hash, u.Rotation, u.Grace, u.Next.DPoPJKT, now.Sub(t0)), err, want)
	return res
}

func revoked(t *testing.T, s store.Store, grantID string) bool {
	t.Helper()
	g, err := s.Grant(ctx(t), grantID)
	is(t, "Grant", err, nil)
	return !g.RevokedAt.IsZero()
}

// testRefreshTokenNone: a token that is not rotated stays usable, again
// and again, and each use slides its idle expiry, never past its grant's.
func testRefreshTokenNone(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")

	// Each use is before the expiry the previous one set, and after the
	// one before it: without sliding, the token would be dead.
	for _, at := range []time.Time{t0.Add(time.Hour), t0.Add(20 * day), t0.Add(45 * day), t0.Add(70 * day)} {
		res := use(t, s, keep(w.client.ID, rt.Hash, at), at, nil)
		if res.Outcome != store.RefreshKept {
			t.Errorf("outcome %v, want RefreshKept", res.Outcome)
		}
		diff(t, "grant of a kept token", res.Grant, g)
		got, _, err := s.RefreshTokenGrant(ctx(t), rt.Hash, at)
		is(t, "RefreshTokenGrant of a kept token", err, nil)
		want := at.Add(refreshLife)
		if want.After(g.ExpiresAt) {
			want = g.ExpiresAt // the family's absolute limit
		}
		sameTime(t, fmt.Sprintf("ExpiresAt after a use at +%v", at.Sub(t0)), got.ExpiresAt, want)
		if !got.UsedAt.IsZero() {
			t.Errorf("a kept token was marked used at %v", got.UsedAt)
		}
	}

	// A use asking for a shorter expiry does not shorten it.
	at := t0.Add(71 * day)
	u := keep(w.client.ID, rt.Hash, at)
	u.Next.ExpiresAt = at.Add(time.Hour)
	use(t, s, u, at, nil)
	got, _, err := s.RefreshTokenGrant(ctx(t), rt.Hash, at)
	is(t, "RefreshTokenGrant", err, nil)
	sameTime(t, "ExpiresAt after a use asking for less", got.ExpiresAt, g.ExpiresAt)

	// At the grant's absolute expiry the kept token dies with it.
	_, err = s.UseRefreshToken(ctx(t), keep(w.client.ID, rt.Hash, g.ExpiresAt), g.ExpiresAt)
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrRevoked) {
		t.Errorf("UseRefreshToken at the grant's expiry: got error %v, want %v or %v", err, store.ErrNotFound, store.ErrRevoked)
	}

	// Another client's token stays another client's.
	other := mustClient(t, s, "aries_ci_other", "", t0)
	rtB, gB := w.login(t, "b")
	now := t0.Add(time.Minute)
	use(t, s, keep(other.ID, rtB.Hash, now), now, store.ErrNotFound)

	// A token spent under rotation, presented under none, is a replay.
	w.rotate(t, rtB.Hash, "rt_b_2", now, nil)
	use(t, s, keep(w.client.ID, rtB.Hash, now), now, store.ErrRefreshReplayed)
	if !revoked(t, s, gB.ID) {
		t.Errorf("a replay under none left the grant live")
	}
	use(t, s, keep(w.client.ID, "rt_b_2", now), now, store.ErrRevoked)
}

// testRefreshTokenNoneDPoP: a kept token bound to a DPoP key is used only
// with that key (RFC 9449 section 5).
func testRefreshTokenNoneDPoP(t *testing.T, s store.Store) {
	const alice, mallory = "jkt_alice", "jkt_mallory"
	w := newWorld(t, s)
	c, g := w.issue(t, "a")
	now := t0.Add(time.Second)
	_, err := s.RedeemAuthCode(ctx(t), c.Hash, boundNext("rt_a", alice, now), now)
	is(t, "RedeemAuthCode bound", err, nil)

	at := t0.Add(time.Minute)
	for _, jkt := range []string{mallory, ""} {
		u := keep(w.client.ID, "rt_a", at)
		u.Next.DPoPJKT = jkt
		use(t, s, u, at, store.ErrDPoPKeyMismatch)
	}
	u := keep(w.client.ID, "rt_a", at)
	u.Next.DPoPJKT = alice
	use(t, s, u, at, nil)
	use(t, s, u, at.Add(time.Second), nil)
	if revoked(t, s, g.ID) {
		t.Errorf("the grant was revoked")
	}
}

// testRefreshTokenNoneConcurrently: concurrent uses of a kept token all
// succeed; there is nothing to win.
func testRefreshTokenNoneConcurrently(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")
	now := t0.Add(time.Minute)
	const n = 30
	errs := race(n, func(i int) error {
		_, err := s.UseRefreshToken(ctx(t), keep(w.client.ID, rt.Hash, now), now)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("use %d of %d: got error %v, want success", i, n, err)
		}
	}
	if revoked(t, s, g.ID) {
		t.Errorf("concurrent uses of a kept token revoked its grant")
	}
	_, _, err := s.RefreshTokenGrant(ctx(t), rt.Hash, now)
	is(t, "RefreshTokenGrant after concurrent uses", err, nil)
}

// testRefreshTokenGrace: within the window a retry of a rotation returns
// the child the rotation stored and stores nothing; at its end, the retry
// is a replay and the family dies.
func testRefreshTokenGrace(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")
	t1 := t0.Add(time.Minute)

	res := use(t, s, graceful(w.client.ID, rt.Hash, "rt_a_2", grace, t1), t1, nil)
	if res.Outcome != store.RefreshRotated || res.Sealed != nil {
		t.Errorf("first use: outcome %v with sealed %q, want RefreshRotated and none", res.Outcome, res.Sealed)
	}
	diff(t, "grant of the rotation", res.Grant, g)

	for i, at := range []time.Time{t1, t1.Add(10 * time.Second), t1.Add(grace - time.Millisecond)} {
		nextHash := fmt.Sprint("rt_retry_", i)
		res := use(t, s, graceful(w.client.ID, rt.Hash, nextHash, grace, at), at, nil)
		if res.Outcome != store.RefreshGrace || string(res.Sealed) != "sealed:rt_a_2" {
			t.Errorf("retry at +%v: outcome %v with sealed %q, want RefreshGrace with %q", at.Sub(t1), res.Outcome, res.Sealed, "sealed:rt_a_2")
		}
		diff(t, "grant of a retry", res.Grant, g)
		_, _, err := s.RefreshTokenGrant(ctx(t), nextHash, at)
		is(t, "RefreshTokenGrant of the token a retry offered", err, store.ErrNotFound)
	}
	// The child is the family's one live token.
	_, _, err := s.RefreshTokenGrant(ctx(t), "rt_a_2", t1.Add(grace-time.Millisecond))
	is(t, "RefreshTokenGrant of the child", err, nil)
	_, _, err = s.RefreshTokenGrant(ctx(t), rt.Hash, t1)
	is(t, "RefreshTokenGrant of the parent", err, store.ErrNotFound)
	if revoked(t, s, g.ID) {
		t.Fatalf("retries within the window revoked the grant")
	}

	end := t1.Add(grace)
	use(t, s, graceful(w.client.ID, rt.Hash, "rt_late", grace, end), end, store.ErrRefreshReplayed)
	if !revoked(t, s, g.ID) {
		t.Errorf("a retry after the window left the grant live")
	}
	use(t, s, graceful(w.client.ID, "rt_a_2", "rt_a_3", grace, end), end, store.ErrRevoked)
}

// testRefreshTokenGraceOtherClient: another client presenting the spent
// token within the window gets nothing, and cannot revoke a family that is
// not its own (the rule of WhyNotRotated).
func testRefreshTokenGraceOtherClient(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	other := mustClient(t, s, "aries_ci_other", "", t0)
	rt, g := w.login(t, "a")
	t1 := t0.Add(time.Minute)
	use(t, s, graceful(w.client.ID, rt.Hash, "rt_a_2", grace, t1), t1, nil)

	at := t1.Add(time.Second)
	res := use(t, s, graceful(other.ID, rt.Hash, "rt_stolen", grace, at), at, store.ErrNotFound)
	if res.Sealed != nil {
		t.Errorf("another client got the child %q", res.Sealed)
	}
	if revoked(t, s, g.ID) {
		t.Errorf("another client's retry revoked the grant")
	}
	res = use(t, s, graceful(w.client.ID, rt.Hash, "rt_retry", grace, at), at, nil)
	if res.Outcome != store.RefreshGrace {
		t.Errorf("the client's own retry: outcome %v, want RefreshGrace", res.Outcome)
	}
}

// testRefreshTokenGraceDPoP: a retry must prove the key the rotation it
// repeats proved. For a bound parent another key is refused and changes
// nothing (RFC 9449 section 5); for an unbound parent another key than the
// child's is a second party: a replay.
func testRefreshTokenGraceDPoP(t *testing.T, s store.Store) {
	const alice, mallory = "jkt_alice", "jkt_mallory"
	w := newWorld(t, s)
	c, g := w.issue(t, "a")
	now := t0.Add(time.Second)
	_, err := s.RedeemAuthCode(ctx(t), c.Hash, boundNext("rt_a", alice, now), now)
	is(t, "RedeemAuthCode bound", err, nil)
	bound := func(hash, nextHash, jkt string, at time.Time) store.RefreshUse {
		u := graceful(w.client.ID, hash, nextHash, grace, at)
		u.Next.DPoPJKT = jkt
		return u
	}

	t1 := t0.Add(time.Minute)
	use(t, s, bound("rt_a", "rt_a_2", alice, t1), t1, nil)
	at := t1.Add(time.Second)
	use(t, s, bound("rt_a", "rt_m", mallory, at), at, store.ErrDPoPKeyMismatch)
	use(t, s, bound("rt_a", "rt_m", "", at), at, store.ErrDPoPKeyMismatch)
	if revoked(t, s, g.ID) {
		t.Fatalf("a retry with another key revoked the grant")
	}
	res := use(t, s, bound("rt_a", "rt_r", alice, at), at, nil)
	if res.Outcome != store.RefreshGrace || string(res.Sealed) != "sealed:rt_a_2" {
		t.Errorf("retry with the key: outcome %v with %q, want RefreshGrace with %q", res.Outcome, res.Sealed, "sealed:rt_a_2")
	}

	// An unbound token bound by its rotation: a retry with another key.
	rtU, gU := w.login(t, "u")
	use(t, s, bound(rtU.Hash, "rt_u_2", alice, t1), t1, nil)
	use(t, s, bound(rtU.Hash, "rt_u_m", mallory, at), at, store.ErrRefreshReplayed)
	if !revoked(t, s, gU.ID) {
		t.Errorf("a retry of an unbound token with another key than its child's left the grant live")
	}
}

// testRefreshTokenGraceChildRotated: once the child is itself rotated, a
// retry of the parent is a replay even within the window (WhyNotRotated
// says why).
func testRefreshTokenGraceChildRotated(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")
	t1 := t0.Add(time.Minute)
	use(t, s, graceful(w.client.ID, rt.Hash, "rt_a_2", grace, t1), t1, nil)
	use(t, s, graceful(w.client.ID, "rt_a_2", "rt_a_3", grace, t1.Add(5*time.Second)), t1.Add(5*time.Second), nil)

	at := t1.Add(10 * time.Second)
	use(t, s, graceful(w.client.ID, rt.Hash, "rt_x", grace, at), at, store.ErrRefreshReplayed)
	if !revoked(t, s, g.ID) {
		t.Errorf("a retry of a grandparent left the grant live")
	}
}

// testRefreshTokenGraceChanged: the window is the shorter of the one the
// rotation kept and the client's current one, and a rotation made without a
// window keeps no child.
func testRefreshTokenGraceChanged(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	t1 := t0.Add(time.Minute)
	at := t1.Add(10 * time.Second)
	for _, tt := range []struct {
		name          string
		first, second time.Duration
		want          error
	}{
		{"same", grace, grace, nil},
		{"shortened", grace, 5 * time.Second, store.ErrRefreshReplayed},
		{"removed", grace, 0, store.ErrRefreshReplayed},
		{"added", 0, grace, store.ErrRefreshReplayed},
		{"lengthened", 5 * time.Second, 60 * time.Second, store.ErrRefreshReplayed},
	} {
		rt, g := w.login(t, tt.name)
		use(t, s, graceful(w.client.ID, rt.Hash, "rt_next_"+tt.name, tt.first, t1), t1, nil)
		use(t, s, graceful(w.client.ID, rt.Hash, "rt_retry_"+tt.name, tt.second, at), at, tt.want)
		if got := revoked(t, s, g.ID); got != (tt.want != nil) {
			t.Errorf("%s: grant revoked %v, want %v", tt.name, got, tt.want != nil)
		}
	}
}

// testRefreshTokenGraceConcurrently: of concurrent uses of one token by a
// client with a grace window, one rotates it and every other gets the same
// child. After the window, concurrent retries are all replays.
func testRefreshTokenGraceConcurrently(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, g := w.login(t, "a")
	now := t0.Add(time.Minute)

	const n = 30
	results := make([]store.Refreshed, n)
	errs := race(n, func(i int) error {
		var err error
		results[i], err = s.UseRefreshToken(ctx(t), graceful(w.client.ID, rt.Hash, fmt.Sprint("rt_next_", i), grace, now), now)
		return err
	})
	winner := -1
	for i, res := range results {
		if errs[i] != nil {
			t.Errorf("use %d: got error %v, want success", i, errs[i])
			continue
		}
		if res.Outcome == store.RefreshRotated {
			if winner >= 0 {
				t.Errorf("uses %d and %d both rotated the token", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("%d concurrent uses: none rotated the token", n)
	}
	want := []byte(fmt.Sprint("sealed:rt_next_", winner))
	for i, res := range results {
		if i != winner && errs[i] == nil && (res.Outcome != store.RefreshGrace || !bytes.Equal(res.Sealed, want)) {
			t.Errorf("use %d: outcome %v with child %q, want RefreshGrace with the winner's %q", i, res.Outcome, res.Sealed, want)
		}
	}
	if revoked(t, s, g.ID) {
		t.Fatalf("concurrent uses within the window revoked the grant")
	}
	for i := range n {
		_, _, err := s.RefreshTokenGrant(ctx(t), fmt.Sprint("rt_next_", i), now)
		if i == winner {
			is(t, "RefreshTokenGrant of the child", err, nil)
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RefreshTokenGrant of loser %d's token: got error %v, want %v", i, err, store.ErrNotFound)
		}
	}

	after := now.Add(grace)
	errs = race(n, func(i int) error {
		res, err := s.UseRefreshToken(ctx(t), graceful(w.client.ID, rt.Hash, fmt.Sprint("rt_late_", i), grace, after), after)
		if err == nil {
			return fmt.Errorf("succeeded with outcome %v", res.Outcome)
		}
		return err
	})
	for i, err := range errs {
		if !errors.Is(err, store.ErrRefreshReplayed) {
			t.Errorf("retry %d after the window: got error %v, want %v", i, err, store.ErrRefreshReplayed)
		}
	}
	if !revoked(t, s, g.ID) {
		t.Errorf("retries after the window left the grant live")
	}
}

// testRefreshUseChecks: a use the store cannot carry out is refused before
// anything is read.
func testRefreshUseChecks(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	rt, _ := w.login(t, "a")
	now := t0.Add(time.Minute)
	for name, u := range map[string]store.RefreshUse{
		"unknown rotation":       {ClientID: w.client.ID, Hash: rt.Hash, Next: next("rt_x", now), Rotation: "sometimes"},
		"no next hash":           {ClientID: w.client.ID, Hash: rt.Hash},
		"grace without a sealed": {ClientID: w.client.ID, Hash: rt.Hash, Next: next("rt_x", now), Grace: grace},
		"negative grace":         {ClientID: w.client.ID, Hash: rt.Hash, Next: next("rt_x", now), Grace: -grace},
	} {
		if _, err := s.UseRefreshToken(ctx(t), u, now); err == nil {
			t.Errorf("%s: UseRefreshToken succeeded, want an error", name)
		}
	}
	w.rotate(t, rt.Hash, "rt_a_2", now, nil)
}

// GraceCopy checks that the sealed child a rotation keeps for its window is
// on the spent row during the window only: DeleteExpired wipes it at the
// window's end, and so does a use of the row after it. sealed reads the
// copy kept on the row of hash straight from the backend, nil for none.
func GraceCopy(t *testing.T, s store.Store, sealed func(hash string) []byte) {
	w := newWorld(t, s)
	t1 := t0.Add(time.Minute)
	for _, name := range []string{"swept", "used"} {
		rt, _ := w.login(t, name)
		use(t, s, graceful(w.client.ID, rt.Hash, "rt_next_"+name, grace, t1), t1, nil)
		if got := string(sealed(rt.Hash)); got != "sealed:rt_next_"+name {
			t.Fatalf("%s: copy on the spent row in the window: %q, want %q", name, got, "sealed:rt_next_"+name)
		}
	}
	rtNone, _ := w.login(t, "none")
	use(t, s, graceful(w.client.ID, rtNone.Hash, "rt_next_none", 0, t1), t1, nil)
	if got := sealed(rtNone.Hash); got != nil {
		t.Errorf("a rotation without a window kept %q", got)
	}

	is(t, "DeleteExpired in the window", s.DeleteExpired(ctx(t), t1.Add(grace-time.Millisecond)), nil)
	if sealed("rt_swept") == nil {
		t.Fatalf("DeleteExpired wiped the copy inside its window")
	}
	end := t1.Add(grace)
	use(t, s, graceful(w.client.ID, "rt_used", "rt_late", grace, end), end, store.ErrRefreshReplayed)
	if got := sealed("rt_used"); got != nil {
		t.Errorf("a use after the window left the copy %q", got)
	}
	is(t, "DeleteExpired at the window's end", s.DeleteExpired(ctx(t), end), nil)
	if got := sealed("rt_swept"); got != nil {
		t.Errorf("DeleteExpired at the window's end left the copy %q", got)
	}
	// The spent row itself stays, so a replay is still caught.
	use(t, s, graceful(w.client.ID, "rt_swept", "rt_late_2", grace, end), end, store.ErrRefreshReplayed)
}
