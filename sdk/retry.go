package aries

import "time"

// RetryPolicy bounds the automatic retry of answers 429 Too Many Requests.
// The client waits as the answer's Retry-After or X-RateLimit-Reset header
// says (or 1 s, 2 s, 4 s... when it says nothing), stops as soon as the
// call's context is done, and never retries a request that could act twice:
// only GET, HEAD, OPTIONS, PUT and DELETE, and requests with an
// Idempotency-Key (such as Orders.Place), are retried. Token requests are
// not retried. The last 429 is returned as an *Error when the policy runs
// out.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included; 0 or 1 turns
	// retrying off.
	MaxAttempts int
	// MaxWait caps the time spent waiting over all retries of one call,
	// default 30 s. A retry that would exceed it is not attempted.
	MaxWait time.Duration
}

func (p RetryPolicy) normalized() RetryPolicy {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 30 * time.Second
	}
	return p
}

// backoff is the wait before retry n when the server named none.
func (p RetryPolicy) backoff(n int) time.Duration {
	return time.Second << min(n-1, 5)
}
