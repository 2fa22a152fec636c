package store

import "time"

// Revocations is what was revoked during a period: what a resource server
// needs to refuse revoked access tokens from memory instead of asking the
// store on every request (package api polls RevocationsSince).
type Revocations struct {
	// AccessTokens revoked by jti (RFC 7009).
	AccessTokens []RevokedAccessToken
	// Grants revoked: every access token carrying the grant's id in its
	// grant_id claim is dead.
	Grants []RevokedGrant
	// Clients disabled or deleted: every token the client held at
	// RevokedAt is dead. Tokens issued after it (the client was enabled
	// again) are not.
	Clients []RevokedClient
}

// RevokedAccessToken is one revoked access token.
type RevokedAccessToken struct {
	JTI       string
	ExpiresAt time.Time // the token's own expiry; the record is useless after it
	RevokedAt time.Time
}

// RevokedGrant is one revoked grant.
type RevokedGrant struct {
	ID        string
	RevokedAt time.Time
}

// RevokedClient is one disabled or deleted client.
type RevokedClient struct {
	ID        string
	RevokedAt time.Time
}
