package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Limiter shared by every instance of Aries: the theoretical
// arrival times live in Redis, so a client gets one limit however the load
// balancer spreads its requests.
//
// One Lua script runs the whole GCRA step of Limiter's documentation
// atomically in Redis, in one round trip: two instances charging one key at
// the same moment are serialised by Redis, never lost.
//
// The clock is Redis's own (the TIME command), not the caller's now: the
// instances then agree on every key's TAT even when their clocks drift
// apart, and a skewed instance can neither grant extra requests nor lock a
// key out. The now argument of Allow is therefore ignored; the results are
// those Memory gives for Redis's now.
//
// Keys are stored as "<prefix>" + the hex SHA-256 of the limiter key, so no
// email address or client id reaches Redis and every key has one length.
// Each expires when its TAT has passed, which GCRA treats as absent anyway.
type Redis struct {
	client redis.Scripter
	prefix string
	// callerClock makes the script use the now given to Allow instead of
	// Redis's TIME: tests use it to compare results with Memory exactly.
	callerClock bool
}

// DefaultRedisPrefix namespaces the limiter's keys in a shared Redis.
const DefaultRedisPrefix = "aries:rl:"

// NewRedis returns a limiter keeping its state in the Redis that client
// talks to, under keys starting with prefix (DefaultRedisPrefix if "").
func NewRedis(client redis.Scripter, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{client: client, prefix: prefix}
}

// NewRedisClient parses a redis:// or rediss:// URL into a client tuned to
// fail fast: a limiter that waits seconds for a dead Redis turns its outage
// into an outage of the API, while Fallback can serve local limits at once.
// CLIENT SETINFO is disabled because Redis before 7.2 (Debian's 7.0) answers
// it with an error on every new connection.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis URL: %w", err)
	}
	opts.DisableIdentity = true
	opts.DialTimeout = 500 * time.Millisecond
	opts.DialerRetries = 1
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	opts.PoolTimeout = time.Second
	// One attempt per request: a retry doubles the wait of a request
	// during an outage and Fallback answers it locally instead.
	opts.MaxRetries = -1
	return redis.NewClient(opts), nil
}

// gcraScript is the step of Limiter's documentation in Redis Lua.
//
// Lua 5.1 numbers are doubles, exact only up to 2^53, and unix nanoseconds
// are about 2^61; so times travel as (seconds, nanoseconds) pairs and the
// arithmetic is done on offsets from now, which are bounded by the rate's
// period (exact for periods under 104 days). A TAT that is before now is
// clamped to now before any offset is formed, so an ancient TAT cannot lose
// precision either.
//
// KEYS[1]: the key. ARGV: interval ns, period ns, then now as seconds and
// nanoseconds, or nothing to use Redis's TIME.
// Returns {allowed 0|1, remaining, reset seconds, reset nanoseconds, retry ns}.
const gcraScript = `
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now_s, now_ns
if ARGV[3] then
  now_s, now_ns = tonumber(ARGV[3]), tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now_s, now_ns = tonumber(t[1]), tonumber(t[2]) * 1000
end

-- d = max(TAT - now, 0), in nanoseconds.
local d = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local tat_s, tat_ns = string.match(stored, '^(%d+) (%d+)$')
  if tat_s then
    local ds = tonumber(tat_s) - now_s
    if ds >= 0 then
      d = math.max(ds * 1000000000 + tonumber(tat_ns) - now_ns, 0)
    end
  end
end

local function at(offset)
  local ns = now_ns + offset
  local carry = math.floor(ns / 1000000000)
  return now_s + carry, ns - carry * 1000000000
end

local new_d = d + interval
local allow_at = new_d - period
if allow_at > 0 then
  local reset_s, reset_ns = at(d)
  return {0, 0, reset_s, reset_ns, allow_at}
end

local left = period - new_d
local remaining = math.floor(left / interval)
if remaining * interval > left then
  remaining = remaining - 1
elseif (remaining + 1) * interval <= left then
  remaining = remaining + 1
end
local reset_s, reset_ns = at(new_d)
redis.call('SET', KEYS[1], string.format('%d %d', reset_s, reset_ns),
  'PX', math.max(math.ceil(new_d / 1000000), 1))
return {1, remaining, reset_s, reset_ns, 0}
`

var gcraLua = redis.NewScript(gcraScript)

// Allow implements Limiter with the GCRA semantics documented there, on
// Redis's clock.
func (l *Redis) Allow(ctx context.Context, key string, rate Rate, now time.Time) (Result, error) {
	interval, err := rate.interval()
	if err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256([]byte(key))
	args := []any{interval, int64(rate.Period)}
	if l.callerClock {
		args = append(args, now.Unix(), now.Nanosecond())
	}
	vals, err := gcraLua.Run(ctx, l.client, []string{l.prefix + hex.EncodeToString(sum[:])}, args...).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(vals) != 5 {
		return Result{}, errors.New("ratelimit: redis: malformed script reply")
	}
	return Result{
		Allowed:    vals[0] == 1,
		Limit:      rate.Count,
		Remaining:  int(vals[1]),
		ResetAt:    time.Unix(vals[2], vals[3]),
		RetryAfter: time.Duration(vals[4]),
	}, nil
}
