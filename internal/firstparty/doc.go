// Package firstparty owns the password sign-in of Aries' own apps (clients
// registered with --first-party): an app that collects the user's email and
// password itself gets an authorization code without a browser, after a
// TOTP code when the user has MFA (docs/protocol.md#first-party-sign-in).
//
// Routes, both JSON or form bodies with client authentication as at the
// token endpoint (RFC 6749 section 2.3.1):
//
//	POST /v1/oauth2/authorize    email + password + scope: 200 {"authorization_code"},
//	                             or 403 insufficient_authorization with mfa_required
//	                             and a session_token when the user has MFA
//	POST /v1/oauth2/mfa/verify   session_token + code: 200 {"authorization_code"}
//
// insufficient_authorization is the error code of the IETF draft "OAuth 2.0
// for First-Party Applications" for "a further step is needed";
// mfa_required and session_token are the field names of the Aries SDK
// documentation. The
// session token is bound to the client, lives five minutes, dies after five
// wrong codes and works once (package mfa). The code it yields is issued by
// signin.CodeIssuer and redeemed at the token endpoint like any other.
package firstparty
