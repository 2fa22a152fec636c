package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The group commit of group.go: the tests below hold this process's write
// queue while the calls pile up, so the calls are known to share one
// transaction when it is released.

var groupNow = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

const groupClient = "aries_ci_g"

// seedFamilies stores a user, a client and n grants, grant i with the
// refresh token "rt_i_0".
func seedFamilies(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	now := groupNow
	u := store.User{ID: "usr_g", Email: "g@example.com", PasswordHash: "h", CreatedAt: now}
	c := store.Client{ID: groupClient, Name: "G", Type: store.Public, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		g := store.Grant{ID: fmt.Sprint("grt_", i), ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		code := store.AuthCode{Hash: fmt.Sprint("code_", i), GrantID: g.ID, ClientID: c.ID, UserID: u.ID,
			CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateAuthCode(ctx, code, g); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemAuthCode(ctx, code.Hash, store.RefreshToken{Hash: fmt.Sprint("rt_", i, "_0"), ExpiresAt: now.Add(time.Hour)}, now); err != nil {
			t.Fatal(err)
		}
	}
}

func rotation(old, next string) store.RefreshUse {
	return store.RefreshUse{ClientID: groupClient, Hash: old, Next: store.RefreshToken{Hash: next, ExpiresAt: groupNow.Add(time.Hour)}}
}

// holdWrites takes this process's write queue; the returned func gives it
// back.
func holdWrites(t *testing.T, s *Store) func() {
	t.Helper()
	if err := s.lockWrite(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.unlockWrite
}

// waitQueued waits until n calls are queued for a group commit. It waits
// for goroutines to reach the queue, not for any deadline of the store.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		got := len(s.group.pending)
		s.group.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d calls never queued up", n)
}

// TestGroupCommitDistinctTokens rotates 3*maxGroup refresh tokens of
// distinct grants at once, so that they go through full batches, and checks
// after closing and reopening the file that every rotation answered is
// there: the new tokens live, the old ones spent.
func TestGroupCommitDistinctTokens(t *testing.T) {
	const n = 3 * maxGroup
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aries.db")
	s, err := Open(ctx, path, WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	seedFamilies(t, s, n)

	release := holdWrites(t, s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var out store.Refreshed
			out, errs[i] = s.UseRefreshToken(ctx, rotation(fmt.Sprint("rt_", i, "_0"), fmt.Sprint("rt_", i, "_1")), groupNow)
			if errs[i] == nil && (out.Outcome != store.RefreshRotated || out.Grant.ID != fmt.Sprint("grt_", i)) {
				errs[i] = fmt.Errorf("got %+v, want grant grt_%d rotated", out, i)
			}
		})
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("rotation %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	for i := range n {
		if _, _, err := s.RefreshTokenGrant(ctx, fmt.Sprint("rt_", i, "_1"), groupNow); err != nil {
			t.Errorf("after reopening, the token rotation %d stored: %v, want it live", i, err)
		}
		if _, _, err := s.RefreshTokenGrant(ctx, fmt.Sprint("rt_", i, "_0"), groupNow); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after reopening, the token rotation %d spent: got %v, want %v", i, err, store.ErrNotFound)
		}
	}
}

// TestGroupCommitFailuresStayTheirOwn puts in one batch, around good
// rotations: a replayed token (its family is revoked, and that sticks), an
// unknown token, a rotation whose new hash is taken (a constraint error,
// whose savepoint is rolled back: its token stays usable), and two uses of
// one token, which behave as if serial (one rotates, the other is a replay
// that revokes the family the first just extended).
func TestGroupCommitFailuresStayTheirOwn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aries.db")
	s, err := Open(ctx, path, WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	seedFamilies(t, s, 6)
	// Family 1's first token is spent before the batch.
	if _, err := s.UseRefreshToken(ctx, rotation("rt_1_0", "rt_1_1"), groupNow); err != nil {
		t.Fatal(err)
	}

	uses := []store.RefreshUse{
		rotation("rt_0_0", "rt_0_1"),
		rotation("rt_1_0", "rt_1_x"), // replayed
		rotation("rt_2_0", "rt_2_1"),
		rotation("rt_nobody", "rt_n_1"), // unknown
		rotation("rt_3_0", "rt_0_1"),    // rt_0_1 is taken, by the first use or by the seed of this one's turn
		rotation("rt_4_0", "rt_4_1"),
		rotation("rt_5_0", "rt_5_a"), // two uses of one token
		rotation("rt_5_0", "rt_5_b"),
	}
	release := holdWrites(t, s)
	errs := make([]error, len(uses))
	var wg sync.WaitGroup
	for i, u := range uses {
		wg.Go(func() { _, errs[i] = s.UseRefreshToken(ctx, u, groupNow) })
	}
	waitQueued(t, s, len(uses))
	release()
	wg.Wait()

	for _, i := range []int{2, 5} {
		if errs[i] != nil {
			t.Errorf("good rotation of %s in the batch: %v", uses[i].Hash, errs[i])
		}
	}
	if !errors.Is(errs[1], store.ErrRefreshReplayed) {
		t.Errorf("replayed token: got %v, want %v", errs[1], store.ErrRefreshReplayed)
	}
	if !errors.Is(errs[3], store.ErrNotFound) {
		t.Errorf("unknown token: got %v, want %v", errs[3], store.ErrNotFound)
	}
	// The taken hash conflicts only if the rotation taking it ran first;
	// otherwise the first one is the loser. Exactly one of the two wins.
	if (errs[0] == nil) == (errs[4] == nil) {
		t.Errorf("two rotations to one new hash: got %v and %v, want exactly one to fail", errs[0], errs[4])
	}
	winner := 6
	switch {
	case errs[6] == nil && errors.Is(errs[7], store.ErrRefreshReplayed):
	case errs[7] == nil && errors.Is(errs[6], store.ErrRefreshReplayed):
		winner = 7
	default:
		t.Fatalf("two uses of one token in a batch: got %v and %v, want one rotation and one replay", errs[6], errs[7])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	grant := func(id string) store.Grant {
		g, err := s.Grant(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if grant("grt_1").RevokedAt.IsZero() {
		t.Error("the replayed token's grant is not revoked after the batch committed")
	}
	if grant("grt_5").RevokedAt.IsZero() {
		t.Errorf("the grant of the token used twice (winner %s) is not revoked", uses[winner].Next.Hash)
	}
	for _, tok := range []string{"rt_0_1", "rt_2_1", "rt_4_1"} {
		if errs[0] != nil && tok == "rt_0_1" {
			continue // rt_0_1 then belongs to family 3
		}
		if _, _, err := s.RefreshTokenGrant(ctx, tok, groupNow); err != nil {
			t.Errorf("token %s of a good rotation in the batch: %v, want it live", tok, err)
		}
	}
	// The rotation that lost the taken hash wrote nothing: its token is
	// still usable.
	lost := "rt_3_0"
	if errs[0] != nil {
		lost = "rt_0_0"
	}
	if _, _, err := s.RefreshTokenGrant(ctx, lost, groupNow); err != nil {
		t.Errorf("token %s, whose rotation failed on a taken hash: %v, want it still usable", lost, err)
	}
}

// TestGroupCommitCallerGivesUp checks that a call whose context ends, or
// whose wait reaches the store's timeout, while it is still queued leaves
// the queue and writes nothing.
func TestGroupCommitCallerGivesUp(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "aries.db"), WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seedFamilies(t, s, 2)

	release := holdWrites(t, s)
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() {
		_, err := s.UseRefreshToken(cctx, rotation("rt_0_0", "rt_0_1"), groupNow)
		gone <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("call cancelled while queued: got %v, want %v", err, context.Canceled)
	}
	waitQueued(t, s, 0)
	release()
	if _, _, err := s.RefreshTokenGrant(ctx, "rt_0_0", groupNow); err != nil {
		t.Errorf("the cancelled call's token: %v, want it unused", err)
	}
	if _, err := s.UseRefreshToken(ctx, rotation("rt_0_0", "rt_0_1"), groupNow); err != nil {
		t.Errorf("rotating the cancelled call's token afterwards: %v", err)
	}

	// A call already cancelled is not queued at all.
	if _, err := s.UseRefreshToken(cctx, rotation("rt_1_0", "rt_1_1"), groupNow); !errors.Is(err, context.Canceled) {
		t.Errorf("call with a cancelled context: got %v, want %v", err, context.Canceled)
	}

	// The store's timeout bounds the wait in the queue as it bounds
	// lockWrite (TestTimeoutBoundsLockWaits).
	s, err = Open(ctx, filepath.Join(t.TempDir(), "aries.db"), WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seedFamilies(t, s, 2)
	release = holdWrites(t, s)
	_, err = s.UseRefreshToken(ctx, rotation("rt_1_0", "rt_1_1"), groupNow)
	release()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call queued past the store's timeout: got %v, want %v", err, context.DeadlineExceeded)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "rt_1_0", groupNow); err != nil {
		t.Errorf("the timed-out call's token: %v, want it unused", err)
	}
}
