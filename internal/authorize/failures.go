package authorize

import (
	"context"
	"sync"
	"time"
)

// Sign-in throttling: after lockThreshold failures for one email within
// failureWindow, sign-in for that email is refused for a delay that starts
// at firstLock and doubles with each further failure, up to maxLock.
const (
	lockThreshold = 5
	failureWindow = 15 * time.Minute
	firstLock     = 30 * time.Second
	maxLock       = 15 * time.Minute
)

// maxTracked bounds the memory of the failure tracker. When it is full,
// entries idle for failureWindow are dropped; if none are, new emails go
// untracked rather than evicting a lock an attacker would like lifted.
const maxTracked = 100_000

// failures counts failed sign-ins per email, whether or not the account
// exists, so a lockout reveals nothing either. It lives in process memory:
// the per-email lock slows guessing against one account, while the shared
// rate limits of the authentication category cover several instances.
//
// Checks for one email run one at a time (acquire), so a burst of parallel
// guesses cannot all pass the lock check before the first failure is
// counted.
type failures struct {
	mu        sync.Mutex
	m         map[string]*failure
	gates     map[string]*gate
	lastPrune time.Time
}

// gate admits one sign-in check per email at a time.
type gate struct {
	ch   chan struct{}
	refs int // holders and waiters; the gate is dropped at 0
}

type failure struct {
	recent      []time.Time   // failures within the window, oldest first
	lockedUntil time.Time     // zero when never locked
	delay       time.Duration // the latest lock's length; 0 before the first
}

func newFailures() *failures {
	return &failures{m: make(map[string]*failure), gates: make(map[string]*gate)}
}

// acquire waits until no other sign-in for email is being checked. Call
// release when the attempt has been recorded.
func (f *failures) acquire(ctx context.Context, email string) (release func(), err error) {
	f.mu.Lock()
	g := f.gates[email]
	if g == nil {
		g = &gate{ch: make(chan struct{}, 1)}
		f.gates[email] = g
	}
	g.refs++
	f.mu.Unlock()
	select {
	case g.ch <- struct{}{}:
		return func() { <-g.ch; f.unref(email, g) }, nil
	case <-ctx.Done():
		f.unref(email, g)
		return nil, ctx.Err()
	}
}

func (f *failures) unref(email string, g *gate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g.refs--
	if g.refs == 0 {
		delete(f.gates, email)
	}
}

// locked returns how long sign-in for email stays refused, or 0.
func (f *failures) locked(email string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[email]
	if !ok || !now.Before(e.lockedUntil) {
		return 0
	}
	return e.lockedUntil.Sub(now)
}

// fail records a failed sign-in for email.
func (f *failures) fail(email string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[email]
	if !ok {
		if len(f.m) >= maxTracked && !f.prune(now) {
			return
		}
		e = &failure{}
		f.m[email] = e
	}
	if e.quiet(now) {
		*e = failure{}
	}
	e.recent = append(e.recent, now)
	for len(e.recent) > 0 && now.Sub(e.recent[0]) > failureWindow || len(e.recent) > lockThreshold {
		e.recent = e.recent[1:]
	}
	// Once locked, every further failure before things go quiet locks
	// again, for twice as long.
	if len(e.recent) >= lockThreshold || e.delay > 0 {
		e.delay = min(max(2*e.delay, firstLock), maxLock)
		e.lockedUntil = now.Add(e.delay)
	}
}

// succeed forgets email's failures.
func (f *failures) succeed(email string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, email)
}

// prune drops entries that can no longer lock anyone and reports whether
// there is room. It scans at most once a minute.
func (f *failures) prune(now time.Time) bool {
	if now.Sub(f.lastPrune) >= time.Minute {
		f.lastPrune = now
		for k, e := range f.m {
			if e.quiet(now) {
				delete(f.m, k)
			}
		}
	}
	return len(f.m) < maxTracked
}

// quiet reports whether e has seen no failure for a whole window, counted
// from the end of its lock, so it can start over.
func (e *failure) quiet(now time.Time) bool {
	last := e.lockedUntil
	if n := len(e.recent); n > 0 && e.recent[n-1].After(last) {
		last = e.recent[n-1]
	}
	return now.Sub(last) > failureWindow
}
