// Package authorize owns the browser side of the authorization server: the
// authorization endpoint (RFC 6749 section 4.1.1), sign-in, consent, and the
// browser session that lets a returning user skip sign-in.
//
// It implements the authorization code grant's front channel with PKCE
// (RFC 7636, S256 only) and returns the issuer with every response (RFC 9207).
// Request validation follows RFC 6749 section 4.1.2.1: while the client or
// its redirect URI is in doubt, errors are shown as a page and the browser
// is never redirected; after that, errors go back to the client.
//
// Routes mounted by Register, all HTML routes behind web.Secure:
//
//	GET  /oauth2/authorize   validate, then sign-in, consent or a code
//	POST /oauth2/authorize   the consent decision
//	GET  /login              the sign-in page
//	POST /login              check the password, start a session
//	POST /logout             end the session
//	GET  /assets/            stylesheet and icon
package authorize
