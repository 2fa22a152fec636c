package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Category groups routes that share a limit. Each route names one.
type Category string

// The categories of docs/rate-limits.md#categories-and-limits.
const (
	// Authentication covers the token, first-party authorize, MFA verify
	// and sign-in endpoints: the ones where credentials are guessed.
	Authentication Category = "authentication"
	User           Category = "user"
	Market         Category = "market"
	Trading        Category = "trading"
)

// Categories lists every category, in the order
// docs/rate-limits.md#categories-and-limits does.
var Categories = []Category{Authentication, User, Market, Trading}

// Rate allows Count requests per Period, in a burst or spread out.
type Rate struct {
	Count  int
	Period time.Duration
}

// PerMinute returns a Rate of n requests a minute.
func PerMinute(n int) Rate { return Rate{Count: n, Period: time.Minute} }

// ErrInvalidRate is returned for a Rate whose emission interval
// (Period/Count) is not at least one nanosecond.
var ErrInvalidRate = errors.New("ratelimit: invalid rate")

// interval returns the emission interval T = Period/Count in nanoseconds.
func (r Rate) interval() (int64, error) {
	if r.Count < 1 || r.Period <= 0 || int64(r.Period)/int64(r.Count) < 1 {
		return 0, fmt.Errorf("%w: %d per %s", ErrInvalidRate, r.Count, r.Period)
	}
	return int64(r.Period) / int64(r.Count), nil
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Count, r.Period) }

// ParseRate reads a rate written COUNT/PERIOD, the period a Go duration:
// "10/1m", "1000/60s", "5/1h".
func ParseRate(s string) (Rate, error) {
	count, period, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w %q: want COUNT/PERIOD, e.g. 10/1m", ErrInvalidRate, s)
	}
	n, err := strconv.Atoi(count)
	if err != nil {
		return Rate{}, fmt.Errorf("%w %q: count %q is not a whole number", ErrInvalidRate, s, count)
	}
	d, err := time.ParseDuration(period)
	if err != nil {
		return Rate{}, fmt.Errorf("%w %q: period %q is not a duration such as 1m", ErrInvalidRate, s, period)
	}
	r := Rate{Count: n, Period: d}
	if _, err := r.interval(); err != nil {
		return Rate{}, err
	}
	return r, nil
}

// Limits maps each category to its rate.
type Limits map[Category]Rate

// Set parses CATEGORY=COUNT/PERIOD (the --rate-limit flag), for example
// authentication=10/1m, and sets that category's rate. The category must be
// one of Categories.
func (l Limits) Set(spec string) error {
	name, rate, ok := strings.Cut(spec, "=")
	if !ok {
		return fmt.Errorf("rate limit %q: want CATEGORY=COUNT/PERIOD, e.g. authentication=10/1m", spec)
	}
	c := Category(strings.TrimSpace(name))
	if !slices.Contains(Categories, c) {
		return fmt.Errorf("rate limit %q: unknown category %q (want one of %v)", spec, name, Categories)
	}
	r, err := ParseRate(strings.TrimSpace(rate))
	if err != nil {
		return err
	}
	l[c] = r
	return nil
}

// DefaultLimits returns the limits of docs/rate-limits.md, which apply per
// client and user: authentication 10/min, user 100/min, market 1000/min,
// trading 50/min. The caller owns the returned map.
func DefaultLimits() Limits {
	return Limits{
		Authentication: PerMinute(10),
		User:           PerMinute(100),
		Market:         PerMinute(1000),
		Trading:        PerMinute(50),
	}
}

// Result is the outcome of charging one request.
type Result struct {
	Allowed bool
	// Limit is Rate.Count.
	Limit int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// ResetAt is when the key's full burst is available again.
	ResetAt time.Time
	// RetryAfter is how long to wait before the next request can be
	// allowed; zero when Allowed.
	RetryAfter time.Duration
}

// Limiter charges requests against per-key rates.
//
// Every implementation applies GCRA with these exact semantics, so that the
// in-process and the Redis limiter are interchangeable:
//
//   - The emission interval is T = rate.Period / rate.Count, in whole
//     nanoseconds (truncated). The burst is rate.Count: that many requests
//     may arrive at once on an idle key.
//   - Each key has a theoretical arrival time TAT; a key that has none, or
//     whose TAT is before now, counts as TAT = now. Implementations may
//     therefore forget any key whose TAT has passed.
//   - A request at now computes newTAT = TAT + T. It is allowed when
//     newTAT - now <= rate.Period; then the key's TAT becomes newTAT,
//     Remaining = floor((rate.Period - (newTAT - now)) / T), ResetAt = newTAT
//     and RetryAfter = 0.
//   - Otherwise it is refused and the key's TAT is unchanged: Remaining = 0,
//     ResetAt = TAT and RetryAfter = newTAT - rate.Period - now (> 0).
//   - Limit is rate.Count in both cases.
//
// So a key spends at most Count requests in any window of length Period,
// and regains one every T. The rate is passed per call, not stored: changing
// a category's rate takes effect on the next request. Allow returns
// ErrInvalidRate (wrapped) when T would be below one nanosecond, and any
// error of the backing store; callers decide whether to fail open.
type Limiter interface {
	Allow(ctx context.Context, key string, rate Rate, now time.Time) (Result, error)
}

// gcra is the single statement of the algorithm above. tat and now are unix
// nanoseconds (tat 0 when the key has none). It returns the result and the
// TAT to store; a refused request returns the TAT it was given.
func gcra(tat, now int64, rate Rate, interval int64) (Result, int64) {
	if tat < now {
		tat = now
	}
	period := int64(rate.Period)
	newTAT := tat + interval
	if allowAt := newTAT - period; now < allowAt {
		return Result{
			Limit:      rate.Count,
			ResetAt:    time.Unix(0, tat),
			RetryAfter: time.Duration(allowAt - now),
		}, tat
	}
	return Result{
		Allowed:   true,
		Limit:     rate.Count,
		Remaining: int((period - (newTAT - now)) / interval),
		ResetAt:   time.Unix(0, newTAT),
	}, newTAT
}
