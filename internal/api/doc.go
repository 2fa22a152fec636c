// Package api owns the protection of the Aries API inside `aries serve`:
// the route table (routes.go: every route with its scope, rate-limit
// category and what serves it), the chain every route is mounted behind,
// the in-memory revocation list, and the reverse proxy to upstream
// services.
//
// Each route is served only with a valid access token carrying one of its
// scopes (sdk/bearer, RFC 6750: 401 without a valid token, 403
// insufficient_scope without the scope), a DPoP-bound one only with the DPoP
// scheme and a proof of its key (RFC 9449 section 7), and within its
// category's rate limit per client and user (package ratelimit,
// docs/rate-limits.md). The sandbox's own routes are served by package
// sandbox; the market, calendar, options, analytics and supplemental routes
// (the WebSocket at /v1/market/ws included) are forwarded to the upstream
// configured for their path prefix, or answered 503 upstream_unavailable
// when there is none: the API never makes up market data.
//
// Upstreams do not receive the access token (they could replay it), its
// DPoP proof, nor cookies; they receive the verified caller in X-Aries-User
// (absent for a client acting as itself), X-Aries-Client and
// X-Aries-Scopes. Aries first strips every incoming header that names one of
// them after folding case and "_" to "-" (X_Aries_User reads as HTTP_X_ARIES_USER in CGI and WSGI,
// docs/security.md#upstreams-see-only-what-aries-sets). The request path is
// forwarded unchanged, appended to the upstream's base URL.
//
// Revocation: tokens are verified in memory. Revocations polls the store
// every RevocationInterval (5 s by default) for access tokens, grants and
// clients revoked since the last poll, so a revoked token stops working
// here within about one interval. If the store cannot be polled for 30 s
// (or six intervals), the API answers 503 instead of trusting a stale list.
package api
