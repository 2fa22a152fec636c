package store

// MFAStore is the part of the Store that multi-factor authentication needs.
type MFAStore interface{}
