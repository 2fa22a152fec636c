package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// DefaultRetryInterval is how long Fallback serves local limits after a
// failure of its primary limiter before it tries the primary again.
const DefaultRetryInterval = 5 * time.Second

// Fallback is the limiter of an instance that shares its limits through
// Redis: it charges Primary and, while Primary fails, Local.
//
// Without it a Redis outage leaves two bad choices: refuse every request
// (the limiter's outage becomes the API's) or serve everything unlimited
// (the authentication endpoints lose their guard against guessing). Local
// limits keep the guard, only per instance: during an outage a client can
// spend the rate once on each instance.
//
// After a failure Fallback stays on Local for RetryInterval, so requests do
// not each wait for a dead server; then one request at a time tries Primary
// again, and the first success switches back. Each switch is logged once and
// reported to OnStateChange (for the metric of the fallback state).
//
// Set the exported fields before the first Allow and do not change them.
type Fallback struct {
	Primary Limiter
	Local   Limiter
	// RetryInterval defaults to DefaultRetryInterval.
	RetryInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnStateChange, if set, is called with true when Fallback starts
	// serving local limits and with false when it is back on Primary.
	// It is called with an internal lock held and must not call Fallback.
	OnStateChange func(degraded bool)

	mu       sync.Mutex
	degraded bool
	retryAt  time.Time
	probing  bool // one request is trying Primary while degraded
}

// Allow implements Limiter: Primary's answer when it has one, Local's
// otherwise. It returns an error only for an invalid rate.
func (f *Fallback) Allow(ctx context.Context, key string, rate Rate, now time.Time) (Result, error) {
	if f.tryPrimary(now) {
		res, err := f.Primary.Allow(ctx, key, rate, now)
		switch {
		case err == nil:
			f.succeeded()
			return res, nil
		case errors.Is(err, ErrInvalidRate):
			f.succeeded()
			return res, err
		case ctx.Err() != nil:
			// The request was cancelled: says nothing about Primary.
			f.abandoned()
		default:
			f.failed(ctx, now, err)
		}
	}
	return f.Local.Allow(ctx, key, rate, now)
}

// Degraded reports whether Fallback is serving local limits.
func (f *Fallback) Degraded() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.degraded
}

// tryPrimary reports whether this request should ask Primary: always while
// it is healthy, and for one request at a time once the retry time has come.
func (f *Fallback) tryPrimary(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.degraded {
		return true
	}
	if f.probing || now.Before(f.retryAt) {
		return false
	}
	f.probing = true
	return true
}

func (f *Fallback) succeeded() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probing = false
	if !f.degraded {
		return
	}
	f.degraded = false
	f.logger().Info("shared rate limiter is back; serving shared limits again")
	if f.OnStateChange != nil {
		f.OnStateChange(false)
	}
}

func (f *Fallback) abandoned() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probing = false
}

func (f *Fallback) failed(ctx context.Context, now time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probing = false
	retry := f.RetryInterval
	if retry <= 0 {
		retry = DefaultRetryInterval
	}
	f.retryAt = now.Add(retry)
	if f.degraded {
		return
	}
	f.degraded = true
	f.logger().ErrorContext(ctx, "shared rate limiter failed; serving per-instance limits until it is back",
		"err", err, "retry_in", retry)
	if f.OnStateChange != nil {
		f.OnStateChange(true)
	}
}

func (f *Fallback) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}
