package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/ledger/ledgertest"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/storetest"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "aries.db"))
	})
}

// TestSharedConformance opens the file twice, as a server and the CLI do: a
// client change made through one is seen by the other at once.
func TestSharedConformance(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "aries.db")
		return open(t, path), open(t, path)
	}, nil)
}

func TestLedgerConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledgertest.Backend {
		return open(t, filepath.Join(t.TempDir(), "aries.db"))
	})
}

// TestReopen checks that what a Store returned success for is still there
// after Close and a fresh Open of the same file, and that migrating an
// up-to-date database again is harmless.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "aries.db")
	now := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := store.User{ID: "usr_a", Email: "a@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_a", Name: "A", Type: store.Public, RedirectURIs: []string{"http://127.0.0.1/cb"}, CreatedAt: now, UpdatedAt: now}
	g := store.Grant{ID: "grt_a", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_a", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	rt := store.RefreshToken{Hash: "rt_a", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	for _, err := range []error{
		s.CreateUser(ctx, u),
		s.CreateClient(ctx, c),
		s.CreateAuthCode(ctx, code, g),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, rt, now); err != nil {
		t.Fatalf("RedeemAuthCode: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode: got %v, want 0600", perm)
	}

	s = open(t, path)
	got, err := s.UserByEmail(ctx, "A@example.com")
	if err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail after reopen: got %q, %v; want %q", got.ID, err, u.ID)
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, store.RefreshToken{Hash: "rt_b", ExpiresAt: now.Add(time.Hour)}, now); !errors.Is(err, store.ErrCodeReused) {
		t.Errorf("RedeemAuthCode after reopen: got error %v, want %v", err, store.ErrCodeReused)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, rt.Hash, now); err != store.ErrRevoked {
		t.Errorf("RefreshTokenGrant after reopen and code reuse: got error %v, want %v", err, store.ErrRevoked)
	}
}

// TestSurvivesKill checks that what the store returned success for is in the
// file even when the process dies at once, without Close: nothing is held
// back in process memory. (A power cut is the job of synchronous=FULL,
// which TestPragmas checks; a test cannot pull the plug.)
func TestSurvivesKill(t *testing.T) {
	const env = "ARIES_SQLITE_KILL_CHILD"
	now := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	if path := os.Getenv(env); path != "" {
		killChild(t, path, now)
		return
	}

	path := filepath.Join(t.TempDir(), "aries.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesKill$")
	cmd.Env = append(os.Environ(), env+"="+path)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "written, dying") {
		t.Fatalf("child: got error %v and output %q, want it killed after writing", err, out)
	}

	s := open(t, path)
	ctx := context.Background()
	if _, err := s.UserByID(ctx, "usr_a"); err != nil {
		t.Errorf("UserByID after kill: got error %v, want the user", err)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "rt_2", now); err != nil {
		t.Errorf("RefreshTokenGrant of the rotated token after kill: got error %v, want it live", err)
	}
	_, err = s.UseRefreshToken(ctx, store.RefreshUse{ClientID: "aries_ci_a", Hash: "rt_1", Next: store.RefreshToken{Hash: "rt_x", ExpiresAt: now.Add(time.Hour)}}, now)
	if !errors.Is(err, store.ErrRefreshReplayed) {
		t.Errorf("replay of the token rotated before the kill: got error %v, want %v", err, store.ErrRefreshReplayed)
	}
}

