// Package sandbox owns the Aries sandbox API: the user, account, position,
// order and withdrawal endpoints of the Aries documentation, backed by a
// paper-trading ledger in the store (ledger.Store).
//
// It is protected like any other Aries API service: package api mounts its
// handlers behind sdk/bearer and the rate limits, as its route table says,
// so every handler finds the caller's verified claims in the request
// context. A handler only ever reads or changes the calling user's own
// rows; another user's account or order is 404, exactly like one that does
// not exist, so ids cannot be probed.
//
// Requests and answers are the types of sdk/protocol, which the Go SDK
// reads too, so the two cannot drift apart.
//
// The ledger is paper: a user's first call that needs an account opens one
// with StartingCash. Money is integer cents (decimal strings with two
// places on the wire, "1234.50"), quantities whole shares. Prices are
// simulated and deterministic: Price derives each symbol's price from a
// hash of its name, so it never changes and tests can predict every fill.
// A market order fills at once at that price; a limit order fills at once
// at that price when its limit is at least as good, and otherwise rests
// (status "open") until it is changed to a marketable limit (PUT) or
// cancelled (DELETE). Resting orders reserve nothing: cash and shares are
// checked, atomically, when an order fills. POST /v1/orders and withdrawals
// honour an Idempotency-Key header: a retry with the same key and the same
// request returns the original result without executing again; the same
// key with a different request is 422 idempotency_key_reused.
package sandbox
