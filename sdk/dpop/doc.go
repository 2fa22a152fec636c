// Package dpop owns DPoP, OAuth 2.0 Demonstrating Proof of Possession (RFC
// 9449), for both of its sides: a client signs a proof for each request
// with a key it holds (Signer), and a server checks the proofs (Verifier).
// The Aries authorization server checks proofs at its token endpoint and on
// its API with this package, and so does every resource server through
// package bearer: a proof is checked in one place.
//
// A proof is a JWT in the DPoP request header. Verifier.Verify applies the
// checks of RFC 9449 section 4.3, in its order:
//
//  1. exactly one DPoP header field;
//  2. a well-formed compact JWS (RFC 7515 section 7.1);
//  3. the required claims: jti, htm, htu, iat (section 4.2);
//  4. the header "typ" is dpop+jwt;
//  5. "alg" is one of the accepted asymmetric algorithms (ES256, EdDSA
//     and its RFC 9864 name Ed25519, PS256 and RS256 by default; never
//     "none" nor an HMAC);
//  6. the signature verifies with the public key of the header's "jwk",
//     the only key a proof may name: "kid", "jku", "x5u" and "x5c" are
//     refused, since a proof proves possession of the key it carries;
//  7. that "jwk" holds no private key;
//  8. "htm" is the request's method;
//  9. "htu" is the request's URL without query and fragment, compared
//     after the normalisations of RFC 3986 sections 6.2.2 and 6.2.3
//     (NormalizeURL);
//  10. with server nonces (Config.Nonces), "nonce" is one the server
//     issued and has not yet retired (sections 8 and 9);
//  11. "iat" is within Config.Window (60 s) of now, either way, and at
//     most Config.MaxFuture ahead when that is set;
//  12. with an access token, "ath" is its SHA-256 hash and the proof's key
//     is the one the token is bound to (its "cnf" "jkt", section 6.1).
//
// And last (section 11.1), the proof's "jti" has not been seen before:
// the ReplayCache remembers it for as long as the proof could pass step 11,
// so no proof is accepted twice. A server with several instances must give
// them one shared cache; MemoryReplayCache serves one process.
//
// A failed check is an *Error whose Code is the error code the caller
// answers with: invalid_dpop_proof (400 at a token endpoint, 401 on a
// protected resource), use_dpop_nonce with the current nonce in the
// DPoP-Nonce header, or invalid_token when the proof is good but the token
// is bound to another key.
//
// The JWK thumbprint of RFC 7638 (SHA-256, base64url) names a key
// everywhere: the "jkt" of a bound token, the dpop_jkt authorization
// request parameter (section 10) and Proof.JKT.
package dpop
