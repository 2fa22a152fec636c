// Package keys owns Aries' JWT signing keys: it generates them, keeps them
// encrypted at rest, signs with the active one and publishes the public
// halves as a JWKS. Private keys go nowhere else: other packages sign through
// a Keyring and verify with the public keys it publishes.
//
// Algorithms: ES256 (ECDSA P-256 with SHA-256, RFC 7518 section 3.4) signs
// access tokens. It signs one in about 30 µs where RS256-2048 takes about
// 730 µs, every JWT library verifies it, and its keys and signatures are
// small. RS256 (RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key, RFC 7518
// section 3.3) signs ID tokens by default, because OpenID Connect Core 1.0
// section 15.1 makes it the one algorithm every relying party can verify;
// a client may ask for ES256 ID tokens instead. The keyring keeps one
// active key per algorithm. Signing goes through crypto.Signer, so the
// private keys could later live in an HSM or KMS without changing callers.
//
// At rest a private key is PKCS#8 DER sealed with AES-256-GCM under a
// key-encryption key the caller derives from the server's master secret.
// The key id is the additional authenticated data, so an encrypted key
// copied onto another row does not decrypt. The first byte names the format
// version.
//
// Rotation: RotateAlgorithm adds a key of one algorithm and retires the
// others of that algorithm; RotateAll (`aries keys rotate`) does it for
// each. The newest live key of an algorithm signs; a retired key stays
// published until every token it signed has expired (publishFor, chosen by
// the caller as the longest token lifetime plus clock leeway: ID tokens
// live as long as access tokens). Running servers pick up a rotation done by
// another process (the CLI, another instance) when they call Reload.
package keys
