package clientcache

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ariesexchange/aries/internal/store"
)

// fakeSignal is a Signal a test moves by hand.
type fakeSignal struct {
	epoch   uint64
	trusted bool
	busy    bool // a change is under way: fills are refused
}

func (f *fakeSignal) Epoch() (uint64, bool) { return f.epoch, f.trusted }

func (f *fakeSignal) Fill() (uint64, func(), bool) {
	if f.busy {
		return 0, nil, false
	}
	return f.epoch, func() {}, true
}

// rows is a store the cache reads through, counting the reads.
type rows struct {
	clients map[string]store.Client
	reads   int
}

func (r *rows) load(_ context.Context, id string) (store.Client, error) {
	r.reads++
	c, ok := r.clients[id]
	if !ok {
		return store.Client{}, store.ErrNotFound
	}
	return c, nil
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	sig := &fakeSignal{trusted: true}
	db := &rows{clients: map[string]store.Client{"a": {ID: "a", SecretHash: "h1", Scopes: []string{"read"}}}}
	c := New(sig)

	get := func(wantHash string, wantReads int) {
		t.Helper()
		got, err := c.Client(ctx, "a", db.load)
		if err != nil || got.SecretHash != wantHash {
			t.Fatalf("Client: got %q, %v; want %q", got.SecretHash, err, wantHash)
		}
		if db.reads != wantReads {
			t.Fatalf("store reads: %d, want %d", db.reads, wantReads)
		}
	}
	get("h1", 1)
	get("h1", 1) // cached

	db.clients["a"] = store.Client{ID: "a", SecretHash: "h2"}
	sig.epoch++
	get("h2", 2) // the epoch moved: read again
	get("h2", 2)

	sig.busy = true // a change is being written: read, do not cache
	sig.epoch++
	get("h2", 3)
	get("h2", 4)
	sig.busy = false
	get("h2", 5)
	get("h2", 5)

	sig.trusted = false // the signal cannot vouch for its entries
	get("h2", 6)
	get("h2", 7)
	sig.trusted = true
	get("h2", 7)

	if _, err := c.Client(ctx, "nobody", db.load); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown client: %v, want ErrNotFound", err)
	}
	if _, err := c.Client(ctx, "nobody", db.load); !errors.Is(err, store.ErrNotFound) || db.reads != 9 {
		t.Fatalf("unknown client again: %v after %d reads; want ErrNotFound read from the store (9)", err, db.reads)
	}
}

func TestCacheIsBounded(t *testing.T) {
	sig := &fakeSignal{trusted: true}
	db := &rows{clients: map[string]store.Client{}}
	for i := range MaxEntries + 10 {
		id := fmt.Sprint(i)
		db.clients[id] = store.Client{ID: id}
	}
	c := New(sig)
	for id := range db.clients {
		if _, err := c.Client(context.Background(), id, db.load); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.rows); n > MaxEntries {
		t.Fatalf("%d entries, want at most %d", n, MaxEntries)
	}
}

// TestFileSignal opens the file twice, as two processes would.
func TestFileSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	path := filepath.Join(t.TempDir(), "aries.db-clients")
	server, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cli, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	before, trusted := server.Epoch()
	if !trusted {
		t.Fatal("a file signal is always trusted")
	}
	done, err := cli.Change()
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := server.Epoch(); after == before {
		t.Fatalf("epoch still %d after the other side began a change", after)
	}
	if _, _, ok := server.Fill(); ok {
		t.Fatal("Fill allowed while the other side is writing a change")
	}
	done()
	epoch, fillDone, ok := server.Fill()
	if !ok {
		t.Fatal("Fill refused once the change is done")
	}
	if now, _ := cli.Epoch(); now != epoch {
		t.Fatalf("the two sides disagree: %d and %d", now, epoch)
	}
	// While a fill reads, a change waits for it.
	changed := make(chan struct{})
	go func() {
		d, err := cli.Change()
		if err != nil {
			t.Error(err)
		} else {
			d()
		}
		close(changed)
	}()
	select {
	case <-changed:
		t.Fatal("a change went ahead while a fill was reading")
	default:
	}
	fillDone()
	<-changed
	if now, _ := server.Epoch(); now == epoch {
		t.Fatal("epoch did not move for the change that waited")
	}

	// A reopened file keeps its epoch.
	reopened, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if a, _ := reopened.Epoch(); a != func() uint64 { e, _ := server.Epoch(); return e }() {
		t.Fatalf("reopened epoch %d differs", a)
	}
}
