package lockout

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/testclock"
	"github.com/ariesexchange/aries/internal/testenv"
)

func newPasswords(t *testing.T) (*Passwords, *testclock.Clock) {
	t.Helper()
	e := testenv.New(t, testenv.NoUser(), testenv.At(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)))
	return NewPasswords(e.Store, e.Clock.Now), e.Clock
}

func TestLockDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{PasswordThreshold, 30 * time.Second},
		{PasswordThreshold + 1, time.Minute},
		{PasswordThreshold + 2, 2 * time.Minute},
		{PasswordThreshold + 5, maxLock},
		{PasswordThreshold + 50, maxLock},
	}
	for _, tt := range tests {
		if got := lockDelay(tt.failures); got != tt.want {
			t.Errorf("lockDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

// The lock is per account and address; success from an address forgets
// that address's failures only.
func TestPasswordLockPerSource(t *testing.T) {
	p, clk := newPasswords(t)
	ctx := context.Background()
	for range PasswordThreshold {
		if err := p.Failed(ctx, "usr_a", "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
	}
	wait, _ := p.Locked(ctx, "usr_a", "203.0.113.9")
	if wait != 30*time.Second {
		t.Errorf("locked for %v at the failing address, want 30s", wait)
	}
	if wait, _ := p.Locked(ctx, "usr_a", "198.51.100.7"); wait != 0 {
		t.Errorf("locked for %v at another address, want 0", wait)
	}
	if wait, _ := p.Locked(ctx, "usr_b", "203.0.113.9"); wait != 0 {
		t.Errorf("another account locked for %v, want 0", wait)
	}
	clk.Add(30 * time.Second)
	if wait, _ := p.Locked(ctx, "usr_a", "203.0.113.9"); wait != 0 {
		t.Errorf("still locked for %v when the delay is over", wait)
	}
	// Failures older than the window no longer count.
	clk.Add(PasswordWindow)
	p.Failed(ctx, "usr_a", "203.0.113.9")
	if wait, _ := p.Locked(ctx, "usr_a", "203.0.113.9"); wait != 0 {
		t.Errorf("one fresh failure after the window locks for %v, want 0", wait)
	}
}

// Concurrent checks for one account and address run one at a time, so a
// burst of guesses cannot all pass the lock check before the first failure
// is stored: exactly PasswordThreshold are checked.
func TestPasswordChecksSerialise(t *testing.T) {
	p, _ := newPasswords(t)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		checked int
		wg      sync.WaitGroup
	)
	for range 30 {
		wg.Go(func() {
			release, err := p.Acquire(ctx, "usr_a", "203.0.113.9")
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			if wait, err := p.Locked(ctx, "usr_a", "203.0.113.9"); err != nil || wait > 0 {
				return
			}
			mu.Lock()
			checked++
			mu.Unlock()
			if err := p.Failed(ctx, "usr_a", "203.0.113.9"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if checked != PasswordThreshold {
		t.Errorf("%d guesses checked, want %d", checked, PasswordThreshold)
	}
	if len(p.gates) != 0 {
		t.Errorf("%d gates left after the burst, want 0", len(p.gates))
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	p, _ := newPasswords(t)
	release, _ := p.Acquire(context.Background(), "usr_a", "src")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Acquire(ctx, "usr_a", "src"); err == nil {
		t.Error("Acquire with a busy gate and a cancelled context succeeded")
	}
	release()
	if len(p.gates) != 0 {
		t.Errorf("%d gates left, want 0", len(p.gates))
	}
}

func TestEmailSubject(t *testing.T) {
	long := EmailSubject(string(make([]byte, 60<<10)))
	if len(long) != len(EmailSubject("a@example.com")) {
		t.Errorf("subjects of different lengths: %d and %d bytes", len(long), len(EmailSubject("a@example.com")))
	}
	if EmailSubject("a@example.com") == EmailSubject("b@example.com") {
		t.Error("two emails share a subject")
	}
}
