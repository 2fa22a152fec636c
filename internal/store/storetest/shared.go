package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// RunShared runs the checks that need two stores open on one database, as two
// processes (two instances, or a server and the CLI) have them. open returns
// the pair, on a fresh database. settle, when not nil, returns once store a
// has heard of every client change committed before the call; a backend whose
// reads see every committed change at once passes nil, and is then held to
// that.
func RunShared(t *testing.T, open func(t *testing.T) (a, b store.Store), settle func(t *testing.T, a store.Store)) {
	if settle == nil {
		settle = func(*testing.T, store.Store) {}
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Store, settle func(*testing.T, store.Store))
	}{
		{"ClientChangesReachOtherStores", testClientChangesReachOtherStores},
		{"ClientChangesUnderReads", testClientChangesUnderReads},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := open(t)
			tt.fn(t, a, b, settle)
		})
	}
}

// testClientChangesReachOtherStores: once a change made through b has
// returned (and settled), a serves the new row, though it read (and may have
// cached) the old one just before.
func testClientChangesReachOtherStores(t *testing.T, a, b store.Store, settle func(*testing.T, store.Store)) {
	c := mustClient(t, b, "aries_ci_shared", "", t0)
	read := func() (store.Client, error) {
		t.Helper()
		settle(t, a)
		for range 3 { // the first read may fill a cache, the next ones hit it
			got, err := a.Client(ctx(t), c.ID)
			if err != nil {
				return got, err
			}
		}
		return a.Client(ctx(t), c.ID)
	}
	got, err := read()
	is(t, "Client after CreateClient through the other store", err, nil)
	diff(t, "Client after CreateClient through the other store", got, c)

	is(t, "SetClientSecret", b.SetClientSecret(ctx(t), c.ID, "v1$rotated", t0.Add(time.Minute)), nil)
	got, err = read()
	is(t, "Client after SetClientSecret", err, nil)
	if got.SecretHash != "v1$rotated" {
		t.Errorf("after another store rotated the secret: SecretHash %q, want %q", got.SecretHash, "v1$rotated")
	}

	is(t, "SetClientDisabled", b.SetClientDisabled(ctx(t), c.ID, true, t0.Add(2*time.Minute)), nil)
	got, err = read()
	is(t, "Client after SetClientDisabled", err, nil)
	if !got.Disabled {
		t.Errorf("after another store disabled the client: Disabled false")
	}

	upd := got
	upd.RedirectURIs = []string{"https://app.example/other"}
	upd.Scopes = []string{"user:information"}
	is(t, "UpdateClient", b.UpdateClient(ctx(t), upd), nil)
	got, err = read()
	is(t, "Client after UpdateClient", err, nil)
	diff(t, "Client after UpdateClient through the other store", got, upd)

	// What a caller does to the slices it gets must not reach the next one.
	got.Scopes[0] = "admin"
	again, err := a.Client(ctx(t), c.ID)
	is(t, "Client", err, nil)
	diff(t, "Client after a caller wrote into its copy", again, upd)

	is(t, "DeleteClient", b.DeleteClient(ctx(t), c.ID), nil)
	_, err = read()
	is(t, "Client after DeleteClient through the other store", err, store.ErrNotFound)
}

// testClientChangesUnderReads rotates a secret through b many times while
// readers hammer a; after each rotation has returned (and settled), every read
// through a sees it. Reads that race a rotation fill whatever caches a has
// while the row is changing, which is what could leave a stale entry behind.
func testClientChangesUnderReads(t *testing.T, a, b store.Store, settle func(*testing.T, store.Store)) {
	c := mustClient(t, b, "aries_ci_shared", "", t0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := a.Client(ctx(t), c.ID); err != nil {
					t.Errorf("Client under rotations: %v", err)
					return
				}
			}
		})
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	for i := range 40 {
		hash := fmt.Sprintf("v1$rotation-%d", i)
		is(t, "SetClientSecret", b.SetClientSecret(ctx(t), c.ID, hash, t0.Add(time.Duration(i)*time.Second)), nil)
		settle(t, a)
		for range 5 {
			got, err := a.Client(ctx(t), c.ID)
			is(t, "Client", err, nil)
			if got.SecretHash != hash {
				t.Fatalf("rotation %d had returned, yet the other store served secret %q, want %q", i, got.SecretHash, hash)
			}
		}
	}
}
