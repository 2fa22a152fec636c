// Package signin holds what every way of signing a user in to a client
// shares, up to the authorization code: the hosted pages (package authorize)
// and the first-party sign-in (package firstparty) both apply these rules, so
// neither can grant what the other would refuse, and the token endpoint
// cannot tell how a code was earned.
//
//   - ParseScopes, DefaultScope: the scope a request may have (RFC 6749
//     section 3.3), bundles expanded, each scope enabled on the client.
//   - CheckPKCE: S256 challenges only, required from public clients (RFC
//     7636 section 4.3).
//   - CheckUser, CheckClientAdmin: admin goes only to administrators, and
//     only through a client an administrator vouches for.
//   - CheckPassword: the password check under the lock of package lockout,
//     with the same work for an email that has no account.
//   - CodeIssuer: stores a code and the grant it starts (RFC 6749 section
//     4.1.2); only the code's hash is kept.
//
// docs/security.md explains the rules and why they are so.
package signin
