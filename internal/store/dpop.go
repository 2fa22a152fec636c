package store

import (
	"context"
	"slices"
	"time"
)

// DPoPStore remembers the DPoP proofs the server accepted (RFC 9449
// section 11.1), so that a proof replayed to any instance sharing the
// database is refused. It is the server's replay cache when no Redis is
// configured (package replay, which sends it the proofs of concurrent
// requests together).
type DPoPStore interface {
	// UseDPoPProofs records each proof's Key until its ExpiresAt and
	// reports, in order, whether each was new at now: false for a key
	// recorded and not yet expired (a replay), and for every occurrence of
	// a key after its first in proofs. The insert's unique key decides,
	// so of concurrent calls with one key, on any number of instances,
	// exactly one reports it new. An expired record is replaced.
	// DeleteExpired removes expired records.
	UseDPoPProofs(ctx context.Context, proofs []DPoPProof, now time.Time) ([]bool, error)
}

// DPoPProof is one proof as the replay cache keeps it: a key naming it (a
// hash of its key's thumbprint and jti) and when it can no longer be
// accepted anyway.
type DPoPProof struct {
	Key       string
	ExpiresAt time.Time
}

// DistinctProofs returns proofs without the repeats of a key, sorted by
// key: the rows a backend inserts in one statement, in one order on every
// instance, so that concurrent batches lock the same keys in the same
// order and cannot deadlock.
func DistinctProofs(proofs []DPoPProof) []DPoPProof {
	out := slices.Clone(proofs)
	slices.SortStableFunc(out, func(a, b DPoPProof) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(out, func(a, b DPoPProof) bool { return a.Key == b.Key })
}

// FreshProofs maps the keys a backend's insert reported new back to
// proofs: each new key is fresh at its first occurrence only.
func FreshProofs(proofs []DPoPProof, inserted map[string]bool) []bool {
	out := make([]bool, len(proofs))
	for i, p := range proofs {
		if inserted[p.Key] {
			out[i] = true
			delete(inserted, p.Key)
		}
	}
	return out
}
