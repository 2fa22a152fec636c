package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flaky is a primary limiter that fails while down is set.
type flaky struct {
	down  atomic.Bool
	calls atomic.Int64
	// block, if set, holds each call until it is closed.
	block chan struct{}
	mem   *Memory
}

var errDown = errors.New("connection refused")

func (f *flaky) Allow(ctx context.Context, key string, rate Rate, now time.Time) (Result, error) {
	f.calls.Add(1)
	if f.block != nil {
		<-f.block
	}
	if f.down.Load() {
		return Result{}, errDown
	}
	return f.mem.Allow(ctx, key, rate, now)
}

type states struct {
	mu  sync.Mutex
	got []bool
}

func (s *states) record(degraded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, degraded)
}

func (s *states) list() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.got...)
}

func newFallback(primary Limiter, logs *bytes.Buffer, st *states) *Fallback {
	return &Fallback{
		Primary:       primary,
		Local:         NewMemory(),
		RetryInterval: 5 * time.Second,
		Logger:        slog.New(slog.NewTextHandler(logs, nil)),
		OnStateChange: st.record,
	}
}

func TestFallbackOutageAndRecovery(t *testing.T) {
	primary := &flaky{mem: NewMemory()}
	var logs bytes.Buffer
	var st states
	f := newFallback(primary, &logs, &st)
	ctx := t.Context()
	rate := PerMinute(10)
	allow := func(now time.Time) Result {
		t.Helper()
		res, err := f.Allow(ctx, "k", rate, now)
		if err != nil {
			t.Fatalf("Allow: got error %v, want none (Fallback always answers)", err)
		}
		return res
	}

	// Healthy: the primary's counters are charged.
	for range 3 {
		allow(t0)
	}
	if got := primary.calls.Load(); got != 3 {
		t.Fatalf("primary calls while healthy: got %d, want 3", got)
	}

	// The primary dies: the request that finds out is served locally, and
	// the local limiter really limits.
	primary.down.Store(true)
	n := 0
	for range 15 {
		if allow(t0.Add(time.Second)).Allowed {
			n++
		}
	}
	if n != 10 {
		t.Errorf("requests allowed on local limits: got %d of 15, want 10 (the local burst)", n)
	}
	if !f.Degraded() {
		t.Error("Degraded after a failure: got false, want true")
	}
	if got := primary.calls.Load(); got != 4 {
		t.Errorf("primary calls after the failure: got %d, want 4 (no retry before the interval)", got)
	}

	// At the retry time one request tries the primary; it is still down.
	allow(t0.Add(6 * time.Second))
	if got := primary.calls.Load(); got != 5 {
		t.Errorf("primary calls at the retry time: got %d, want 5", got)
	}
	allow(t0.Add(7 * time.Second))
	if got := primary.calls.Load(); got != 5 {
		t.Errorf("primary calls after a failed retry: got %d, want 5 (the interval starts again)", got)
	}

	// Back: the next retry switches over.
	primary.down.Store(false)
	allow(t0.Add(12 * time.Second))
	if f.Degraded() {
		t.Error("Degraded after the primary is back: got true, want false")
	}
	allow(t0.Add(12 * time.Second))
	if got := primary.calls.Load(); got != 7 {
		t.Errorf("primary calls after recovery: got %d, want 7", got)
	}

	if got, want := st.list(), []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("state changes: got %v, want %v (each switch reported once)", got, want)
	}
	out := logs.String()
	if strings.Count(out, "shared rate limiter failed") != 1 || strings.Count(out, "shared rate limiter is back") != 1 {
		t.Errorf("logs: want one line for the outage and one for the recovery, got:\n%s", out)
	}
	if !strings.Contains(out, errDown.Error()) {
		t.Errorf("logs: want the primary's error, got:\n%s", out)
	}
}

// TestFallbackOneProbe: when the retry time comes, only one request waits
// on the primary; the others are served locally meanwhile.
func TestFallbackOneProbe(t *testing.T) {
	primary := &flaky{mem: NewMemory()}
	var logs bytes.Buffer
	var st states
	f := newFallback(primary, &logs, &st)
	primary.down.Store(true)
	f.Allow(t.Context(), "k", PerMinute(10), t0)

	primary.block = make(chan struct{})
	later := t0.Add(time.Minute)
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		f.Allow(context.Background(), "k", PerMinute(10), later)
	}()
	for deadline := time.Now().Add(10 * time.Second); primary.calls.Load() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the probe did not reach the primary within 10s")
		}
	}
	for range 20 {
		if _, err := f.Allow(t.Context(), "other", PerMinute(1000), later); err != nil {
			t.Fatal(err)
		}
	}
	if got := primary.calls.Load(); got != 2 {
		t.Errorf("primary calls while one probe is pending: got %d, want 2", got)
	}
	close(primary.block)
	<-probeDone
}

// TestFallbackCancelled: a request cancelled by its client says nothing
// about the primary's health.
func TestFallbackCancelled(t *testing.T) {
	var st states
	var logs bytes.Buffer
	cancelled := limiterFunc(func(ctx context.Context, _ string, _ Rate, _ time.Time) (Result, error) {
		return Result{}, ctx.Err()
	})
	f := newFallback(cancelled, &logs, &st)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Allow(ctx, "k", PerMinute(10), t0); err != nil {
		t.Fatal(err)
	}
	if f.Degraded() || len(st.list()) != 0 {
		t.Errorf("after a cancelled request: got degraded=%t, state changes %v; want healthy, none", f.Degraded(), st.list())
	}
}

func TestFallbackInvalidRate(t *testing.T) {
	var st states
	var logs bytes.Buffer
	f := newFallback(&flaky{mem: NewMemory()}, &logs, &st)
	if _, err := f.Allow(t.Context(), "k", Rate{}, t0); !errors.Is(err, ErrInvalidRate) {
		t.Errorf("got error %v, want %v", err, ErrInvalidRate)
	}
	if f.Degraded() {
		t.Error("an invalid rate made the limiter degraded; want it healthy")
	}
}

// limiterFunc adapts a function to Limiter, for tests.
type limiterFunc func(ctx context.Context, key string, rate Rate, now time.Time) (Result, error)

func (f limiterFunc) Allow(ctx context.Context, key string, rate Rate, now time.Time) (Result, error) {
	return f(ctx, key, rate, now)
}
