package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The benchmarks of the single-use writes on the token endpoint's hot
// path, written once so every backend runs the same work and the figures
// compare. Each takes an empty store.

// benchWorld fills s with one user and one client.
func benchWorld(b *testing.B, s store.Store) (store.Client, store.User) {
	ctx := context.Background()
	now := time.Now()
	u := store.User{ID: "usr_bench", Email: "bench@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_bench", Name: "Bench", Type: store.Confidential, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateClient(ctx, c); err != nil {
		b.Fatal(err)
	}
	return c, u
}

func BenchRedeemAuthCode(b *testing.B, s store.Store) {
	c, u := benchWorld(b, s)
	ctx := context.Background()
	now := time.Now()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		g := store.Grant{ID: fmt.Sprint("grt_", i), ClientID: c.ID, UserID: u.ID, Scopes: []string{"user:information"},
			AMR: []string{"pwd"}, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		code := store.AuthCode{Hash: fmt.Sprint("code_", i), GrantID: g.ID, ClientID: c.ID, UserID: u.ID,
			RedirectURI: "https://app.example/cb", Scopes: g.Scopes, AMR: g.AMR, AuthTime: now,
			CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateAuthCode(ctx, code, g); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		first := store.RefreshToken{Hash: fmt.Sprint("rt_", i), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := s.RedeemAuthCode(ctx, code.Hash, first, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchRotateRefreshToken(b *testing.B, s store.Store) {
	c, u := benchWorld(b, s)
	ctx := context.Background()
	now := time.Now()
	g := store.Grant{ID: "grt_bench", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_bench", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := s.CreateAuthCode(ctx, code, g); err != nil {
		b.Fatal(err)
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, store.RefreshToken{Hash: "rt_0", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		old, next := fmt.Sprint("rt_", i), fmt.Sprint("rt_", i+1)
		i++
		if _, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: old, Next: store.RefreshToken{Hash: next, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRotateRefreshTokenParallel rotates many families at once, as a
// busy token endpoint does, and reports tail latency: writers must queue
// fairly, not starve. (PostgreSQL commits concurrent transactions together;
// SQLite pays one fsync per rotation.)
func BenchRotateRefreshTokenParallel(b *testing.B, s store.Store) {
	c, u := benchWorld(b, s)
	ctx := context.Background()
	now := time.Now()
	var (
		families atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
	)
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		f := families.Add(1)
		g := store.Grant{ID: fmt.Sprint("grt_", f), ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		code := store.AuthCode{Hash: fmt.Sprint("code_", f), GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateAuthCode(ctx, code, g); err != nil {
			b.Error(err)
			return
		}
		first := store.RefreshToken{Hash: fmt.Sprint("rt_", f, "_0"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := s.RedeemAuthCode(ctx, code.Hash, first, now); err != nil {
			b.Error(err)
			return
		}
		var mine []time.Duration
		for i := 0; pb.Next(); i++ {
			old, next := fmt.Sprint("rt_", f, "_", i), fmt.Sprint("rt_", f, "_", i+1)
			start := time.Now()
			_, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: old, Next: store.RefreshToken{Hash: next, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}, now)
			if err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
