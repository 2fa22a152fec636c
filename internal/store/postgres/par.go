package postgres

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// SavePushedRequest stores a pushed authorization request (RFC 9126).
func (s *Store) SavePushedRequest(ctx context.Context, r store.PushedRequest) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO pushed_requests (hash, client_id, params, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		r.Hash, r.ClientID, r.Params.Encode(), ts(r.CreatedAt), ts(r.ExpiresAt))
	return dbErr("save pushed request", err)
}

// TakePushedRequest deletes the live request under hash for clientID and
// returns it: one DELETE ... RETURNING, whose row lock makes every other
// instance's concurrent DELETE find the row gone, so exactly one caller
// gets it.
func (s *Store) TakePushedRequest(ctx context.Context, hash, clientID string, now time.Time) (store.PushedRequest, error) {
	var (
		r                store.PushedRequest
		params           string
		created, expires pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx,
		`DELETE FROM pushed_requests WHERE hash = $1 AND client_id = $2 AND expires_at > $3
		 RETURNING hash, client_id, params, created_at, expires_at`,
		hash, clientID, ts(now)).Scan(&r.Hash, &r.ClientID, &params, &created, &expires)
	if err != nil {
		return store.PushedRequest{}, dbErr("take pushed request", err)
	}
	if r.Params, err = url.ParseQuery(params); err != nil {
		return store.PushedRequest{}, fmt.Errorf("postgres: take pushed request: params: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromTS(created), fromTS(expires)
	return r, nil
}
