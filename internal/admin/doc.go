// Package admin owns the admin API: JSON under /admin/v1/ for managing
// every OAuth client, with the operations the Client Center offers an
// administrator (list, get, create, update including first_party and
// resource_server, rotate the secret, disable, enable, delete). The rules
// about what a client may be are package registry's, applied with the
// caller as the actor; a spec it refuses is 400 invalid_request.
//
// Callers present an Aries access token as a bearer token (RFC 6750 section
// 2.1, Authorization header only), or a DPoP-bound one with the DPoP scheme
// and a proof of its key (RFC 9449 section 7.1, Handler.Requests). The token is checked in-process exactly
// as introspection checks it (signature, expiry, revoked jti, revoked
// grant, disabled client), then it must carry the scope admin and belong
// to a user who is an administrator now: an admin flag taken away ends the
// access of tokens already issued. Failures follow RFC 6750 section 3: no
// token is 401 with a bare Bearer challenge, a bad token 401
// invalid_token, a good token without the right 403 insufficient_scope.
// Error bodies are JSON {"error","error_description"}.
//
// Create and PATCH take the financial-grade settings under the names
// clients show --json prints (token_endpoint_auth_method, jwks as a JWK Set
// object, profile, require_pushed_authorization_requests,
// refresh_token_rotation, refresh_token_grace_seconds), each optional.
//
// Routes mounted by Register:
//
//	GET    /admin/v1/clients               {"clients":[client...]}
//	POST   /admin/v1/clients               create; 201 client with client_secret (confidential)
//	GET    /admin/v1/clients/{id}          client
//	PATCH  /admin/v1/clients/{id}          name, redirect_uris, scopes, first_party, resource_server, dpop_bound_access_tokens,
//	                                       and the settings of docs/fapi.md (fapi.go); client
//	DELETE /admin/v1/clients/{id}          204
//	POST   /admin/v1/clients/{id}/secret   client with its new client_secret
//	POST   /admin/v1/clients/{id}/disable  client (every token it held is revoked)
//	POST   /admin/v1/clients/{id}/enable   client
package admin
