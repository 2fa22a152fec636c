// Package token serves POST /v1/oauth2/token (RFC 6749 section 3.2): one
// handler that parses the request once, authenticates the client before any
// grant runs, and then applies exactly one grant: authorization_code (and its
// alias "code", as the Aries guide writes it) with PKCE (RFC 7636),
// refresh_token with rotation and family revocation on replay (RFC 9700
// section 4.14.2), or client_credentials (RFC 6749 section 4.4). A request
// with a DPoP proof (RFC 9449 section 5, dpop.go) gets tokens bound to the
// proof's key whatever its grant.
//
// Invariants:
//   - Client authentication happens before a code or refresh token is
//     consumed, so a request that fails it leaves them usable.
//   - Single use is decided by the store in one conditional update; of two
//     concurrent requests with one code or refresh token, one wins.
//   - A refresh token is written durably before the response that carries
//     it is sent.
//   - A DPoP proof is checked after client authentication and before any
//     grant, so a bad proof leaves the code or refresh token usable; a
//     public client's refresh token rotates only for a proof of its key,
//     decided by the store in the rotating update (docs/dpop.md).
package token
