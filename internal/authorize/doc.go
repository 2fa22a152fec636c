// Package authorize owns the browser side of the authorization server: the
// authorization endpoint (RFC 6749 section 4.1.1), sign-in with its TOTP
// step, consent, the browser session that lets a returning user skip
// sign-in, and the account page where a user turns MFA on or off. The rules
// it shares with the first-party sign-in (scopes, PKCE, who may have admin,
// the password check) and the issuing of codes live in package signin.
//
// It implements the authorization code grant's front channel with PKCE
// (RFC 7636, S256 only) and returns the issuer with every response (RFC 9207).
// Request validation follows RFC 6749 section 4.1.2.1: while the client or
// its redirect URI is in doubt, errors are shown as a page and the browser
// is never redirected; after that, errors go back to the client.
//
// Scopes named by StepUp need a second factor: a user without MFA is
// refused them, and a session whose last TOTP code is older than
// StepUp.MaxAge passes the TOTP step again (a step-up), which gives it a new
// session id.
//
// OpenID Connect (oidc.go, logout.go; docs/oidc.md): the authorization
// request also takes nonce (stored with the code for the ID token),
// max_age, login_hint, id_token_hint (verified against this server's keys)
// and prompt=select_account, and answers prompt=none with login_required,
// consent_required or interaction_required (Core 1.0 sections 3.1.2.1 and
// 3.1.2.6). RP-initiated logout (RP-Initiated Logout 1.0) ends the browser
// session and sends the browser back only to a post_logout_redirect_uri the
// client registered, named with a valid id_token_hint; anything else gets a
// page and no redirect.
//
// Pushed authorization requests (par.go; RFC 9126, docs/fapi.md): a
// request naming client_id and request_uri takes the request package par
// stored, once; its other parameters are ignored. One function (validate)
// checks every authorization request, at the PAR endpoint
// (ValidatePushed) and here. The pages a pushed request passes through
// carry it under a fresh one-time request_uri, never its parameters.
// Clients registered to push, FAPI 2.0 clients and, with RequirePAR, every
// client are refused requests that were not pushed.
//
// Routes mounted by Register, all HTML routes behind web.Secure:
//
//	GET  /oauth2/authorize   validate, then sign-in, consent or a code
//	POST /oauth2/authorize   the consent decision
//	GET  /login              the sign-in page
//	POST /login              check the password, start a session (or the TOTP step)
//	GET  /login/mfa          the TOTP step (?method=recovery: a recovery code)
//	POST /login/mfa          check the code, start or elevate the session
//	POST /logout             end the session
//	GET  /oauth2/logout      RP-initiated logout: end the session, back to the client or a page
//	POST /oauth2/logout      the sign-out button of the logout page
//	GET  /account/security   MFA status; enrollment with a server-rendered QR code
//	POST /account/security   start, confirm or remove MFA
//	GET  /assets/            stylesheet and icon
package authorize
