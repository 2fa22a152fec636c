// Package ratelimit owns the request limits of docs/rate-limits.md: the
// categories and their default rates, the Limiter interface with its
// in-process (Memory) and Redis (Redis, shared by every instance) GCRA
// implementations, the Fallback that serves in-process limits while Redis
// is unreachable, and the HTTP side (the X-RateLimit-* headers, the 429
// answer and the per-route middleware). Policy.Check returns a verdict, a
// Decision, and writes nothing: each caller answers in its own format (the
// JSON 429 of WriteLimited, or an HTML page with the same headers).
//
// The source address of every address-keyed limit is RemoteIP's: the TCP
// peer, or behind a load balancer listed in TrustedProxies, the client
// address its X-Forwarded-For names (proxy.go, docs/deployment.md).
//
// Every Limiter implements the same algorithm, GCRA (the generic cell rate
// algorithm, as ITU-T I.371 defines it for ATM and as rate limiters use it),
// so the in-process limiter and the shared Redis one give a caller the same
// answers; Limiter's documentation states the semantics exactly.
//
// Headers follow the convention of the Aries API documentation:
// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (unix
// seconds) on every limited response, and Retry-After (RFC 9110 section
// 10.2.3, delay in seconds) on a 429 (RFC 6585 section 4).
package ratelimit
