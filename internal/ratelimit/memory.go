package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// shardCount spreads keys over independent locks so that parallel requests
// rarely contend. A power of two, so the shard is a mask of the hash.
const shardCount = 64

// minSweep is the size a shard may reach before it first sweeps expired keys.
const minSweep = 256

// sweepEvery is the longest a shard goes without sweeping while it is in
// use, whatever its size: keys an attacker made once must not wait for the
// shard to double before they go.
const sweepEvery = time.Minute

// Memory is the in-process Limiter. Its counters live in this process only:
// several instances behind a load balancer each allow the full rate, which
// is why the Redis limiter exists for that case
// (docs/decisions.md#rate-limits-in-process-optionally-shared-in-redis).
//
// Memory stays bounded by the keys active within the last Period: when a
// shard has doubled since its last sweep, or sweepEvery has passed, the next
// request to it sweeps out every key whose TAT has passed (which GCRA treats
// as absent anyway), so the cost is amortised over the requests and no
// goroutine is needed.
type Memory struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu sync.Mutex
	// tats holds each key's theoretical arrival time in unix nanoseconds.
	tats map[string]int64
	// sweepAt is the size at which the next insertion sweeps.
	sweepAt int
	// sweptAt is when the shard was last swept (unix nanoseconds).
	sweptAt int64
	// Keep neighbouring shards on separate cache lines.
	_ [32]byte
}

// NewMemory returns an empty in-process limiter. It is safe for concurrent use.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
		m.shards[i].sweepAt = minSweep
	}
	return m
}

// Allow implements Limiter with the GCRA semantics documented there.
func (m *Memory) Allow(_ context.Context, key string, rate Rate, now time.Time) (Result, error) {
	interval, err := rate.interval()
	if err != nil {
		return Result{}, err
	}
	ns := now.UnixNano()
	s := &m.shards[maphash.String(m.seed, key)&(shardCount-1)]

	s.mu.Lock()
	defer s.mu.Unlock()
	if ns-s.sweptAt >= int64(sweepEvery) {
		s.sweep(ns)
	}
	tat, found := s.tats[key]
	res, newTAT := gcra(tat, ns, rate, interval)
	if !res.Allowed {
		return res, nil
	}
	if !found && len(s.tats) >= s.sweepAt {
		s.sweep(ns)
	}
	s.tats[key] = newTAT
	return res, nil
}

// sweep drops the keys whose TAT is not after now. It copies the survivors
// into a new map because a Go map never gives back the memory of deleted
// entries. The caller holds s.mu.
func (s *shard) sweep(now int64) {
	live := 0
	for _, tat := range s.tats {
		if tat > now {
			live++
		}
	}
	kept := make(map[string]int64, live)
	for k, tat := range s.tats {
		if tat > now {
			kept[k] = tat
		}
	}
	s.tats = kept
	s.sweepAt = max(2*live, minSweep)
	s.sweptAt = now
}

// len returns the number of keys held, for tests.
func (m *Memory) len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}
