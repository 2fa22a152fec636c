package aries

import (
	"context"
	"time"
)

// SetClock replaces the client's clock and its sleep between retries, so
// tests of expiry and of Retry-After waits run instantly.
func SetClock(c *Client, now func() time.Time, sleep func(context.Context, time.Duration) error) {
	if now != nil {
		c.now = now
	}
	if sleep != nil {
		c.sleep = sleep
	}
}
