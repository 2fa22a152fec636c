package dpop

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache remembers the proofs a Verifier accepted (RFC 9449 section
// 11.1). Use records key until expiresAt and reports whether it was new:
// false means the key is already recorded and not yet expired, so the
// proof is a replay. Of concurrent calls with one key, exactly one may
// report true. An error means the cache could not be asked; the Verifier
// then accepts nothing.
//
// Every instance of a service must share its cache. The Aries server keeps
// it in its database (a table whose unique key decides) or in Redis;
// MemoryReplayCache serves one process.
type ReplayCache interface {
	Use(ctx context.Context, key string, expiresAt time.Time) (fresh bool, err error)
}

// DefaultMaxReplayEntries bounds a MemoryReplayCache made with max 0: at
// about 100 bytes an entry, 100 MB.
const DefaultMaxReplayEntries = 1 << 20

// ErrReplayCacheFull is what MemoryReplayCache.Use fails with when it holds
// its maximum of live entries: it refuses new proofs rather than forget
// live ones or grow without bound.
var ErrReplayCacheFull = errors.New("dpop: replay cache full")

// replayBucket is how finely MemoryReplayCache groups entries by expiry
// for dropping them: a group goes once its last entry has expired.
const replayBucket = time.Second

// MemoryReplayCache is a ReplayCache in this process's memory, for a
// service that runs as one instance. Expired entries are dropped a group
// at a time, grouped by the second they expire in, without a scan.
type MemoryReplayCache struct {
	// Now is the cache's clock, time.Now unless set before first use.
	Now func() time.Time

	max int

	mu      sync.Mutex
	entries map[string]time.Time // key -> expiry
	buckets map[int64][]string   // expiry second, rounded up -> keys
	oldest  int64                // no bucket before this one is left
}

// NewMemoryReplayCache returns an empty cache holding at most max live
// entries (DefaultMaxReplayEntries when max is 0).
func NewMemoryReplayCache(max int) *MemoryReplayCache {
	if max <= 0 {
		max = DefaultMaxReplayEntries
	}
	return &MemoryReplayCache{Now: time.Now, max: max, entries: map[string]time.Time{}, buckets: map[int64][]string{}}
}

// Use implements ReplayCache.
func (c *MemoryReplayCache) Use(_ context.Context, key string, expiresAt time.Time) (bool, error) {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if exp, ok := c.entries[key]; ok && exp.After(now) {
		return false, nil
	}
	if !expiresAt.After(now) {
		// Already expired: nothing to remember, and it cannot have been
		// seen within its lifetime.
		return true, nil
	}
	if len(c.entries) >= c.max {
		return false, ErrReplayCacheFull
	}
	c.entries[key] = expiresAt
	id := bucketOf(expiresAt)
	c.buckets[id] = append(c.buckets[id], key)
	return true, nil
}

// bucketOf is the second t falls in, rounded up: every entry of bucket id
// has expired once the time reaches id seconds.
func bucketOf(t time.Time) int64 {
	return (t.UnixNano() + int64(replayBucket) - 1) / int64(replayBucket)
}

// sweep drops the entries of every bucket that has wholly expired at now.
func (c *MemoryReplayCache) sweep(now time.Time) {
	last := now.UnixNano() / int64(replayBucket) // buckets up to it are dead
	if c.oldest == 0 || last-c.oldest > int64(len(c.buckets))+1 {
		// Far behind (or first use): look at the buckets there are
		// rather than at every second in between.
		for id, keys := range c.buckets {
			if id <= last {
				c.drop(id, keys, now)
			}
		}
		c.oldest = last + 1
		return
	}
	for ; c.oldest <= last; c.oldest++ {
		if keys, ok := c.buckets[c.oldest]; ok {
			c.drop(c.oldest, keys, now)
		}
	}
}

func (c *MemoryReplayCache) drop(id int64, keys []string, now time.Time) {
	for _, k := range keys {
		// The key may have been used again after it expired, with a later
		// expiry in a later bucket: that entry stays.
		if exp, ok := c.entries[k]; ok && !exp.After(now) {
			delete(c.entries, k)
		}
	}
	delete(c.buckets, id)
}

// Len returns the number of live entries (and expired ones whose second
// has not yet ended).
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
