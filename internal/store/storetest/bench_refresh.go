package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The refresh-token policies on the token endpoint's hot path
// (docs/fapi.md#refresh-token-policy), beside BenchRotateRefreshToken: a
// rotation that keeps a grace copy of its child, a retry served from that
// copy, and a use of a token that is not rotated.

// benchSealed is the size of a sealed child: version, nonce, a 52-byte
// token, GCM tag.
var benchSealed = make([]byte, 1+12+52+16)

// benchFamily stores one grant whose first refresh token is "rt_0".
func benchFamily(b *testing.B, s store.Store, now time.Time) store.Client {
	c, u := benchWorld(b, s)
	g := store.Grant{ID: "grt_bench", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_bench", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := s.CreateAuthCode(context.Background(), code, g); err != nil {
		b.Fatal(err)
	}
	if _, err := s.RedeemAuthCode(context.Background(), code.Hash, store.RefreshToken{Hash: "rt_0", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchRotateRefreshTokenGrace rotates one family's token again and again
// under a 60-second grace window: BenchRotateRefreshToken plus the sealed
// copy written on each spent row.
func BenchRotateRefreshTokenGrace(b *testing.B, s store.Store) {
	now := time.Now()
	c := benchFamily(b, s, now)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		old, next := fmt.Sprint("rt_", i), fmt.Sprint("rt_", i+1)
		i++
		res, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: old,
			Next:  store.RefreshToken{Hash: next, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			Grace: time.Minute, Sealed: benchSealed}, now)
		if err != nil || res.Outcome != store.RefreshRotated {
			b.Fatalf("rotation %d: outcome %v, error %v", i, res.Outcome, err)
		}
	}
}

// BenchRefreshTokenGraceHit presents one spent token again and again
// within its grace window: each use reads the spent row, its child and
// grant, and writes nothing.
func BenchRefreshTokenGraceHit(b *testing.B, s store.Store) {
	now := time.Now()
	c := benchFamily(b, s, now)
	ctx := context.Background()
	use := func(next string) store.Refreshed {
		res, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_0",
			Next:  store.RefreshToken{Hash: next, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			Grace: time.Minute, Sealed: benchSealed}, now)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	use("rt_1")
	i := 1
	for b.Loop() {
		i++
		if res := use(fmt.Sprint("rt_", i)); res.Outcome != store.RefreshGrace {
			b.Fatalf("retry %d: outcome %v, want RefreshGrace", i, res.Outcome)
		}
	}
}

// BenchRefreshTokenNone uses one token that is not rotated again and
// again: one UPDATE of its expiry, no INSERT.
func BenchRefreshTokenNone(b *testing.B, s store.Store) {
	now := time.Now()
	c := benchFamily(b, s, now)
	ctx := context.Background()
	for b.Loop() {
		res, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_0", Rotation: store.RotationNone,
			Next: store.RefreshToken{ExpiresAt: now.Add(time.Hour)}}, now)
		if err != nil || res.Outcome != store.RefreshKept {
			b.Fatalf("outcome %v, error %v", res.Outcome, err)
		}
	}
}
