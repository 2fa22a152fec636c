package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// statementLog records the statements a pool sends, BEGIN and COMMIT
// included (pgx sends them as statements of their own).
type statementLog struct {
	mu  sync.Mutex
	sql []string
}

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql = append(l.sql, strings.Fields(d.SQL)[0])
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the first word of each statement sent since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sql
	l.sql = nil
	return out
}

// tracedStore opens a store on a fresh schema whose pool logs its
// statements.
func tracedStore(t *testing.T) (*Store, *statementLog) {
	t.Helper()
	dsn := pgtest.Schema(t, pgtest.Database(t))
	open(t, dsn) // migrates
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := &statementLog{}
	cfg.ConnConfig.Tracer = log
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := newStore(&boundedPool{Pool: pool, timeout: store.DefaultTimeout})
	t.Cleanup(func() { s.clientSignal.close() })
	return s, log
}

// TestUseRefreshTokenOneStatement checks that a usable refresh token is
// used in one statement, without BEGIN and COMMIT around it: one round
// trip per rotation (and per use under RotationNone, and per rotation
// keeping a grace copy). A token the statement cannot use goes the long
// way, in a transaction that classifies it; the conformance suite
// (storetest) checks what that decides.
func TestUseRefreshTokenOneStatement(t *testing.T) {
	s, log := tracedStore(t)
	ctx := t.Context()
	now := time.Now()
	u := store.User{ID: "usr_1", Email: "one@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_1", Name: "One", Type: store.Confidential, CreatedAt: now, UpdatedAt: now}
	g := store.Grant{ID: "grt_1", ClientID: c.ID, UserID: u.ID, Scopes: []string{"user:information"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_1", GrantID: g.ID, ClientID: c.ID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAuthCode(ctx, code, g); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, store.RefreshToken{Hash: "rt_0", ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	next := func(hash string) store.RefreshToken {
		return store.RefreshToken{Hash: hash, ExpiresAt: now.Add(time.Hour)}
	}

	for _, tc := range []struct {
		name string
		use  store.RefreshUse
		want store.RefreshOutcome
	}{
		{"rotate", store.RefreshUse{ClientID: c.ID, Hash: "rt_0", Next: next("rt_1")}, store.RefreshRotated},
		{"rotate keeping a grace copy", store.RefreshUse{ClientID: c.ID, Hash: "rt_1", Next: next("rt_2"),
			Grace: time.Minute, Sealed: []byte("sealed rt_2")}, store.RefreshRotated},
		{"none", store.RefreshUse{ClientID: c.ID, Hash: "rt_2", Rotation: store.RotationNone,
			Next: next("")}, store.RefreshKept},
	} {
		log.take()
		res, err := s.UseRefreshToken(ctx, tc.use, now)
		if err != nil || res.Outcome != tc.want {
			t.Fatalf("%s: outcome %v, error %v; want %v", tc.name, res.Outcome, err, tc.want)
		}
		if res.Grant.ID != g.ID || res.Grant.UserID != u.ID || len(res.Grant.Scopes) != 1 {
			t.Errorf("%s: grant %+v, want %s of %s", tc.name, res.Grant, g.ID, u.ID)
		}
		if sent := log.take(); len(sent) != 1 || sent[0] != "WITH" {
			t.Errorf("%s: sent %q, want one statement", tc.name, sent)
		}
	}

	// The grace retry of rt_1 gets rt_2's sealed copy: the statement,
	// then one read, and no transaction, as nothing is written.
	log.take()
	res, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_1", Next: next("rt_x"),
		Grace: time.Minute, Sealed: []byte("sealed rt_x")}, now)
	if err != nil || res.Outcome != store.RefreshGrace || string(res.Sealed) != "sealed rt_2" || res.Grant.ID != g.ID {
		t.Fatalf("grace retry: outcome %v, sealed %q, grant %q, error %v", res.Outcome, res.Sealed, res.Grant.ID, err)
	}
	if sent := log.take(); len(sent) != 2 || sent[1] != "SELECT" {
		t.Errorf("grace retry: sent %q, want the statement and one read", sent)
	}

	// rt_0 again is a replay, outside rt_0's (absent) grace window: the
	// family dies, in a transaction that commits the revocation.
	log.take()
	_, err = s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_0", Next: next("rt_y")}, now)
	if !errors.Is(err, store.ErrRefreshReplayed) {
		t.Fatalf("replay: error %v, want ErrRefreshReplayed", err)
	}
	if sent := log.take(); !slices.Contains(sent, "begin") || !slices.Contains(sent, "commit") {
		t.Errorf("replay: sent %q, want a transaction", sent)
	}
	if got, err := s.Grant(ctx, g.ID); err != nil || got.RevokedAt.IsZero() {
		t.Fatalf("replay: grant %+v, error %v; want it revoked", got, err)
	}
}
