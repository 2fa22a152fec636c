// Package par owns pushed authorization requests (RFC 9126): it serves
// POST /v1/oauth2/par, where an authenticated client sends the parameters
// of an authorization request and gets back a request_uri that stands for
// them at /oauth2/authorize, once, within TTL (package authorize takes it).
//
// Invariants:
//   - Every parameter is validated at push time by the authorization
//     endpoint's own rules (authorize.Handler.ValidatePushed), so errors
//     reach the client in the JSON answer (section 2.3), never after a
//     redirect.
//   - The store keeps only a keyed hash of the request_uri's random part,
//     and gives a pushed request out once across instances
//     (store.PARStore).
//   - A DPoP proof sent with the push binds the code to its key, as
//     dpop_jkt does (RFC 9449 section 10.1).
package par
