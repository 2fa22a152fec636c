// Package sqlite owns Aries' embedded storage: a store.Store kept in one
// SQLite file, with its own hand-written SQL and embedded migrations.
//
// It is the default backend (a file under ./aries-data/). Every connection
// runs in WAL mode with synchronous=FULL, so a token is on disk before it is
// returned, and opens its transactions with BEGIN IMMEDIATE, so concurrent
// read-then-write transactions queue on the busy timeout instead of failing
// with SQLITE_BUSY. Single use of codes and refresh tokens is decided by
// conditional UPDATEs, written as they would be for any SQL database; the
// code does not rely on SQLite having one writer.
package sqlite
