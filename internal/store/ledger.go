package store

// LedgerStore is the part of the Store that the sandbox trading API needs.
type LedgerStore interface{}
