package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateSigningKey stores k; ErrConflict if its id is taken.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.exec(ctx,
		`INSERT INTO signing_keys (id, algorithm, encrypted_private_key, public_jwk, created_at, retired_at)
		 VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.EncryptedPrivateKey, k.PublicJWK, ms(k.CreatedAt), ms(k.RetiredAt))
	return dbErr("create signing key", err)
}

// SigningKeys returns every key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, algorithm, encrypted_private_key, public_jwk, created_at, retired_at
		   FROM signing_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, dbErr("signing keys", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var k store.SigningKey
		var created, retired sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.EncryptedPrivateKey, &k.PublicJWK, &created, &retired); err != nil {
			return nil, dbErr("signing keys", err)
		}
		k.CreatedAt, k.RetiredAt = fromMS(created), fromMS(retired)
		out = append(out, k)
	}
	return out, dbErr("signing keys", rows.Err())
}

// RetireSigningKeys marks every live key of keepID's algorithm except keepID
// retired at now; keys retired earlier keep their retirement time, and keys
// of other algorithms stay live.
func (s *Store) RetireSigningKeys(ctx context.Context, keepID string, now time.Time) error {
	_, err := s.exec(ctx,
		`UPDATE signing_keys SET retired_at = ?
		  WHERE id <> ? AND retired_at IS NULL
		    AND algorithm = (SELECT algorithm FROM signing_keys WHERE id = ?)`,
		ms(now), keepID, keepID)
	return dbErr("retire signing keys", err)
}
