package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateSigningKey stores k; ErrConflict if its id is taken.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO signing_keys (id, algorithm, encrypted_private_key, public_jwk, created_at, retired_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.EncryptedPrivateKey, k.PublicJWK, ts(k.CreatedAt), ts(k.RetiredAt))
	return dbErr("create signing key", err)
}

// SigningKeys returns every key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, algorithm, encrypted_private_key, public_jwk, created_at, retired_at
		   FROM signing_keys ORDER BY created_at DESC, id COLLATE "C" DESC`)
	if err != nil {
		return nil, dbErr("signing keys", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SigningKey, error) {
		var k store.SigningKey
		var created, retired pgtype.Timestamptz
		err := row.Scan(&k.ID, &k.Algorithm, &k.EncryptedPrivateKey, &k.PublicJWK, &created, &retired)
		k.CreatedAt, k.RetiredAt = fromTS(created), fromTS(retired)
		return k, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, dbErr("signing keys", err)
}

// RetireSigningKeys marks every live key of keepID's algorithm except keepID
// retired at now; keys retired earlier keep their retirement time, and keys
// of other algorithms stay live.
func (s *Store) RetireSigningKeys(ctx context.Context, keepID string, now time.Time) error {
	_, err := s.pool.Exec(ctx,
		`UPDATE signing_keys SET retired_at = $1
		  WHERE id <> $2 AND retired_at IS NULL
		    AND algorithm = (SELECT algorithm FROM signing_keys WHERE id = $2)`,
		ts(now), keepID)
	return dbErr("retire signing keys", err)
}
