// Package postgres owns Aries' production storage: a store.Store kept in a
// PostgreSQL database that several instances of Aries share, with its own
// hand-written SQL and embedded migrations.
//
// It passes the same conformance suite (package storetest) as the SQLite
// store. Single use of codes, refresh tokens, TOTP steps and MFA challenges
// is decided by conditional UPDATEs ("... AND used_at IS NULL") inside READ
// COMMITTED transactions: of several transactions racing on one row, the
// first takes the row lock and the others, once it commits, re-check the
// condition on the committed row and find it false. So exactly one wins,
// whichever instance each request reached. Nothing of that is kept in
// process memory.
//
// The connection pool is pgx's native pgxpool; migrations run through goose
// under a PostgreSQL advisory lock, so instances starting together migrate
// once.
package postgres
