package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The reads an introspection (internal/introspect, lookup and Live) makes
// for every access token it is asked about: the revoked jti, the grant, the
// client; and for a refresh token, RefreshTokenGrant.

// seedRead stores one user, client, grant with a live refresh token and one
// revoked access token, shaped like those aries-bench introspects.
func seedRead(b *testing.B) *Store {
	b.Helper()
	s := benchStore(b)
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	u := store.User{ID: "usr_bench", Email: "bench@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{
		ID: "aries_ci_bench", Name: "Bench", Type: store.Confidential, SecretHash: "h",
		RedirectURIs:           []string{"https://app.example.com/callback", "http://127.0.0.1:8080/cb"},
		Scopes:                 []string{"openid", "profile", "email", "offline_access", "trade:read", "trade:write"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/"},
		CreatedAt:              now, UpdatedAt: now,
	}
	g := store.Grant{
		ID: "grt_bench", ClientID: c.ID, UserID: u.ID,
		Scopes:   []string{"openid", "profile", "offline_access", "trade:read"},
		AuthTime: now, AMR: []string{"pwd", "otp"},
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), SessionID: "sid_bench",
	}
	code := store.AuthCode{Hash: "code_bench", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	for _, err := range []error{
		s.CreateUser(ctx, u),
		s.CreateClient(ctx, c),
		s.CreateAuthCode(ctx, code, g),
		s.RevokeAccessToken(ctx, "jti_revoked", now.Add(time.Hour)),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, store.RefreshToken{Hash: "rt_bench", ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkGrant(b *testing.B) {
	s := seedRead(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		g, err := s.Grant(ctx, "grt_bench")
		if err != nil || len(g.Scopes) != 4 {
			b.Fatalf("Grant: %+v, %v", g, err)
		}
	}
}

func BenchmarkAccessTokenRevoked(b *testing.B) {
	s := seedRead(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name, jti string
		want      bool
	}{
		{"live", "jti_live", false},
		{"revoked", "jti_revoked", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.AccessTokenRevoked(ctx, tc.jti)
				if err != nil || got != tc.want {
					b.Fatalf("AccessTokenRevoked(%q) = %v, %v; want %v", tc.jti, got, err, tc.want)
				}
			}
		})
	}
}

func BenchmarkClient(b *testing.B) {
	s := seedRead(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := s.Client(ctx, "aries_ci_bench")
		if err != nil || len(c.Scopes) != 6 {
			b.Fatalf("Client: %+v, %v", c, err)
		}
	}
}

func BenchmarkRefreshTokenGrant(b *testing.B) {
	s := seedRead(b)
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 15, 10, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		_, g, err := s.RefreshTokenGrant(ctx, "rt_bench", now)
		if err != nil || len(g.AMR) != 2 {
			b.Fatalf("RefreshTokenGrant: %+v, %v", g, err)
		}
	}
}

func BenchmarkFromList(b *testing.B) {
	for _, tc := range []struct{ name, in string }{
		{"empty", `[]`},
		{"scopes", `["openid","profile","email","offline_access","trade:read","trade:write"]`},
		{"uris", `["https://app.example.com/callback","http://127.0.0.1:8080/cb"]`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fromList(tc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
