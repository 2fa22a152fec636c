package ratelimit

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ariesexchange/aries/internal/oauth"
)

// WriteHeaders sets X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (unix seconds, rounded up so a client that waits until
// then is never early).
func WriteHeaders(h http.Header, r Result) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.Remaining))
	reset := r.ResetAt.Unix()
	if r.ResetAt.Nanosecond() > 0 {
		reset++
	}
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
}

// WriteLimited answers 429 Too Many Requests (RFC 6585 section 4) for a
// refused request: the headers of Decision.SetHeaders and the JSON body
// {"error":"rate_limited","error_description":...} of Decision.Err.
func WriteLimited(w http.ResponseWriter, r Result) {
	d := Decision{Counted: true, Result: r}
	d.SetHeaders(w.Header())
	oauth.Write(w, d.Err())
}

// Decision is Policy.Check's verdict on one request: whether to serve it,
// and what to tell the client about its budget. Check writes nothing; the
// caller answers, with WriteLimited, with Err through its own error writer,
// or, on an HTML page, with SetHeaders and a page of its own.
type Decision struct {
	// Counted is false when the request was not charged: the policy is
	// disabled, the category has no limit or the limiter failed. It is
	// then served, and carries no rate-limit headers.
	Counted bool
	// Result is the limiter's answer when Counted.
	Result Result
}

// Limited reports whether the request must be refused with 429.
func (d Decision) Limited() bool { return d.Counted && !d.Result.Allowed }

// SetHeaders sets on h the X-RateLimit headers of a counted request and,
// when it is limited, Retry-After in whole seconds (RFC 9110 section
// 10.2.3; rounded up and at least 1, since 0 invites an immediate retry).
func (d Decision) SetHeaders(h http.Header) {
	if !d.Counted {
		return
	}
	WriteHeaders(h, d.Result)
	if d.Limited() {
		h.Set("Retry-After", strconv.FormatInt(d.retryAfter(), 10))
	}
}

// Err is the 429 rate_limited error of a limited request, for oauth.Write;
// nil when the request may be served.
func (d Decision) Err() *oauth.Error {
	if !d.Limited() {
		return nil
	}
	return &oauth.Error{
		Code:        oauth.RateLimited,
		Description: fmt.Sprintf("rate limit of %d requests exceeded; retry after %d seconds", d.Result.Limit, d.retryAfter()),
		Status:      http.StatusTooManyRequests,
	}
}

// retryAfter is Result.RetryAfter in whole seconds, rounded up, at least 1.
func (d Decision) retryAfter() int64 {
	retry := int64((d.Result.RetryAfter + time.Second - 1) / time.Second)
	return max(retry, 1)
}

// Policy applies Limits to HTTP requests through a Limiter. Set its fields
// before serving and do not change them afterwards.
type Policy struct {
	Limiter Limiter
	Limits  Limits
	// Disabled turns limiting off entirely (no charge, no headers), for
	// benchmarks.
	Disabled bool
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnLimited, if set, is called for every request refused with 429
	// (for the metric of limits hit).
	OnLimited func(Category)
}

// Check charges one request of category to key and returns the verdict;
// it writes nothing. The caller sets the verdict's headers and, when it is
// Limited, answers 429 instead of serving the request.
//
// Handlers that learn their key only after parsing the request (the token
// endpoint keys on the client and the user the code names) call Check
// directly; other routes use Middleware. The limiter's key is
// "<category>:<key>", so categories never share counters.
//
// A limiter failure (Redis unreachable) or a category missing from Limits
// is logged and the request served: an outage of the limiter must not
// become an outage of the API.
func (p *Policy) Check(r *http.Request, category Category, key string) Decision {
	if p.Disabled {
		return Decision{}
	}
	rate, ok := p.Limits[category]
	if !ok {
		p.logger().ErrorContext(r.Context(), "rate limit category has no limit; serving unlimited", "category", category)
		return Decision{}
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	res, err := p.Limiter.Allow(r.Context(), limiterKey(category, key), rate, now())
	if err != nil {
		p.logger().WarnContext(r.Context(), "rate limiter failed; serving unlimited", "category", category, "err", err)
		return Decision{}
	}
	if !res.Allowed && p.OnLimited != nil {
		p.OnLimited(category)
	}
	return Decision{Counted: true, Result: res}
}

// Middleware limits every request of a route in category, keyed by key(r)
// (typically the client and user of the verified access token). It panics
// when the policy is enabled and category has no valid rate, so a typo in
// the route table fails at start-up instead of leaving a route unlimited.
func (p *Policy) Middleware(category Category, key func(*http.Request) string) func(http.Handler) http.Handler {
	if key == nil {
		panic("ratelimit: Middleware needs a key function")
	}
	if !p.Disabled {
		if p.Limiter == nil {
			panic("ratelimit: Policy has no Limiter")
		}
		rate, ok := p.Limits[category]
		if !ok {
			panic(fmt.Sprintf("ratelimit: no limit for category %q", category))
		}
		if _, err := rate.interval(); err != nil {
			panic(fmt.Sprintf("ratelimit: category %q: %v", category, err))
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := p.Check(r, category, key(r))
			if d.Limited() {
				WriteLimited(w, d.Result)
				return
			}
			d.SetHeaders(w.Header())
			next.ServeHTTP(w, r)
		})
	}
}

// limiterKey is the category and a hash of key: a key holds whatever a
// request sent (an email, a client id), and a limiter keeps every key for a
// period, so hashing bounds the memory an anonymous flood can take to a
// fixed size per key (docs/security.md#bounded-anonymous-cost). 128 bits
// keep collisions out of reach.
func limiterKey(category Category, key string) string {
	sum := sha256.Sum256([]byte(key))
	return string(category) + ":" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (p *Policy) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// RemoteIP returns the host part of r.RemoteAddr, the key for requests that
// name no client or user. It does not read X-Forwarded-For itself: behind a
// proxy, TrustedProxies.Middleware, mounted in front of every handler,
// has already rewritten RemoteAddr from the headers it trusts.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
