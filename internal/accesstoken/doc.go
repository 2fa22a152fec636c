// Package accesstoken owns the minting of Aries access tokens: JWTs per RFC
// 9068 (JSON Web Token Profile for OAuth 2.0 Access Tokens), signed by the
// keyring. Checking them is not done here: package bearer of the SDK
// (sdk/bearer) is the one validator, used by introspection (RFC 7662), the
// admin API and the protected API alike, as by every resource server.
//
// A token's header is alg ES256, the signing key's kid and typ at+jwt
// (RFC 9068 section 2.1); its claims are protocol.Claims (sdk/protocol):
// those of section 2.2 plus client_id, scope, auth_time, amr and grant_id.
// grant_id names the grant (the refresh-token family) the token came from,
// so revoking a grant also makes its access tokens inactive.
package accesstoken
