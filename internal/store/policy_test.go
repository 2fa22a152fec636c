package store

import (
	"errors"
	"testing"
	"time"
)

// TestWhyNotRotated is the decision table of a refresh token the rotating
// UPDATE did not match, grace window included; the backends' conformance
// tests (package storetest) check that they read the row it needs.
func TestWhyNotRotated(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	const window = 30 * time.Second
	rotated := now.Add(-10 * time.Second) // inside the window
	spent := func(edit func(*RefreshState)) RefreshState {
		s := RefreshState{GrantID: "grt_a", ClientID: "aries_ci_a", UserID: "usr_a",
			Used: true, UsedAt: rotated, ExpiresAt: now.Add(time.Hour),
			GraceUntil: rotated.Add(window), Sealed: []byte("sealed"),
			Child:          ChildState{Found: true, ExpiresAt: now.Add(time.Hour)},
			GrantExpiresAt: now.Add(24 * time.Hour)}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	retry := RefreshUse{ClientID: "aries_ci_a", Hash: "rt_a", Next: RefreshToken{Hash: "rt_x"}, Grace: window, Sealed: []byte("x")}
	with := func(edit func(*RefreshUse)) RefreshUse {
		u := retry
		edit(&u)
		return u
	}
	replay := NotRotated{Revoke: true, Wipe: true, Err: ErrRefreshReplayed}

	for _, tt := range []struct {
		name  string
		state RefreshState
		use   RefreshUse
		want  NotRotated
	}{
		{"retry in the window", spent(nil), retry, NotRotated{Grace: true}},
		{"retry at the window's end", spent(func(s *RefreshState) { s.UsedAt, s.GraceUntil = now.Add(-window), now }), retry, replay},
		{"client's window shortened", spent(nil), with(func(u *RefreshUse) { u.Grace = 5 * time.Second }), replay},
		{"no copy kept", spent(func(s *RefreshState) { s.Sealed, s.GraceUntil = nil, time.Time{} }), retry,
			NotRotated{Revoke: true, Err: ErrRefreshReplayed}},
		{"child rotated", spent(func(s *RefreshState) { s.Child.Used = true }), retry, replay},
		{"child gone", spent(func(s *RefreshState) { s.Child = ChildState{} }), retry, replay},
		{"child bound to another key", spent(func(s *RefreshState) { s.Child.DPoPJKT = "jkt_b" }), retry, replay},
		{"grant revoked in the window", spent(func(s *RefreshState) { s.GrantRevokedAt = rotated }), retry,
			NotRotated{Wipe: true, Err: ErrRevoked}},
		{"another client", spent(nil), with(func(u *RefreshUse) { u.ClientID = "aries_ci_b" }), NotRotated{Err: ErrNotFound}},
		{"bound parent, another key", spent(func(s *RefreshState) { s.DPoPJKT = "jkt_a" }),
			with(func(u *RefreshUse) { u.Next.DPoPJKT = "jkt_b" }), NotRotated{Err: ErrDPoPKeyMismatch}},
		{"bound parent, its key", spent(func(s *RefreshState) { s.DPoPJKT, s.Child.DPoPJKT = "jkt_a", "jkt_a" }),
			with(func(u *RefreshUse) { u.Next.DPoPJKT = "jkt_a" }), NotRotated{Grace: true}},
		{"unspent, expired", RefreshState{ClientID: "aries_ci_a", ExpiresAt: now}, retry, NotRotated{Err: ErrNotFound}},
		{"unspent, live: the grant failed", RefreshState{ClientID: "aries_ci_a", ExpiresAt: now.Add(time.Hour)}, retry,
			NotRotated{Err: ErrRevoked}},
	} {
		got := WhyNotRotated(tt.state, tt.use, now)
		if got.Grace != tt.want.Grace || got.Revoke != tt.want.Revoke || got.Wipe != tt.want.Wipe || !errors.Is(got.Err, tt.want.Err) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
