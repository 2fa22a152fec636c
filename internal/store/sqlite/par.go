package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// SavePushedRequest stores a pushed authorization request (RFC 9126).
func (s *Store) SavePushedRequest(ctx context.Context, r store.PushedRequest) error {
	_, err := s.exec(ctx,
		`INSERT INTO pushed_requests (hash, client_id, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		r.Hash, r.ClientID, r.Params.Encode(), ms(r.CreatedAt), ms(r.ExpiresAt))
	return dbErr("save pushed request", err)
}

// TakePushedRequest deletes the live request under hash for clientID and
// returns it: one DELETE ... RETURNING, so exactly one of concurrent
// callers gets the row.
func (s *Store) TakePushedRequest(ctx context.Context, hash, clientID string, now time.Time) (store.PushedRequest, error) {
	var (
		r       store.PushedRequest
		params  string
		created sql.NullInt64
		expires sql.NullInt64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx,
			`DELETE FROM pushed_requests WHERE hash = ? AND client_id = ? AND expires_at > ?
			 RETURNING hash, client_id, params, created_at, expires_at`,
			hash, clientID, ms(now)).Scan(&r.Hash, &r.ClientID, &params, &created, &expires)
	})
	if err != nil {
		return store.PushedRequest{}, dbErr("take pushed request", err)
	}
	if r.Params, err = url.ParseQuery(params); err != nil {
		return store.PushedRequest{}, fmt.Errorf("sqlite: take pushed request: params: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	return r, nil
}
