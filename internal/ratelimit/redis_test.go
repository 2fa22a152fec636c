package ratelimit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// testRedis returns a limiter on the Redis of ARIES_TEST_REDIS_URL under a
// prefix of its own, whose keys are deleted when the test ends. Without the
// variable the test is skipped, except in CI, where Redis must be there.
func testRedis(t *testing.T) (*Redis, *redis.Client) {
	t.Helper()
	url := os.Getenv("ARIES_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ARIES_TEST_REDIS_URL is not set; CI must run the Redis limiter tests (.ci/run sets it)")
		}
		t.Skip("skipped: set ARIES_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the Redis limiter tests")
	}
	client, err := NewRedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s is unreachable: %v", url, err)
		}
		t.Skipf("skipped: Redis at %s is unreachable: %v", url, err)
	}
	prefix := "aries:test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := client.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			client.Del(ctx, keys...)
		}
	})
	return NewRedis(client, prefix), client
}

// TestRedisMatchesMemory replays one random sequence of requests, over
// several keys, rates and time steps, against Memory and the Redis script
// (on the caller's clock) and wants the same Result every time: the two
// limiters implement one algorithm.
func TestRedisMatchesMemory(t *testing.T) {
	rl, _ := testRedis(t)
	rl.callerClock = true
	mem := NewMemory()
	ctx := t.Context()

	rates := []Rate{
		PerMinute(10),
		PerMinute(1000),
		{Count: 7, Period: time.Second}, // interval 142857142 ns, not a whole millisecond
		{Count: 3, Period: time.Hour},
		{Count: 1, Period: 500 * time.Millisecond},
		{Count: 50, Period: 90 * 24 * time.Hour}, // a long period still computes exactly
	}
	steps := []time.Duration{0, 0, 0, time.Nanosecond, 999_999 * time.Nanosecond, time.Millisecond,
		137 * time.Millisecond, time.Second, 6 * time.Second, time.Minute, time.Hour}
	// t0 + a fraction of a second, so the seconds/nanoseconds split of the
	// script is exercised across carries.
	now := t0.Add(987_654_321 * time.Nanosecond)
	r := mrand.New(mrand.NewPCG(1, 2))
	allowed, refused := 0, 0
	for i := range 3000 {
		now = now.Add(steps[r.IntN(len(steps))])
		rate := rates[r.IntN(len(rates))]
		key := fmt.Sprintf("key-%d-%s", r.IntN(3), rate)
		want, err := mem.Allow(ctx, key, rate, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rl.Allow(ctx, key, rate, now)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("request %d (%s, %s at %v): Redis differs from Memory (-memory +redis):\n%s", i, key, rate, now, d)
		}
		if got.Allowed {
			allowed++
		} else {
			refused++
		}
	}
	// The sequence must have exercised both branches to mean anything.
	if allowed < 100 || refused < 100 {
		t.Errorf("sequence gave %d allowed and %d refused; want at least 100 of each", allowed, refused)
	}
}

// TestRedisServerClock checks the production mode: Redis's TIME is the
// clock, whatever now the caller passes.
func TestRedisServerClock(t *testing.T) {
	rl, _ := testRedis(t)
	ctx := t.Context()
	rate := PerMinute(10)
	skewed := time.Now().Add(-3 * time.Hour) // an instance whose clock is far off
	start := time.Now()
	for i := range 10 {
		res, err := rl.Allow(ctx, "k", rate, skewed)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed || res.Remaining != 9-i {
			t.Fatalf("request %d: got allowed=%t remaining=%d, want allowed with %d remaining", i+1, res.Allowed, res.Remaining, 9-i)
		}
	}
	res, err := rl.Allow(ctx, "k", rate, skewed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed {
		t.Fatal("11th request: got allowed, want refused")
	}
	// Tolerances cover the time the requests took and clock differences
	// between this process and Redis on one machine.
	if res.RetryAfter <= 5*time.Second || res.RetryAfter > 6*time.Second {
		t.Errorf("RetryAfter: got %v, want just under 6s", res.RetryAfter)
	}
	if d := res.ResetAt.Sub(start.Add(time.Minute)).Abs(); d > 2*time.Second {
		t.Errorf("ResetAt: got %v, want about %v (Redis's now + 1m), off by %v", res.ResetAt, start.Add(time.Minute), d)
	}
}

// TestRedisShared charges one key through several clients at once, as
// several instances would: together they get the burst, exactly.
func TestRedisShared(t *testing.T) {
	rl, _ := testRedis(t)
	url := os.Getenv("ARIES_TEST_REDIS_URL")
	instances := []*Redis{rl}
	for range 2 {
		c, err := NewRedisClient(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		instances = append(instances, NewRedis(c, rl.prefix))
	}

	const n = 60
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := instances[i%len(instances)].Allow(context.Background(), "authentication:client:user", PerMinute(10), time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			if res.Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != 10 {
		t.Errorf("%d concurrent requests through %d clients: got %d allowed, want 10", n, len(instances), got)
	}
}

// TestRedisKeys checks what the limiter leaves in Redis: no limiter key in
// clear, and an expiry so idle keys do not pile up.
func TestRedisKeys(t *testing.T) {
	rl, client := testRedis(t)
	ctx := t.Context()
	if _, err := rl.Allow(ctx, "authentication:aries_ci_x:alice@example.com", PerMinute(10), time.Now()); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, rl.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keys under the prefix: got %q, want one", keys)
	}
	if want := len(rl.prefix) + 64; len(keys[0]) != want {
		t.Errorf("key %q: got length %d, want the prefix and a hex SHA-256 (%d)", keys[0], len(keys[0]), want)
	}
	ttl, err := client.PTTL(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	// One request of ten a minute leaves the TAT 6 s ahead.
	if ttl <= 5*time.Second || ttl > 6*time.Second {
		t.Errorf("key expiry: got %v, want about 6s (when its TAT passes)", ttl)
	}
}

func TestRedisInvalidRate(t *testing.T) {
	rl := NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "")
	_, err := rl.Allow(t.Context(), "k", Rate{Count: 0, Period: time.Minute}, time.Now())
	if !errors.Is(err, ErrInvalidRate) {
		t.Errorf("got error %v, want %v", err, ErrInvalidRate)
	}
}

// TestRedisUnreachable: a dead Redis is an error, returned quickly, not a
// request held for seconds.
func TestRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	client, err := NewRedisClient("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	start := time.Now()
	_, err = NewRedis(client, "").Allow(t.Context(), "k", PerMinute(10), time.Now())
	if err == nil {
		t.Fatal("got success from a Redis that is not there, want an error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failing took %v, want under 2s", d)
	}
}

func TestNewRedisClient(t *testing.T) {
	for _, bad := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/notanumber"} {
		if c, err := NewRedisClient(bad); err == nil {
			c.Close()
			t.Errorf("NewRedisClient(%q): got success, want an error", bad)
		}
	}
	c, err := NewRedisClient("redis://:pw@127.0.0.1:6379/3")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := c.Options()
	if !opts.DisableIdentity || opts.DB != 3 || opts.Password != "pw" || opts.MaxRetries > 0 {
		t.Errorf("options: got DisableIdentity=%t DB=%d password set=%t MaxRetries=%d; want true, 3, true, no retries",
			opts.DisableIdentity, opts.DB, opts.Password != "", opts.MaxRetries)
	}
}
