// Package discovery owns what Aries publishes about itself: the
// authorization server metadata of RFC 8414, the OpenID Provider metadata
// of OpenID Connect Discovery 1.0 (the same fields and OpenID Connect's),
// and the JSON Web Key Set (RFC 7517 section 5) that resource servers
// verify access tokens with and relying parties ID tokens: ES256 and RS256
// keys side by side.
//
// Routes (Register):
//
//	GET /.well-known/oauth-authorization-server   RFC 8414 section 3
//	GET /.well-known/openid-configuration         OpenID Connect Discovery 1.0 section 4
//	GET /.well-known/jwks.json                     the keyring's published keys
//
// The metadata is fixed for an issuer and is rendered once. The JWKS is
// rendered from the keyring on each request, so a rotation (once the server
// has reloaded its keyring) or a retired key leaving shows up at once.
// Clients may cache it for five minutes, so a resource server that meets an
// unknown kid should fetch it again rather than refuse the token outright.
package discovery
