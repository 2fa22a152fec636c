// Package aries is the Go SDK of the Aries trading API: it signs users in
// with OAuth 2.0, keeps their tokens fresh, and calls the API for them.
//
// # Clients
//
// A Client is built from one of three starting points:
//
//	// An app with a client id and secret (a backend). Until it holds a
//	// user's token it acts as itself (client credentials).
//	client, err := aries.NewClient(aries.Config{ClientID: id, ClientSecret: secret})
//
//	// A user's refresh token: access tokens are obtained and renewed as needed.
//	client, err := aries.NewClientFromRefreshToken(cfg, refreshToken)
//
//	// An access token as it is, never refreshed.
//	client, err := aries.NewClientFromBearerToken(aries.Config{}, accessToken)
//
// Config.APIURL and Config.AuthURL default to the public Aries hosts; point
// APIURL at `aries serve` (for instance http://127.0.0.1:8080) to use a
// local server. Config.HTTPClient sets the transport.
//
// # Signing users in
//
// AuthorizationURL, ExchangeCode and the PKCE helpers GenerateVerifier and
// S256Challenge implement the authorization code flow of RFC 6749 section
// 4.1 with RFC 7636; SignIn and VerifyMFA the first-party flow with
// multi-factor authentication; RefreshToken and Revoke the rest of the
// token life cycle. The examples directory holds complete programs: a
// server-side web app, a "Sign in with Aries" web app, a command-line app
// using PKCE with a loopback redirect (RFC 8252) and a first-party app with
// MFA.
//
// # Sign in with Aries (OpenID Connect)
//
// Ask for the openid scope (and profile, email) with WithNonce(GenerateNonce())
// and the code flow gives Token.IDToken; VerifyIDToken checks it as OpenID
// Connect Core 1.0 section 3.1.3.7 asks (signature against the issuer's
// JWKS, iss, aud, azp, exp, nonce) and returns its claims; UserInfo reads
// the user's claims; LogoutURL signs the user out of Aries (RP-Initiated
// Logout 1.0). WithMaxAge and WithLoginHint add the other request
// parameters. The examples directory's signin program is a complete web
// app; the repository's docs/oidc.md explains the protocol.
//
// # Tokens
//
// A client replaces its access token DefaultEarlyRefresh (one minute)
// before it expires, with one refresh at a time however many goroutines
// call at once, and hands every new token to Config.Store (MemoryStore and
// FileStore are included). Aries rotates refresh tokens on every use and
// treats the reuse of a spent one as theft, revoking the whole sign-in: a
// program that keeps a refresh token across runs must therefore keep the
// latest one, which the store does. When the refresh token is no longer
// valid, calls fail with an error matching ErrRefreshTokenRevoked.
//
// # DPoP
//
// With Config.DPoP set (&aries.DPoP{} makes an ES256 key; DPoP.Key takes
// yours) every token the client obtains is bound to its key (RFC 9449): a
// copy of the token is refused by the API. Nothing else changes in the
// app: the client signs a proof for each token request and API call,
// retries once when a server asks for its nonce, keeps each server's
// nonce, sends dpop_jkt with AuthorizationURL and refreshes with the same
// key. A public client that stores its refresh token across runs must
// keep its key too. The repository's docs/dpop.md explains the protocol.
//
// # Key-based client authentication
//
// With Config.ClientKey set instead of ClientSecret, the client proves
// itself with private_key_jwt (RFC 7523): every request that authenticates
// it (code exchange, refresh, client credentials, pushed authorization
// requests, revocation, first-party sign-in) carries a new JWT signed
// with the key, valid 60 seconds, whose aud is Config.Issuer. Nothing
// secret leaves the app; Aries holds only the public key. It works with
// DPoP, whose nonce retries get a new assertion. The repository's
// docs/fapi.md explains the protocol.
//
// # Errors
//
// Every error answer of Aries is an *Error with the HTTP status, the OAuth
// or API error code, the message, the headers and RetryAfter. Config.Retry
// retries 429 answers of idempotent requests, waiting as the server asks,
// within bounds and never past the context's end.
//
// # API
//
// Users, Accounts, Orders and Withdrawals call the sandbox trading API,
// which needs these scopes: read (users, accounts, positions, orders),
// trade (placing, changing and cancelling orders) and withdraw.
package aries
