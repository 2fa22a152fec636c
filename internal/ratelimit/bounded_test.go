package ratelimit

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recordingLimiter allows everything and remembers the keys it was given.
type recordingLimiter struct{ keys []string }

func (l *recordingLimiter) Allow(_ context.Context, key string, rate Rate, now time.Time) (Result, error) {
	l.keys = append(l.keys, key)
	return Result{Allowed: true, Limit: rate.Count, Remaining: rate.Count - 1, ResetAt: now}, nil
}

// The limiter never holds what the caller sent: a 60 KB email becomes a
// short fixed-size key, still distinct per value and per category.
func TestPolicyHashesKeys(t *testing.T) {
	rec := &recordingLimiter{}
	p := &Policy{Limiter: rec, Limits: DefaultLimits()}
	long := strings.Repeat("a", 60<<10) + "@example.com"
	r := httptest.NewRequest("POST", "/login", nil)
	for _, call := range []struct {
		c   Category
		key string
	}{{Authentication, long}, {Authentication, long + "x"}, {User, long}} {
		p.Check(r, call.c, call.key)
	}
	seen := map[string]bool{}
	for _, k := range rec.keys {
		if len(k) > 64 {
			t.Errorf("limiter key of %d bytes, want at most 64", len(k))
		}
		if seen[k] {
			t.Errorf("two different keys reached the limiter as %q", k)
		}
		seen[k] = true
	}
	if !strings.HasPrefix(rec.keys[2], "user:") {
		t.Errorf("key %q does not name its category", rec.keys[2])
	}
}

// Keys that went quiet are swept within sweepEvery even when the shard is
// far below the size that triggers a sweep.
func TestMemorySweepsOnTime(t *testing.T) {
	m := NewMemory()
	now := time.Unix(1_700_000_000, 0)
	rate := PerMinute(10)
	for i := range 1000 { // about 16 a shard: no shard reaches minSweep
		if _, err := m.Allow(context.Background(), strings.Repeat("k", i), rate, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.len(); n != 1000 {
		t.Fatalf("held %d keys, want 1000", n)
	}
	later := now.Add(sweepEvery + time.Minute)
	for i := range shardCount * 8 { // touch every shard
		m.Allow(context.Background(), "fresh"+strings.Repeat("x", i), rate, later)
	}
	if n := m.len(); n > shardCount*8 {
		t.Errorf("held %d keys after every shard was used past sweepEvery, want only the %d fresh ones", n, shardCount*8)
	}
}
