package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// RevokeAccessToken records jti as revoked until expiresAt (RFC 7009). Doing
// it twice keeps the later expiry and the first revocation time. The
// revocation time is the database's clock (migration 00004), one clock for
// every instance, so a resource server polling RevocationsSince misses none.
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO revoked_access_tokens AS r (jti, expires_at) VALUES ($1, $2)
		 ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(r.expires_at, excluded.expires_at)`,
		jti, ts(expiresAt))
	return dbErr("revoke access token", err)
}

// AccessTokenRevoked reports whether jti has been revoked (and not yet
// cleaned up by DeleteExpired, which happens only after it expired).
func (s *Store) AccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx,
		`SELECT 1 FROM revoked_access_tokens WHERE jti = $1`, jti).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, dbErr("access token revoked", err)
	}
	return true, nil
}

// RevocationsSince returns the revocations at or after since: revoked access
// tokens, revoked grants, and the clients the triggers of migration 00004
// recorded as disabled or deleted.
func (s *Store) RevocationsSince(ctx context.Context, since time.Time) (store.Revocations, error) {
	at := since.Truncate(time.Millisecond)
	var out store.Revocations
	rows, err := s.pool.Query(ctx,
		`SELECT jti, expires_at, revoked_at FROM revoked_access_tokens WHERE revoked_at >= $1`, at)
	if err == nil {
		out.AccessTokens, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.RevokedAccessToken, error) {
			var t store.RevokedAccessToken
			var expires, revoked pgtype.Timestamptz
			err := row.Scan(&t.JTI, &expires, &revoked)
			t.ExpiresAt, t.RevokedAt = fromTS(expires), fromTS(revoked)
			return t, err
		})
	}
	if err != nil {
		return store.Revocations{}, dbErr("revocations: access tokens", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT id, revoked_at FROM grants WHERE revoked_at >= $1`, at)
	if err == nil {
		out.Grants, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.RevokedGrant, error) {
			var g store.RevokedGrant
			var revoked pgtype.Timestamptz
			err := row.Scan(&g.ID, &revoked)
			g.RevokedAt = fromTS(revoked)
			return g, err
		})
	}
	if err != nil {
		return store.Revocations{}, dbErr("revocations: grants", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT client_id, revoked_at FROM revoked_clients WHERE revoked_at >= $1`, at)
	if err == nil {
		out.Clients, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.RevokedClient, error) {
			var c store.RevokedClient
			var revoked pgtype.Timestamptz
			err := row.Scan(&c.ID, &revoked)
			c.RevokedAt = fromTS(revoked)
			return c, err
		})
	}
	if err != nil {
		return store.Revocations{}, dbErr("revocations: clients", err)
	}
	if len(out.AccessTokens) == 0 {
		out.AccessTokens = nil
	}
	if len(out.Grants) == 0 {
		out.Grants = nil
	}
	if len(out.Clients) == 0 {
		out.Clients = nil
	}
	return out, nil
}
