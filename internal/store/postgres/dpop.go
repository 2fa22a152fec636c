package postgres

import (
	"context"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// UseDPoPProofs records the proofs' keys until their expiry and reports
// which were new at now (RFC 9449 section 11.1), in one statement: the
// primary key decides on every instance at once (of concurrent inserts of
// one key, the others wait for the first to commit, then find the
// conflict), and a recorded key is replaced only once expired. Keys are
// inserted in sorted order, so concurrent batches cannot deadlock.
func (s *Store) UseDPoPProofs(ctx context.Context, proofs []store.DPoPProof, now time.Time) ([]bool, error) {
	rows := store.DistinctProofs(proofs)
	if len(rows) == 0 {
		return nil, nil
	}
	keys := make([]string, len(rows))
	expires := make([]time.Time, len(rows))
	for i, p := range rows {
		keys[i], expires[i] = p.Key, p.ExpiresAt.Truncate(time.Millisecond)
	}
	res, err := s.pool.Query(ctx,
		`INSERT INTO dpop_proofs (id, expires_at)
		 SELECT * FROM unnest($1::text[], $2::timestamptz[]) ORDER BY 1
		 ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at
		  WHERE dpop_proofs.expires_at <= $3
		 RETURNING id`,
		keys, expires, ts(now))
	if err != nil {
		return nil, dbErr("use DPoP proofs", err)
	}
	defer res.Close()
	inserted := make(map[string]bool, len(rows))
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			return nil, dbErr("use DPoP proofs", err)
		}
		inserted[id] = true
	}
	if err := res.Err(); err != nil {
		return nil, dbErr("use DPoP proofs", err)
	}
	return store.FreshProofs(proofs, inserted), nil
}
