package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/ariesexchange/aries/internal/outage"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
)

// DefaultRevocationInterval is how often Revocations polls the store, and
// so the delay, give or take one poll, after which a revoked access token
// stops working on the API.
const DefaultRevocationInterval = 5 * time.Second

// overlap is how far back each poll reaches before the previous one, so a
// revocation committed late (or stamped by an instance whose clock is a
// little behind) is not missed. Reading it twice is harmless.
const overlap = 30 * time.Second

// minStaleAfter is the least time Revocations keeps answering from its
// last successful poll when polls fail.
const minStaleAfter = 30 * time.Second

// Revocations is this process's copy of what is revoked: access tokens by
// jti, grants, and disabled or deleted clients (store.Revocations). The API
// checks every token against it in memory, a few map lookups, instead of
// asking the store on every request; Run refreshes it every Interval.
//
// If the store cannot be polled for StaleAfter, Revoked fails (the API
// answers 503) rather than accept tokens that may have been revoked since.
type Revocations struct {
	Store store.RevocationStore
	// Interval is the polling period; zero means DefaultRevocationInterval.
	Interval time.Duration
	// TokenLifetime is the longest an access token lives, leeway
	// included: a revocation older than that can no longer match a live
	// token and is forgotten.
	TokenLifetime time.Duration
	Now           func() time.Time
	Logger        *slog.Logger

	snap atomic.Pointer[revocationSnapshot]
}

// revocationSnapshot is immutable once published; a poll builds the next.
type revocationSnapshot struct {
	jtis    map[string]time.Time // jti -> the token's expiry
	grants  map[string]time.Time // grant id -> revoked at
	clients map[string]time.Time // client id -> revoked at
	polled  time.Time            // when the poll that built it started
}

func (r *Revocations) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Revocations) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return DefaultRevocationInterval
}

// StaleAfter is how long Revoked trusts the last successful poll: six
// intervals, and at least 30 seconds.
func (r *Revocations) StaleAfter() time.Duration {
	return max(6*r.interval(), minStaleAfter)
}

// Poll reads what was revoked since the last poll (at the first, within
// TokenLifetime) and publishes the updated set.
func (r *Revocations) Poll(ctx context.Context) error {
	start := r.now()
	prev := r.snap.Load()
	since := start.Add(-r.TokenLifetime - overlap)
	if prev != nil {
		since = prev.polled.Add(-overlap)
	}
	got, err := r.Store.RevocationsSince(ctx, since)
	if err != nil {
		return fmt.Errorf("polling revocations: %w", err)
	}
	next := &revocationSnapshot{polled: start}
	if prev != nil {
		next.jtis, next.grants, next.clients = maps.Clone(prev.jtis), maps.Clone(prev.grants), maps.Clone(prev.clients)
	} else {
		next.jtis, next.grants, next.clients = map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	}
	for _, t := range got.AccessTokens {
		next.jtis[t.JTI] = t.ExpiresAt
	}
	for _, g := range got.Grants {
		next.grants[g.ID] = g.RevokedAt
	}
	for _, c := range got.Clients {
		if prevAt, ok := next.clients[c.ID]; !ok || c.RevokedAt.After(prevAt) {
			next.clients[c.ID] = c.RevokedAt
		}
	}
	// Forget what can no longer match a live token: a jti once its token
	// has expired (overlap covers the verifier's leeway), a grant or client
	// once every token issued before its revocation has.
	expired := start.Add(-overlap)
	maps.DeleteFunc(next.jtis, func(_ string, expires time.Time) bool { return expires.Before(expired) })
	horizon := start.Add(-r.TokenLifetime - overlap)
	maps.DeleteFunc(next.grants, func(_ string, at time.Time) bool { return at.Before(horizon) })
	maps.DeleteFunc(next.clients, func(_ string, at time.Time) bool { return at.Before(horizon) })
	r.snap.Store(next)
	return nil
}

// Run polls every Interval until ctx ends. A failed poll gives up at the
// store's deadline (--db-timeout) and is retried at the next tick; the
// outage is logged once when it starts and once when it ends.
func (r *Revocations) Run(ctx context.Context) {
	tick := time.NewTicker(r.interval())
	defer tick.Stop()
	watch := &outage.Watch{Logger: r.logger(), Now: r.Now,
		Down: "revocation poll failed; revoked tokens may pass until it succeeds, then the API answers 503",
		Back: "revocation poll works again"}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err := r.Poll(ctx)
			if ctx.Err() != nil {
				return
			}
			watch.Report(ctx, err)
		}
	}
}

func (r *Revocations) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// errStale is what Revoked reports when the set is too old to trust.
var errStale = errors.New("api: the revocation list could not be refreshed")

// Revoked is the bearer.Config.Revoked hook: a token is revoked if its jti
// is, its grant is, or its client was disabled or deleted after the token
// was issued (a client enabled again gets working tokens again, but never
// the ones it held when it was disabled).
func (r *Revocations) Revoked(_ context.Context, c *bearer.Claims) (bool, error) {
	s := r.snap.Load()
	if s == nil || r.now().Sub(s.polled) > r.StaleAfter() {
		return false, errStale
	}
	if _, ok := s.jtis[c.JTI]; ok {
		return true, nil
	}
	if c.GrantID != "" {
		if _, ok := s.grants[c.GrantID]; ok {
			return true, nil
		}
	}
	// iat has whole seconds: a token issued in the second of the
	// revocation counts as issued before it.
	if at, ok := s.clients[c.ClientID]; ok && !c.IssuedAt.After(at) {
		return true, nil
	}
	return false, nil
}
