package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// TestImportGrants stores families in bulk and checks that the store then
// treats them like families it made itself: the newest token rotates, an
// older one is a replay that revokes its family, expiry is clamped to the
// grant's, a DPoP binding is kept; and that a bad import stores nothing.
func TestImportGrants(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Schema(t, pgtest.Database(t)))
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	u := store.User{ID: "usr_a", Email: "a@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_a", Name: "A", Type: store.Confidential, SecretHash: "h1$x",
		RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"read"}, CreatedAt: now, UpdatedAt: now}
	if err := errors.Join(s.CreateUser(ctx, u), s.CreateClient(ctx, c)); err != nil {
		t.Fatal(err)
	}
	// Batches smaller than the import, so that several COPY statements
	// and the last partial one are exercised.
	defer func(n int) { importBatch = n }(importBatch)
	importBatch = 64
	const families, size = 100, 4
	family := func(i int) Family {
		f := Family{Grant: store.Grant{ID: fmt.Sprintf("grt_%03d", i), ClientID: c.ID, UserID: u.ID,
			Scopes: []string{"user:information"}, AuthTime: now, AMR: []string{"pwd"},
			CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), SessionID: "sid_1"}}
		for j := range size {
			rt := store.RefreshToken{Hash: fmt.Sprintf("rt_%03d_%d", i, j), CreatedAt: now, ExpiresAt: now.Add(48 * time.Hour)}
			if j < size-1 {
				rt.UsedAt = now
			}
			f.Tokens = append(f.Tokens, rt)
		}
		if i == 50 {
			f.Tokens[size-1].DPoPJKT = "jkt_50"
		}
		return f
	}
	all := func(yield func(Family) bool) {
		for i := range families {
			if !yield(family(i)) {
				return
			}
		}
	}
	if err := s.ImportGrants(ctx, all); err != nil {
		t.Fatalf("ImportGrants: %v", err)
	}

	later := now.Add(time.Minute)
	rt, g, err := s.RefreshTokenGrant(ctx, "rt_099_3", later)
	if err != nil || g.ID != "grt_099" || rt.ClientID != c.ID || !rt.ExpiresAt.Equal(g.ExpiresAt) ||
		!slices.Equal(g.Scopes, []string{"user:information"}) || g.SessionID != "sid_1" || !g.AuthTime.Equal(now) {
		t.Errorf("RefreshTokenGrant(newest token) = %+v, %+v, %v; want grant grt_099 as imported, expiry clamped to the grant's", rt, g, err)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "rt_099_2", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RefreshTokenGrant(rotated token) = %v, want ErrNotFound", err)
	}
	if _, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_042_3", Next: store.RefreshToken{Hash: "rt_042_4"}}, later); err != nil {
		t.Errorf("rotating an imported live token: %v", err)
	}
	if _, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_050_3", Next: store.RefreshToken{Hash: "rt_050_4"}}, later); !errors.Is(err, store.ErrDPoPKeyMismatch) {
		t.Errorf("rotating an imported DPoP-bound token without its key: %v, want ErrDPoPKeyMismatch", err)
	}
	if _, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_050_3", Next: store.RefreshToken{Hash: "rt_050_4", DPoPJKT: "jkt_50"}}, later); err != nil {
		t.Errorf("rotating an imported DPoP-bound token with its key: %v", err)
	}
	if _, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_007_1", Next: store.RefreshToken{Hash: "rt_007_x"}}, later); !errors.Is(err, store.ErrRefreshReplayed) {
		t.Errorf("rotating an imported used token: %v, want ErrRefreshReplayed", err)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "rt_007_3", later); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("the replayed family's newest token: %v, want ErrRevoked", err)
	}

	// A taken hash, a taken grant id, an unknown user or client: nothing
	// of the import is stored.
	bad := []struct {
		name string
		f    Family
		want error
	}{
		{"taken token hash", Family{Grant: store.Grant{ID: "grt_new", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			Tokens: []store.RefreshToken{{Hash: "rt_000_0", CreatedAt: now}}}, store.ErrConflict},
		{"taken grant id", Family{Grant: store.Grant{ID: "grt_001", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}, store.ErrConflict},
		{"unknown user", Family{Grant: store.Grant{ID: "grt_new", ClientID: c.ID, UserID: "usr_nobody", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}, store.ErrNotFound},
		{"unknown client", Family{Grant: store.Grant{ID: "grt_new", ClientID: "aries_ci_nobody", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}, store.ErrNotFound},
	}
	for _, tt := range bad {
		fresh := Family{Grant: store.Grant{ID: "grt_fresh", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			Tokens: []store.RefreshToken{{Hash: "rt_fresh", CreatedAt: now}}}
		err := s.ImportGrants(ctx, slices.Values([]Family{fresh, tt.f}))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: ImportGrants = %v, want %v", tt.name, err, tt.want)
		}
		if _, err := s.Grant(ctx, "grt_fresh"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: the import's other grant: %v, want ErrNotFound (nothing stored)", tt.name, err)
		}
	}
}
