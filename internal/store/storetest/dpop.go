package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The DPoP rows (RFC 9449): a client's dpop_bound_access_tokens, the
// dpop_jkt an authorization code is bound to, the key a refresh token is
// bound to, and the replay cache of proofs.

func testDPoPClientSetting(t *testing.T, s store.Store) {
	c := mustClient(t, s, "aries_ci_plain", "", t0)
	bound := store.Client{
		ID: "aries_ci_bound", Name: "Bound", Type: store.Public,
		RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"account:information"},
		CreatedAt: t0, UpdatedAt: t0, DPoPBoundAccessTokens: true,
	}
	is(t, "CreateClient bound", s.CreateClient(ctx(t), bound), nil)
	for _, want := range []store.Client{c, bound} {
		got, err := s.Client(ctx(t), want.ID)
		is(t, "Client "+want.ID, err, nil)
		diff(t, "Client "+want.ID, got, want)
	}

	// UpdateClient sets and clears it.
	c.DPoPBoundAccessTokens, c.UpdatedAt = true, t0.Add(time.Minute)
	bound.DPoPBoundAccessTokens, bound.UpdatedAt = false, t0.Add(time.Minute)
	is(t, "UpdateClient set", s.UpdateClient(ctx(t), c), nil)
	is(t, "UpdateClient clear", s.UpdateClient(ctx(t), bound), nil)
	list, err := s.Clients(ctx(t), "")
	is(t, "Clients", err, nil)
	diff(t, "Clients after update", list, []store.Client{bound, c})
}

func testAuthCodeDPoPJKT(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c, g := newCode("bound", w.client.ID, w.user.ID)
	c.DPoPJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	is(t, "CreateAuthCode", s.CreateAuthCode(ctx(t), c, g), nil)
	looked, err := s.AuthCode(ctx(t), c.Hash, t0)
	is(t, "AuthCode", err, nil)
	diff(t, "AuthCode", looked, c)
	now := t0.Add(time.Second)
	got, err := s.RedeemAuthCode(ctx(t), c.Hash, next("rt_bound", now), now)
	is(t, "RedeemAuthCode", err, nil)
	want := c
	want.UsedAt = now
	diff(t, "redeemed code", got, want)

	// An unbound code reads back "".
	plain, _ := w.issue(t, "plain")
	got, err = s.AuthCode(ctx(t), plain.Hash, t0)
	is(t, "AuthCode plain", err, nil)
	if got.DPoPJKT != "" {
		t.Errorf("unbound code: DPoPJKT %q, want empty", got.DPoPJKT)
	}
}

// boundNext is the refresh token a rotation at now stores, bound to jkt.
func boundNext(hash, jkt string, now time.Time) store.RefreshToken {
	rt := next(hash, now)
	rt.DPoPJKT = jkt
	return rt
}

// testRefreshTokenDPoPBinding: a bound refresh token rotates only for its
// key (RFC 9449 section 5), and a request without that key changes
// nothing, not even when it replays a spent token.
func testRefreshTokenDPoPBinding(t *testing.T, s store.Store) {
	const alice, mallory = "jkt_alice", "jkt_mallory"
	w := newWorld(t, s)
	c, g := w.issue(t, "a")
	now := t0.Add(time.Second)
	_, err := s.RedeemAuthCode(ctx(t), c.Hash, boundNext("rt_a", alice, now), now)
	is(t, "RedeemAuthCode bound", err, nil)
	rt, _, err := s.RefreshTokenGrant(ctx(t), "rt_a", now)
	is(t, "RefreshTokenGrant", err, nil)
	if rt.DPoPJKT != alice {
		t.Fatalf("first refresh token bound to %q, want %q", rt.DPoPJKT, alice)
	}

	rotate := func(hash, nextHash, jkt string, at time.Time, want error) {
		t.Helper()
		_, err := s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: w.client.ID, Hash: hash, Next: boundNext(nextHash, jkt, at)}, at)
		is(t, fmt.Sprintf("RotateRefreshToken(%s) with key %q", hash, jkt), err, want)
	}
	at := t0.Add(time.Minute)
	rotate("rt_a", "rt_x1", mallory, at, store.ErrDPoPKeyMismatch)
	rotate("rt_a", "rt_x2", "", at, store.ErrDPoPKeyMismatch)
	// Nothing was rotated: the token is still live and bound.
	if _, _, err := s.RefreshTokenGrant(ctx(t), "rt_a", at); err != nil {
		t.Fatalf("after refused rotations the token is gone: %v", err)
	}
	for _, h := range []string{"rt_x1", "rt_x2"} {
		_, _, err := s.RefreshTokenGrant(ctx(t), h, at)
		is(t, "RefreshTokenGrant of a refused rotation's token", err, store.ErrNotFound)
	}

	rotate("rt_a", "rt_a2", alice, at, nil)
	rt2, _, err := s.RefreshTokenGrant(ctx(t), "rt_a2", at)
	is(t, "RefreshTokenGrant of the rotated token", err, nil)
	if rt2.DPoPJKT != alice {
		t.Errorf("rotated token bound to %q, want %q", rt2.DPoPJKT, alice)
	}

	// A thief with the spent token and another key cannot revoke the
	// family by replaying it; the key holder's replay does.
	rotate("rt_a", "rt_x3", mallory, at.Add(time.Second), store.ErrDPoPKeyMismatch)
	got, err := s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	if !got.RevokedAt.IsZero() {
		t.Fatalf("a replay with another key revoked the grant")
	}
	rotate("rt_a", "rt_x4", alice, at.Add(2*time.Second), store.ErrRefreshReplayed)
	got, err = s.Grant(ctx(t), g.ID)
	is(t, "Grant", err, nil)
	if got.RevokedAt.IsZero() {
		t.Errorf("a replay with the bound key left the grant live")
	}

	// An unbound token (a public client that sent no proof at first) is
	// bound by its first rotation with a key.
	rtU, _ := w.login(t, "u")
	rotate(rtU.Hash, "rt_u2", alice, at, nil)
	rtU2, _, err := s.RefreshTokenGrant(ctx(t), "rt_u2", at)
	is(t, "RefreshTokenGrant", err, nil)
	if rtU2.DPoPJKT != alice {
		t.Errorf("unbound token rotated with a key: new token bound to %q, want %q", rtU2.DPoPJKT, alice)
	}
	// And an unbound token rotates without one, as before DPoP.
	rtV, _ := w.login(t, "v")
	rotate(rtV.Hash, "rt_v2", "", at, nil)
}

