// Package protocol owns the wire format between Aries and its clients: the
// paths of the endpoints, the error codes, the JSON bodies of the token
// endpoint (RFC 6749 section 5), of introspection (RFC 7662 section 2.2), of
// first-party sign-in and MFA verification
// (docs/protocol.md#first-party-sign-in in the repository), the claims of
// access tokens (RFC 9068 section 2.2) and of ID tokens and UserInfo
// (OpenID Connect Core 1.0 sections 2 and 5.3), and the resources of the
// sandbox trading API. The server and the Go SDK both import it, so the two cannot
// drift apart; it has no dependencies beyond the standard library.
package protocol
