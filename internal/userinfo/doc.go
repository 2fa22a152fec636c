// Package userinfo serves the OpenID Connect UserInfo endpoint (Core 1.0
// section 5.3) at GET and POST /v1/oauth2/userinfo: given an access token
// that carries the openid scope, it answers the claims about the token's
// user that the token's scopes allow (section 5.4; package idtoken decides
// which), as JSON.
//
// The token is checked by package bearer, the validator of the API, with
// the store's word on revocation (introspect.Handler.Live) as its Revoked
// hook, so a revoked token or a disabled client's token stops here at once.
// Refusals are those of RFC 6750 section 3.1: 401 without a token or with a
// bad one (WWW-Authenticate: Bearer), 403 insufficient_scope without
// openid. The token travels in the Authorization header only (section 2.1);
// RFC 6750's form-body and query forms are refused, as on the API.
package userinfo
