// Package keys owns Aries' JWT signing keys: it generates them, keeps them
// encrypted at rest, signs with the active one and publishes the public
// halves as a JWKS. Private keys go nowhere else: other packages sign through
// a Keyring and verify with the public keys it publishes.
//
// Algorithm: ES256 (ECDSA P-256 with SHA-256, RFC 7518 section 3.4). It signs
// an access token in about 30 µs where RS256-2048 takes about 730 µs, every
// JWT library verifies it, and its keys and signatures are small. Signing
// goes through crypto.Signer, so the private key could later live in an HSM
// or KMS without changing callers.
//
// At rest a private key is PKCS#8 DER sealed with AES-256-GCM under a
// key-encryption key the caller derives from the server's master secret.
// The key id is the additional authenticated data, so an encrypted key
// copied onto another row does not decrypt. The first byte names the format
// version.
//
// Rotation: Rotate adds a key and retires the others. The newest live key
// signs; a retired key stays published until every token it signed has
// expired (publishFor, chosen by the caller as the longest access-token
// lifetime plus clock leeway). Running servers pick up a rotation done by
// another process (the CLI, another instance) when they call Reload.
package keys