// killChild writes through the store, then SIGKILLs its own process.
func killChild(t *testing.T, path string, now time.Time) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: "usr_a", Email: "a@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_a", Name: "A", Type: store.Public, CreatedAt: now, UpdatedAt: now}
	g := store.Grant{ID: "grt_a", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_a", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	for _, err := range []error{
		s.CreateUser(ctx, u),
		s.CreateClient(ctx, c),
		s.CreateAuthCode(ctx, code, g),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RedeemAuthCode(ctx, code.Hash, store.RefreshToken{Hash: "rt_1", ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseRefreshToken(ctx, store.RefreshUse{ClientID: c.ID, Hash: "rt_1", Next: store.RefreshToken{Hash: "rt_2", ExpiresAt: now.Add(time.Hour)}}, now); err != nil {
		t.Fatal(err)
	}
	fmt.Println("written, dying")
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	select {} // SIGKILL cannot be caught; this is never left
}

// TestTwoStoresOneFile races redemptions through two Stores on one file, as
// the CLI and a server (or two servers) would: each has its own write queue,
// so here SQLite's locking and the conditional UPDATE alone pick the winner.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aries.db")
	stores := []*Store{open(t, path), open(t, path)}
	now := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	u := store.User{ID: "usr_a", Email: "a@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: "aries_ci_a", Name: "A", Type: store.Public, CreatedAt: now, UpdatedAt: now}
	g := store.Grant{ID: "grt_a", ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := store.AuthCode{Hash: "code_a", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	for _, err := range []error{
		stores[0].CreateUser(ctx, u),
		stores[0].CreateClient(ctx, c),
		stores[0].CreateAuthCode(ctx, code, g),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	const n = 20
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			first := store.RefreshToken{Hash: fmt.Sprint("rt_", i), ExpiresAt: now.Add(time.Hour)}
			_, errs[i] = stores[i%2].RedeemAuthCode(ctx, code.Hash, first, now)
		})
	}
	close(start)
	wg.Wait()

	wins, reused := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrCodeReused):
			reused++
		default:
			t.Errorf("RedeemAuthCode %d: got error %v, want success or %v", i, err, store.ErrCodeReused)
		}
	}
	if wins != 1 || reused != n-1 {
		t.Errorf("%d redemptions through two stores: got %d successes and %d reuses, want 1 and %d", n, wins, reused, n-1)
	}

	// Read-then-write transactions through both stores: without BEGIN
	// IMMEDIATE, SQLite fails some at once with SQLITE_BUSY.
	for i := range n {
		wg.Go(func() {
			errs[i] = stores[i%2].SaveConsent(ctx, store.Consent{
				UserID: u.ID, ClientID: c.ID, Scopes: []string{fmt.Sprint("scope:", i)}, GrantedAt: now,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("SaveConsent %d: got error %v, want success", i, err)
		}
	}
	consent, err := stores[0].Consent(ctx, u.ID, c.ID)
	if err != nil || len(consent.Scopes) != n {
		t.Errorf("Consent after concurrent saves: got %d scopes, error %v; want %d scopes", len(consent.Scopes), err, n)
	}
}

// TestPragmas checks that the DSN really configured the connection: a typo
// in a pragma would silently give a database without WAL or fsync.
func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "aries.db"))
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "2000"}, // store.DefaultTimeout
	}
	for _, tt := range tests {
		var got string
		if err := s.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s: got %q, want %q", tt.pragma, got, tt.want)
		}
	}
}

// TestTimeoutBoundsLockWaits checks that WithTimeout bounds both waits a
// SQLite store call can make: SQLite's own wait for a write lock another
// connection holds (busy_timeout), and the wait for this process's turn to
// write.
func TestTimeoutBoundsLockWaits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aries.db")
	s, err := Open(ctx, path, WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var got string
	if err := s.db.QueryRow("PRAGMA busy_timeout").Scan(&got); err != nil || got != "300" {
		t.Fatalf("PRAGMA busy_timeout: got %q, %v; want 300", got, err)
	}

	// Another process holds the write lock.
	other, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.DeleteSession(ctx, "nothing")
	if elapsed := time.Since(start); err == nil || elapsed > 2*time.Second {
		t.Errorf("write while another connection holds the lock: got %v after %v, want an error within about 300ms", err, elapsed)
	}

	// This process's writer queue is held.
	s.writer <- struct{}{}
	start = time.Now()
	err = s.DeleteSession(ctx, "nothing")
	<-s.writer
	if elapsed := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || elapsed > 2*time.Second {
		t.Errorf("write while the queue is held: got %v after %v, want DeadlineExceeded within about 300ms", err, elapsed)
	}
}

func TestOpenRejectsQuestionMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?mode=ro.db")
	if s, err := Open(context.Background(), path); err == nil {
		s.Close()
		t.Fatalf("Open(%q): got success, want an error", path)
	}
}

// The hot-path benchmarks of storetest, on SQLite.

func benchStore(b *testing.B) *Store { return open(b, filepath.Join(b.TempDir(), "aries.db")) }

func BenchmarkRedeemAuthCode(b *testing.B) { storetest.BenchRedeemAuthCode(b, benchStore(b)) }

func BenchmarkRotateRefreshToken(b *testing.B) { storetest.BenchRotateRefreshToken(b, benchStore(b)) }

func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	storetest.BenchRotateRefreshTokenParallel(b, benchStore(b))
}

func BenchmarkRotateRefreshTokenGrace(b *testing.B) {
	storetest.BenchRotateRefreshTokenGrace(b, benchStore(b))
}

func BenchmarkRefreshTokenGraceHit(b *testing.B) {
	storetest.BenchRefreshTokenGraceHit(b, benchStore(b))
}

func BenchmarkRefreshTokenNone(b *testing.B) { storetest.BenchRefreshTokenNone(b, benchStore(b)) }

// TestGraceCopy: the sealed child of a grace window is on the spent row
// during the window only.
func TestGraceCopy(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "aries.db"))
	storetest.GraceCopy(t, s, func(hash string) []byte {
		var sealed []byte
		err := s.db.QueryRowContext(t.Context(), `SELECT child_sealed FROM refresh_tokens WHERE hash = ?`, hash).Scan(&sealed)
		if err != nil {
			t.Fatalf("reading the row of %s: %v", hash, err)
		}
		return sealed
	})
}
