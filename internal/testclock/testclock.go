// Package testclock is a settable time source for tests. Aries code takes
// its time as a `Now func() time.Time` field; a test passes Clock.Now and
// moves time by hand, also while server goroutines read it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time source that changes only when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock stopped at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
