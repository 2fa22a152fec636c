// Package idtoken owns OpenID Connect ID tokens: it mints them for the
// token endpoint (OpenID Connect Core 1.0 sections 2, 3.1.3.3 and 12.2),
// verifies the ones relying parties hand back as id_token_hint (sections
// 3.1.2.1 and RP-Initiated Logout 1.0 section 2), and decides which claims
// about a user a grant may see, for the ID token and for the UserInfo
// endpoint alike (section 5.4): sub always, email and email_verified with
// the email scope, name with the profile scope.
//
// ID tokens are signed by the keyring (package keys) with the client's
// id_token_signed_response_alg: RS256 unless the client registered ES256.
// Their header says typ "JWT", which the access-token validator
// (sdk/bearer) refuses, and access tokens say typ "at+jwt", which
// VerifyHint refuses: neither passes for the other. They live as long as
// access tokens, so a key that signed one stays published while it is
// valid.
//
// email_verified is the user's EmailVerified: true only for an email the
// operator vouched for (`aries users create --email-verified`), because
// Aries sends no verification emails yet (docs/oidc.md#claims).
package idtoken
