package dpop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	now := t0
	c := NewMemoryReplayCache(3)
	c.Now = func() time.Time { return now }
	use := func(key string, ttl time.Duration) (bool, error) { return c.Use(ctx, key, now.Add(ttl)) }

	steps := []struct {
		at    time.Duration // since t0
		key   string
		ttl   time.Duration
		fresh bool
		err   error
	}{
		{0, "a", time.Minute, true, nil},
		{0, "a", time.Minute, false, nil}, // a replay
		{30 * time.Second, "a", time.Minute, false, nil},
		{0, "b", time.Minute, true, nil},
		{0, "c", 2 * time.Minute, true, nil},
		{0, "d", time.Minute, false, ErrReplayCacheFull}, // three live entries
		{0, "e", -time.Second, true, nil},                // expired already: nothing kept
		{61 * time.Second, "a", time.Minute, true, nil},  // a and b expired and were dropped
		{61 * time.Second, "d", time.Minute, true, nil},
		{61 * time.Second, "c", time.Minute, false, nil}, // still live
	}
	for i, s := range steps {
		now = t0.Add(s.at)
		fresh, err := use(s.key, s.ttl)
		if fresh != s.fresh || !errors.Is(err, s.err) {
			t.Errorf("step %d (%s at +%v): fresh %t, err %v; want %t, %v", i, s.key, s.at, fresh, err, s.fresh, s.err)
		}
	}
	now = t0.Add(10 * time.Minute)
	c.Use(ctx, "z", now.Add(time.Minute))
	if got := c.Len(); got != 1 {
		t.Errorf("after everything expired: %d entries, want 1", got)
	}
}

// TestMemoryReplayCacheOneWinner: of concurrent uses of one key, exactly
// one is fresh.
func TestMemoryReplayCacheOneWinner(t *testing.T) {
	c := NewMemoryReplayCache(0)
	for round := range 20 {
		key := fmt.Sprint("k", round)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if ok, _ := c.Use(context.Background(), key, time.Now().Add(time.Minute)); ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, wins.Load())
		}
	}
}
