package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ariesexchange/aries/internal/ledger/ledgertest"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/store/storetest"
)

func open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store suite on one database, migrated once:
// each subtest opens its own Store (its own pool) on tables emptied with
// TRUNCATE, which is much faster than migrating a fresh schema each time.
func TestConformance(t *testing.T) {
	dsn := pgtest.Schema(t, pgtest.Database(t))
	open(t, dsn) // migrates
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, dsn)
		truncate(t, s)
		return s
	})
}

// TestSharedConformance opens the database twice, as two instances (or an
// instance and the CLI) do: a client change made through one reaches the
// other's cache through LISTEN/NOTIFY.
func TestSharedConformance(t *testing.T) {
	dsn := pgtest.Schema(t, pgtest.Database(t))
	open(t, dsn) // migrates
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		a := open(t, dsn)
		truncate(t, a)
		return a, open(t, dsn)
	}, func(t *testing.T, a store.Store) {
		if err := a.(*Store).clientSignal.settle(t.Context()); err != nil {
			t.Fatalf("settle: %v", err)
		}
	})
}

func TestLedgerConformance(t *testing.T) {
	dsn := pgtest.Schema(t, pgtest.Database(t))
	open(t, dsn) // migrates
	ledgertest.Run(t, func(t *testing.T) ledgertest.Backend {
		s := open(t, dsn)
		truncate(t, s)
		return s
	})
}

// truncate empties every table but goose's. DELETE is much faster than
// TRUNCATE on tables this small (TRUNCATE makes new files and syncs them).
// revoked_clients goes last: deleting clients fills it (a trigger).
func truncate(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.pool.Query(t.Context(),
		`SELECT quote_ident(tablename) FROM pg_tables
		  WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'
		  ORDER BY tablename = 'revoked_clients', tablename`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	batch := &pgx.Batch{}
	for _, table := range tables {
		batch.Queue(`DELETE FROM ` + table)
	}
	if err := s.pool.SendBatch(t.Context(), batch).Close(); err != nil {
		t.Fatal(err)
	}
}

// TestInstancesStartTogether opens several stores on one empty database at
// once, as instances of a deployment starting together would: goose's
// advisory lock lets one migrate, and every one ends up on the full schema.
func TestInstancesStartTogether(t *testing.T) {
	dsn := pgtest.Schema(t, pgtest.Database(t))
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var applied int
	err := stores[0].pool.QueryRow(t.Context(),
		`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("migrations applied: got %d, want each of the %d once", applied, len(files))
	}
}

// TestTwoStoresOneDatabase races redemptions and rotations through two
// Stores, two connection pools, as two instances would: the database alone
// picks the winner.
func TestTwoStoresOneDatabase(t *testing.T) {
	dsn := pgtest.Schema(t, pgtest.Database(t))
	stores := []*Store{open(t, dsn), open(t, dsn)}
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	u := store.User{ID: "usr_a", Email: "a@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_a", Name: "A", Type: store.Public, CreatedAt: now, UpdatedAt: now}
	g := store.Grant{ID: "grt_a", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_a", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	for _, err := range []error{
		stores[0].CreateUser(ctx, u),
		stores[1].CreateClient(ctx, c),
		stores[0].CreateAuthCode(ctx, code, g),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	const n = 20
	count := func(what string, errs []error, loser error) {
		t.Helper()
		wins, lost := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, loser), errors.Is(err, store.ErrRevoked):
				lost++
			default:
				t.Errorf("%s %d: got error %v, want success or %v", what, i, err, loser)
			}
		}
		if wins != 1 || lost != n-1 {
			t.Errorf("%d %s through two stores: got %d successes and %d losers, want 1 and %d", n, what, wins, lost, n-1)
		}
	}
	errs := race(n, func(i int) error {
		first := store.RefreshToken{Hash: fmt.Sprint("rt_", i), ExpiresAt: now.Add(time.Hour)}
		_, err := stores[i%2].RedeemAuthCode(ctx, code.Hash, first, now)
		return err
	})
	count("redemptions", errs, store.ErrCodeReused)

	// A second family, rotated concurrently through both stores.
	g2 := g
	g2.ID = "grt_b"
	code2 := code
	code2.Hash, code2.GrantID = "code_b", g2.ID
	if err := stores[1].CreateAuthCode(ctx, code2, g2); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].RedeemAuthCode(ctx, code2.Hash, store.RefreshToken{Hash: "rt_b", ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	errs = race(n, func(i int) error {
		_, err := stores[i%2].UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_b", Next: store.RefreshToken{Hash: fmt.Sprint("rt_b_", i), ExpiresAt: now.Add(time.Hour)}}, now)
		return err
	})
	count("rotations", errs, store.ErrRefreshReplayed)

	// A third family, under a grace window: one use rotates, and every
	// other, whichever store it went through, gets the same child.
	g3 := g
	g3.ID = "grt_c"
	code3 := code
	code3.Hash, code3.GrantID = "code_c", g3.ID
	if err := stores[0].CreateAuthCode(ctx, code3, g3); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].RedeemAuthCode(ctx, code3.Hash, store.RefreshToken{Hash: "rt_c", ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	children := make([]store.Refreshed, n)
	errs = race(n, func(i int) error {
		var err error
		children[i], err = stores[i%2].UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_c",
			Next:  store.RefreshToken{Hash: fmt.Sprint("rt_c_", i), ExpiresAt: now.Add(time.Hour)},
			Grace: 30 * time.Second, Sealed: []byte(fmt.Sprint("sealed_c_", i))}, now)
		return err
	})
	rotated, sealed := 0, map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Errorf("use %d under a grace window: %v", i, err)
			continue
		}
		if children[i].Outcome == store.RefreshRotated {
			rotated++
			sealed[fmt.Sprint("sealed_c_", i)]++
		} else {
			sealed[string(children[i].Sealed)]++
		}
	}
	if rotated != 1 || len(sealed) != 1 {
		t.Errorf("%d uses under a grace window through two stores: %d rotated, children %v; want 1 rotation and one child", n, rotated, sealed)
	}
}

func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// TestOpenErrorsHideThePassword: the DSN's password must not reach a log
// or a terminal through an error.
func TestOpenErrorsHideThePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://aries:hunter2-secret@127.0.0.1:1/aries?sslmode=disable&connect_timeout=1",
		"postgres://aries:hunter2-secret@127.0.0.1:5432/aries?sslmode=bogus",
		"postgres://aries:hunter2-secret@[::1/aries",
	} {
		s, err := Open(context.Background(), dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q): got success, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

func TestPoolSize(t *testing.T) {
	db := pgtest.Database(t)
	if got := open(t, pgtest.Schema(t, db)).pool.Config().MaxConns; got != DefaultMaxConns {
		t.Errorf("pool size by default: got %d, want %d", got, DefaultMaxConns)
	}
	dsn := pgtest.Schema(t, db) + "&pool_max_conns=3"
	if got := open(t, dsn).pool.Config().MaxConns; got != 3 {
		t.Errorf("pool size with pool_max_conns=3: got %d, want 3", got)
	}
}

// TestGraceCopy: the sealed child of a grace window is on the spent row
// during the window only.
func TestGraceCopy(t *testing.T) {
	s := open(t, pgtest.Schema(t, pgtest.Database(t)))
	storetest.GraceCopy(t, s, func(hash string) []byte {
		var sealed []byte
		err := s.pool.QueryRow(t.Context(), `SELECT child_sealed FROM refresh_tokens WHERE hash = $1`, hash).Scan(&sealed)
		if err != nil {
			t.Fatalf("reading the row of %s: %v", hash, err)
		}
		return sealed
	})
}
