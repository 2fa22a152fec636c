// Package accesstoken owns the format of Aries access tokens: it mints them
// as JWTs per RFC 9068 (JSON Web Token Profile for OAuth 2.0 Access Tokens),
// signed by the keyring, and checks them for introspection (RFC 7662).
//
// A token's header is alg ES256, the signing key's kid and typ at+jwt
// (RFC 9068 section 2.1); its claims are those of section 2.2 plus
// client_id, scope, auth_time, amr and grant_id. grant_id names the grant
// (the refresh-token family) the token came from, so revoking a grant also
// makes its access tokens inactive at introspection.
//
// Checking follows RFC 9068 section 4: only ES256 is accepted (so "none" and
// HMAC tokens forged with a public key fail before any key is touched), the
// typ must be at+jwt, the key must be one the keyring publishes, and iss,
// aud and exp must match.
package accesstoken
