// Package bearer owns the protection of Aries API routes: it verifies the
// JWT access tokens the Aries authorization server issues and enforces each
// route's scope. Any Aries API service imports it, without the server, and
// the server itself checks tokens with it (its API, introspection): it is
// the one validator of Aries access tokens. The claims are protocol.Claims,
// the type the server mints.
//
// A Verifier checks a token as RFC 9068 section 4 requires: a signature by a
// key of the server's JWKS (RFC 7517) under an algorithm from a fixed
// allow-list (ES256 by default; never "none" nor an HMAC algorithm, which
// would let a public key act as a shared secret), the header "typ" at+jwt,
// the issuer, the audience, and the expiry, not-before and issued-at times
// within a small leeway. It caches the JWKS, refetches it when a token names
// an unknown key (at most once per MinRefreshInterval, so forged key ids
// cannot make it hammer the server) and refreshes it in the background when
// the cache is older than RefreshInterval. A service inside the
// authorization server's own process sets Config.KeySet instead of JWKSURL
// and reads the keys without a network call to itself.
//
// A client sends its token with every call for the token's lifetime, so
// the Verifier also remembers the tokens it accepted, by the SHA-256 of the
// token, and does not check a remembered token's signature again while the
// key that verified it is still in the JWKS; the times, Config.Revoked and
// any DPoP proof are checked on every call. Config.VerifiedCacheSize bounds
// it (DefaultVerifiedCacheSize tokens; negative turns it off).
//
// Verifier.Require is the middleware. It reads the token only from the
// Authorization header (RFC 6750 section 2.1) and answers with the
// WWW-Authenticate challenges of RFC 6750 section 3: 401 without a token or
// with an invalid one, 403 insufficient_scope when the token lacks the
// route's scope (RequireAny: any one of the route's scopes). The claims of
// an accepted token are in the request context (FromContext). A handler that
// checks bearer tokens its own way reads the header with TokenFromRequest
// (CredentialsFromRequest for either scheme) and answers with
// WriteChallenge.
//
// DPoP (RFC 9449): a token bound to a key (claim "cnf" with "jkt") is
// accepted only with the DPoP scheme and a DPoP header whose proof passes
// every check of package dpop for this request, with the token's hash in
// "ath" and the bound key; presented as Bearer it is invalid_token.
// Verifier.VerifyRequest is that check for handlers that do not use
// Require. Config.DPoP says where proofs are remembered (shared by every
// instance of a service, or this process's memory by default), whether a
// server nonce is required, and the service's public URL. Every 401 names
// both schemes, the DPoP challenge with the accepted algorithms (section
// 7.1).
//
// Access tokens are self-contained: unless Config.Revoked is set, a revoked
// token keeps working until it expires (15 minutes with the server's
// default lifetime).
package bearer
