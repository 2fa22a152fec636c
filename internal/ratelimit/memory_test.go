package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

func TestMemoryBurstThenRefuse(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	rate := DefaultLimits()[Authentication]

	for i := range 10 {
		got, err := m.Allow(ctx, "client-a:user-1", rate, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Allowed: true, Limit: 10, Remaining: 9 - i, ResetAt: t0.Add(time.Duration(i+1) * 6 * time.Second)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("request %d (-want +got):\n%s", i+1, diff)
		}
	}
	got, err := m.Allow(ctx, "client-a:user-1", rate, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Allowed: false, Limit: 10, Remaining: 0, ResetAt: t0.Add(time.Minute), RetryAfter: 6 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("11th request (-want +got):\n%s", diff)
	}
}

func TestMemoryRecovery(t *testing.T) {
	rate := PerMinute(10)
	tests := []struct {
		name    string
		after   time.Duration // since the burst of 10 at t0
		allowed int           // how many more requests at t0+after are allowed
	}{
		{"just after the burst", time.Second, 0},
		{"one emission interval later", 6 * time.Second, 1},
		{"half the period later", 30 * time.Second, 5},
		{"a full period later", time.Minute, 10},
		{"long idle does not bank more than the burst", time.Hour, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory()
			for range 10 {
				m.Allow(context.Background(), "k", rate, t0)
			}
			now := t0.Add(tt.after)
			n := 0
			for range 20 {
				res, err := m.Allow(context.Background(), "k", rate, now)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Allowed {
					break
				}
				n++
			}
			if n != tt.allowed {
				t.Errorf("got %d allowed, want %d", n, tt.allowed)
			}
		})
	}
}

func TestMemoryKeysAreIndependent(t *testing.T) {
	m := NewMemory()
	rate := PerMinute(10)
	for range 11 {
		m.Allow(context.Background(), "a", rate, t0)
	}
	res, err := m.Allow(context.Background(), "b", rate, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Allowed || res.Remaining != 9 {
		t.Errorf("key b after key a was exhausted: got allowed=%v remaining=%d, want true 9", res.Allowed, res.Remaining)
	}
}

func TestMemoryRefusedRequestsDoNotExtendTheWait(t *testing.T) {
	m := NewMemory()
	rate := PerMinute(10)
	for range 10 {
		m.Allow(context.Background(), "k", rate, t0)
	}
	// A client hammering while refused must not push its own reset back.
	for range 100 {
		m.Allow(context.Background(), "k", rate, t0.Add(time.Second))
	}
	res, _ := m.Allow(context.Background(), "k", rate, t0.Add(6*time.Second))
	if !res.Allowed {
		t.Errorf("got refused after one emission interval, want allowed")
	}
}

func TestMemoryInvalidRate(t *testing.T) {
	tests := []Rate{
		{Count: 0, Period: time.Minute},
		{Count: -1, Period: time.Minute},
		{Count: 10, Period: 0},
		{Count: 10, Period: 9}, // interval below one nanosecond
	}
	for _, rate := range tests {
		_, err := NewMemory().Allow(context.Background(), "k", rate, t0)
		if !errors.Is(err, ErrInvalidRate) {
			t.Errorf("rate %v: got error %v, want ErrInvalidRate", rate, err)
		}
	}
}

func TestMemoryConcurrentCallersShareOneBudget(t *testing.T) {
	m := NewMemory()
	rate := PerMinute(50)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				res, err := m.Allow(context.Background(), "k", rate, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Errorf("got %d allowed out of 320 concurrent requests, want 50", got)
	}
}

func TestMemoryForgetsIdleKeys(t *testing.T) {
	const n = 100_000
	m := NewMemory()
	rate := PerMinute(10)
	for i := range n {
		m.Allow(context.Background(), "first:"+strconv.Itoa(i), rate, t0)
	}
	if got := m.len(); got != n {
		t.Fatalf("got %d keys after the first wave, want %d", got, n)
	}
	// The first wave's TATs are all in the past two minutes later; a second
	// wave of new keys must displace them rather than add to them.
	later := t0.Add(2 * time.Minute)
	for i := range n {
		m.Allow(context.Background(), "second:"+strconv.Itoa(i), rate, later)
	}
	if got, limit := m.len(), n+n/10; got > limit {
		t.Errorf("got %d keys after the second wave, want at most %d", got, limit)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "market:aries_ci_client" + strconv.Itoa(i) + ":user" + strconv.Itoa(i)
	}
	rate := PerMinute(1000)
	b.Run("serial", func(b *testing.B) {
		m := NewMemory()
		ctx := context.Background()
		i := 0
		for b.Loop() {
			m.Allow(ctx, keys[i&(len(keys)-1)], rate, t0.Add(time.Duration(i)*time.Microsecond))
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		m := NewMemory()
		ctx := context.Background()
		var seq atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1)) * 997
			for pb.Next() {
				m.Allow(ctx, keys[i&(len(keys)-1)], rate, t0.Add(time.Duration(i)*time.Microsecond))
				i++
			}
		})
	})
}

func TestLimitsSet(t *testing.T) {
	tests := []struct {
		spec    string
		want    Rate
		wantErr bool
	}{
		{"authentication=10/1m", PerMinute(10), false},
		{"trading=5/10s", Rate{Count: 5, Period: 10 * time.Second}, false},
		{" market = 1000/1h ", Rate{Count: 1000, Period: time.Hour}, false},
		{"authentication", Rate{}, true},
		{"authentification=10/1m", Rate{}, true},
		{"user=10", Rate{}, true},
		{"user=ten/1m", Rate{}, true},
		{"user=10/minute", Rate{}, true},
		{"user=0/1m", Rate{}, true},
		{"user=-1/1m", Rate{}, true},
		{"user=10/0s", Rate{}, true},
	}
	for _, tt := range tests {
		l := DefaultLimits()
		err := l.Set(tt.spec)
		if (err != nil) != tt.wantErr {
			t.Errorf("Set(%q): got error %v, want error %t", tt.spec, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			if diff := cmp.Diff(DefaultLimits(), l); diff != "" {
				t.Errorf("Set(%q) failed but changed the limits (-want +got):\n%s", tt.spec, diff)
			}
			continue
		}
		name, _, _ := strings.Cut(tt.spec, "=")
		if got := l[Category(strings.TrimSpace(name))]; got != tt.want {
			t.Errorf("Set(%q): got %v, want %v", tt.spec, got, tt.want)
		}
	}
}
