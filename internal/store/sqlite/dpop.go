package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// UseDPoPProofs records the proofs' keys until their expiry and reports
// which were new at now (RFC 9449 section 11.1), in one statement: the
// primary key decides, and a recorded key is replaced only once expired.
// The proofs of many requests share one transaction, and so one commit.
func (s *Store) UseDPoPProofs(ctx context.Context, proofs []store.DPoPProof, now time.Time) ([]bool, error) {
	rows := store.DistinctProofs(proofs)
	if len(rows) == 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO dpop_proofs (id, expires_at) VALUES `)
	args := make([]any, 0, 2*len(rows)+1)
	for i, p := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, p.Key, ms(p.ExpiresAt))
	}
	q.WriteString(` ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at
	  WHERE dpop_proofs.expires_at <= ? RETURNING id`)
	args = append(args, ms(now))

	inserted := make(map[string]bool, len(rows))
	if err := s.lockWrite(ctx); err != nil {
		return nil, err
	}
	defer s.unlockWrite()
	res, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, dbErr("use DPoP proofs", err)
	}
	defer res.Close()
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