// testUseDPoPProofs: the replay cache of proofs, single use by its key,
// within one batch and across batches.
func testUseDPoPProofs(t *testing.T, s store.Store) {
	type use struct {
		key     string
		expires time.Duration // after t0
		fresh   bool
	}
	steps := []struct {
		name string
		at   time.Duration // now, after t0
		uses []use
	}{
		{"new keys", 0, []use{{"p1", time.Minute, true}, {"p2", time.Minute, true}}},
		{"a replay beside a new key", 0, []use{{"p3", time.Minute, true}, {"p1", time.Minute, false}}},
		{"replays until the expiry", 59 * time.Second, []use{{"p1", time.Minute, false}, {"p2", time.Minute, false}}},
		{"a key twice in one batch: the first wins", 0, []use{{"p4", time.Minute, true}, {"p4", time.Minute, false}, {"p4", time.Minute, false}}},
		// Once expired, a key is free again, for a new expiry.
		{"an expired key", time.Minute, []use{{"p1", 2 * time.Minute, true}}},
		{"its new record", time.Minute + time.Second, []use{{"p1", 2 * time.Minute, false}}},
		{"an empty batch", 0, nil},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		proofs := make([]store.DPoPProof, len(st.uses))
		for i, u := range st.uses {
			proofs[i] = store.DPoPProof{Key: u.key, ExpiresAt: t0.Add(u.expires)}
		}
		got, err := s.UseDPoPProofs(ctx(t), proofs, now)
		is(t, "UseDPoPProofs: "+st.name, err, nil)
		want := make([]bool, len(st.uses))
		for i, u := range st.uses {
			want[i] = u.fresh
		}
		diff(t, "UseDPoPProofs: "+st.name, got, want)
	}

	// DeleteExpired removes expired records: read at a time before their
	// expiry, a deleted key is fresh again, a kept one is not.
	keep := []store.DPoPProof{{Key: "p5", ExpiresAt: t0.Add(10 * time.Minute)}}
	_, err := s.UseDPoPProofs(ctx(t), keep, t0)
	is(t, "UseDPoPProofs", err, nil)
	is(t, "DeleteExpired", s.DeleteExpired(ctx(t), t0.Add(5*time.Minute)), nil)
	got, err := s.UseDPoPProofs(ctx(t), []store.DPoPProof{{Key: "p3", ExpiresAt: t0.Add(time.Minute)}, keep[0]}, t0)
	is(t, "UseDPoPProofs after DeleteExpired", err, nil)
	diff(t, "after DeleteExpired (p3 deleted, p5 kept)", got, []bool{true, false})

	// Of concurrent batches sharing keys, in any order, each key is new
	// for exactly one of them.
	keys := []string{"c1", "c2", "c3", "c4"}
	errs := make([]error, 16)
	wins := map[string]int{}
	var mu sync.Mutex
	race(16, func(i int) error {
		batch := make([]store.DPoPProof, len(keys))
		for j := range keys {
			batch[j] = store.DPoPProof{Key: keys[(i+j)%len(keys)], ExpiresAt: t0.Add(time.Minute)}
		}
		fresh, err := s.UseDPoPProofs(ctx(t), batch, t0)
		errs[i] = err
		mu.Lock()
		defer mu.Unlock()
		for j, ok := range fresh {
			if ok {
				wins[batch[j].Key]++
			}
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent batch %d: %v", i, err)
		}
	}
	for _, k := range keys {
		if wins[k] != 1 {
			t.Errorf("key %s was new for %d of 16 concurrent batches, want 1", k, wins[k])
		}
	}
}
