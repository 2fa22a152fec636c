// Package password owns how Aries stores and checks user passwords:
// argon2id (RFC 9106) in the PHC string format, with a cap on how many
// hashes run at once.
//
// Argon2id is memory-hard on purpose, so each hash takes DefaultParams.Memory
// of RAM; without the cap, a flood of sign-in attempts could take the server
// down by memory alone. The parameters are the OWASP minimum (19 MiB, two
// passes, one lane), read back from each stored string, so they can be raised
// later without invalidating stored hashes.
//
// Passwords of a user are low-entropy; the high-entropy secrets Aries issues
// (client secrets, codes, tokens) are hashed by package secret instead.
package password
