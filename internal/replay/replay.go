// Package replay owns where the server remembers the DPoP proofs it has
// accepted (RFC 9449 section 11.1), so that a proof is accepted once by
// all the instances together: in the store's dpop_proofs table, whose
// primary key decides and the proofs of concurrent requests share one
// insert (Store), or in Redis when `aries serve --redis` is given (Redis),
// one SET NX per proof. Both are dpop.ReplayCache.
//
// A cache that cannot be reached fails closed: the proof is refused with
// 503, never accepted unrecorded, since an unrecorded proof is one an
// attacker may replay. docs/dpop.md says how this is deployed.
package replay

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/dpop"
)

// Store keeps the proofs in the database (store.DPoPStore), shared by
// every instance using it. The proofs of concurrent requests are written
// together: while one insert runs, the proofs that arrive wait and then
// go in the next, one statement and one commit for all of them (a group
// commit). Under load a proof then costs a fraction of a durable write,
// not a whole one, and SQLite's single writer is not held once per
// request. Use a *Store; its zero value needs Store set.
type Store struct {
	Store store.DPoPStore
	Now   func() time.Time // the clock expiry is decided by; time.Now when nil

	mu      sync.Mutex
	pending []*call
	running bool // a goroutine is writing batches
}

// call is one Use waiting for its batch.
type call struct {
	proof store.DPoPProof
	fresh bool
	err   error
	done  chan struct{}
}

// Bounds of one batch: how many proofs one statement carries, and how
// long it may take before its callers are answered with an error.
const (
	maxBatch     = 256
	batchTimeout = 5 * time.Second
)

var _ dpop.ReplayCache = (*Store)(nil)

// Use implements dpop.ReplayCache.
func (s *Store) Use(ctx context.Context, key string, expiresAt time.Time) (bool, error) {
	c := &call{proof: store.DPoPProof{Key: key, ExpiresAt: expiresAt}, done: make(chan struct{})}
	s.mu.Lock()
	s.pending = append(s.pending, c)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.write()
	}
	select {
	case <-c.done:
		return c.fresh, c.err
	case <-ctx.Done():
		// The proof may still be recorded: the request is gone anyway.
		return false, ctx.Err()
	}
}

// write inserts the pending proofs, a batch at a time, until none is left.
func (s *Store) write() {
	for {
		s.mu.Lock()
		n := min(len(s.pending), maxBatch)
		batch := s.pending[:n:n]
		s.pending = s.pending[n:]
		if n == 0 {
			s.pending, s.running = nil, false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		proofs := make([]store.DPoPProof, n)
		for i, c := range batch {
			proofs[i] = c.proof
		}
		now := time.Now()
		if s.Now != nil {
			now = s.Now()
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		fresh, err := s.Store.UseDPoPProofs(ctx, proofs, now)
		cancel()
		for i, c := range batch {
			if err == nil {
				c.fresh = fresh[i]
			} else {
				c.err = fmt.Errorf("replay: store: %w", err)
			}
			close(c.done)
		}
	}
}

// DefaultRedisPrefix namespaces the keys of Redis in a shared Redis.
const DefaultRedisPrefix = "aries:dpop:"

// redisSkew is kept beyond a proof's expiry: Redis expires keys by its own
// clock, instances accept proofs by theirs, and a key gone a little early
// by an instance's clock would let that instance accept a replay.
const redisSkew = 30 * time.Second

// Redis keeps the proofs in Redis: one SET NX PXAT per proof, atomic in
// Redis, so of any number of instances presented one proof exactly one
// stores it.
type Redis struct {
	client redis.Cmdable
	prefix string
}

var _ dpop.ReplayCache = (*Redis)(nil)

// NewRedis returns the cache on client under keys starting with prefix
// (DefaultRedisPrefix when "").
func NewRedis(client redis.Cmdable, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{client: client, prefix: prefix}
}

// Use implements dpop.ReplayCache. The key a Verifier passes is already a
// hash of fixed length.
func (r *Redis) Use(ctx context.Context, key string, expiresAt time.Time) (bool, error) {
	err := r.client.SetArgs(ctx, r.prefix+key, 1, redis.SetArgs{Mode: "NX", ExpireAt: expiresAt.Add(redisSkew)}).Err()
	switch {
	case err == redis.Nil:
		return false, nil // NX found the key: a replay
	case err != nil:
		return false, fmt.Errorf("replay: redis: %w", err)
	}
	return true, nil
}
