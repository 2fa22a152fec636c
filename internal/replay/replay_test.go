package replay

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/sqlite"
	"github.com/ariesexchange/aries/sdk/dpop"
)

// redisURL returns ARIES_TEST_REDIS_URL, or skips (fails in CI).
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("ARIES_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ARIES_TEST_REDIS_URL is not set; CI must run the Redis tests (.ci/run sets it)")
		}
		t.Skip("skipped: set ARIES_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the Redis replay cache tests")
	}
	return u
}

// caches returns the caches under test, each twice: two instances sharing
// one database or one Redis.
func caches(t *testing.T) map[string][2]dpop.ReplayCache {
	t.Helper()
	out := map[string][2]dpop.ReplayCache{}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "aries.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	out["store"] = [2]dpop.ReplayCache{&Store{Store: st}, &Store{Store: st}}
	if os.Getenv("ARIES_TEST_REDIS_URL") != "" || os.Getenv("CI") != "" {
		u := redisURL(t)
		prefix := "aries:test:" + rand.Text() + ":"
		var pair [2]dpop.ReplayCache
		for i := range pair {
			c, err := ratelimit.NewRedisClient(u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			pair[i] = NewRedis(c, prefix)
		}
		out["redis"] = pair
	} else {
		t.Log("ARIES_TEST_REDIS_URL is not set: only the store is tested")
	}
	return out
}

// TestCaches: each cache accepts a key once, on either instance, and of
// concurrent uses on both instances exactly one wins.
func TestCaches(t *testing.T) {
	for name, pair := range caches(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			exp := time.Now().Add(time.Minute)
			key := rand.Text()
			steps := []struct {
				instance int
				key      string
				want     bool
			}{
				{0, key, true},
				{0, key, false},
				{1, key, false}, // replayed to the other instance
				{1, key + "x", true},
			}
			for i, s := range steps {
				got, err := pair[s.instance].Use(ctx, s.key, exp)
				if err != nil || got != s.want {
					t.Errorf("step %d: Use on instance %d: %t, %v; want %t", i, s.instance, got, err, s.want)
				}
			}
			contended := rand.Text()
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if ok, err := pair[i%2].Use(ctx, contended, exp); err == nil && ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("20 concurrent uses on two instances: %d won, want 1", wins.Load())
			}
		})
	}
}

// TestRedisUnreachable: a Redis that does not answer is an error, never a
// fresh proof.
func TestRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := ratelimit.NewRedisClient("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fresh, err := NewRedis(c, "").Use(context.Background(), "k", time.Now().Add(time.Minute))
	if err == nil || fresh {
		t.Errorf("Use with Redis down: %t, %v; want an error", fresh, err)
	}
}

// gatedStore counts the batches it is sent; the first waits for gate.
type gatedStore struct {
	store.DPoPStore
	gate    chan struct{}
	mu      sync.Mutex
	batches [][]store.DPoPProof
}

func (g *gatedStore) UseDPoPProofs(ctx context.Context, proofs []store.DPoPProof, now time.Time) ([]bool, error) {
	g.mu.Lock()
	first := len(g.batches) == 0
	g.batches = append(g.batches, proofs)
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	return g.DPoPStore.UseDPoPProofs(ctx, proofs, now)
}

// TestStoreGroupsProofs: proofs that arrive while a batch is written go
// together in the next one, and each still gets its own answer.
func TestStoreGroupsProofs(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "aries.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &gatedStore{DPoPStore: st, gate: make(chan struct{})}
	s := &Store{Store: g}
	exp := time.Now().Add(time.Minute)
	const n = 20
	results := make([]bool, n)
	var wg sync.WaitGroup
	wg.Go(func() { results[0], _ = s.Use(context.Background(), "k0", exp) })
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.batches) == 1 })
	for i := 1; i < n; i++ {
		key := fmt.Sprint("k", i%10) // k1..k9 twice, and k0 again
		wg.Go(func() { results[i], _ = s.Use(context.Background(), key, exp) })
	}
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.pending) == n-1 })
	close(g.gate)
	wg.Wait()
	if len(g.batches) != 2 || len(g.batches[1]) != n-1 {
		t.Errorf("batches of %v proofs, want 1 then %d", batchSizes(g.batches), n-1)
	}
	fresh := map[string]int{}
	for i, ok := range results {
		if ok {
			fresh[fmt.Sprint("k", i%10)]++
		}
	}
	for k := range 10 {
		if fresh[fmt.Sprint("k", k)] != 1 {
			t.Errorf("key k%d was fresh %d times, want once", k, fresh[fmt.Sprint("k", k)])
		}
	}
}

func batchSizes(bs [][]store.DPoPProof) []int {
	var out []int
	for _, b := range bs {
		out = append(out, len(b))
	}
	return out
}

// waitFor waits until cond holds, for a goroutine to reach a point.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the condition did not come true within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
