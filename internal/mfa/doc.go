// Package mfa owns multi-factor authentication: TOTP authenticators (RFC
// 6238: HMAC-SHA-1, 6 digits, 30-second steps) with their enrollment and a
// replay guard, recovery codes, the MFA challenges that carry a half-finished
// sign-in from the password to the second factor, and the step-up rule that
// makes chosen scopes require one.
//
// Every piece of state lives in the store (package store's MFAStore), never
// in process memory, so any instance can serve any step:
//
//   - A TOTP secret must be readable to check codes, so it is stored
//     encrypted with AES-256-GCM under a key derived from the root secret,
//     bound to its user. A code is accepted for the current time step or one
//     either side (clock skew), and only for a step later than the last one
//     accepted (RFC 6238 section 5.2: a verifier must not accept a code
//     twice); the store moves that mark with a conditional UPDATE.
//   - Recovery codes are ten one-time codes shown once and stored as keyed
//     hashes, each spent by a conditional UPDATE.
//   - A challenge is a random token (the first-party session_token, or a
//     browser cookie) stored as a hash. It lives ChallengeTTL, dies after
//     MaxAttempts wrong codes, and is consumed once.
//
// The HTTP sides are elsewhere: the browser steps and the account page in
// package authorize, the first-party endpoints in package firstparty.
package mfa
