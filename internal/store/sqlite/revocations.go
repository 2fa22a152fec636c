package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// AuthCode returns the unused, unexpired code with hash, or ErrNotFound. It
// reads only.
func (s *Store) AuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	c, err := scanCode(s.db.QueryRowContext(ctx,
		`SELECT `+codeColumns+` FROM auth_codes WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
		hash, ms(now)))
	return c, dbErr("auth code", err)
}

// RevocationsSince returns the revocations at or after since. Migration
// 00004 keeps what it reads: revoked_at on revoked access tokens, and the
// revoked_clients table the clients triggers fill.
func (s *Store) RevocationsSince(ctx context.Context, since time.Time) (store.Revocations, error) {
	at := since.UnixMilli()
	var out store.Revocations
	err := s.each(ctx, func(rows *sql.Rows) error {
		var t store.RevokedAccessToken
		var expires, revoked int64
		if err := rows.Scan(&t.JTI, &expires, &revoked); err != nil {
			return err
		}
		t.ExpiresAt, t.RevokedAt = time.UnixMilli(expires).UTC(), time.UnixMilli(revoked).UTC()
		out.AccessTokens = append(out.AccessTokens, t)
		return nil
	}, `SELECT jti, expires_at, revoked_at FROM revoked_access_tokens WHERE revoked_at >= ?`, at)
	if err != nil {
		return store.Revocations{}, dbErr("revocations: access tokens", err)
	}
	err = s.each(ctx, func(rows *sql.Rows) error {
		var g store.RevokedGrant
		var revoked int64
		if err := rows.Scan(&g.ID, &revoked); err != nil {
			return err
		}
		g.RevokedAt = time.UnixMilli(revoked).UTC()
		out.Grants = append(out.Grants, g)
		return nil
	}, `SELECT id, revoked_at FROM grants WHERE revoked_at >= ?`, at)
	if err != nil {
		return store.Revocations{}, dbErr("revocations: grants", err)
	}
	err = s.each(ctx, func(rows *sql.Rows) error {
		var c store.RevokedClient
		var revoked int64
		if err := rows.Scan(&c.ID, &revoked); err != nil {
			return err
		}
		c.RevokedAt = time.UnixMilli(revoked).UTC()
		out.Clients = append(out.Clients, c)
		return nil
	}, `SELECT client_id, revoked_at FROM revoked_clients WHERE revoked_at >= ?`, at)
	if err != nil {
		return store.Revocations{}, dbErr("revocations: clients", err)
	}
	return out, nil
}

// each runs query and calls fn for every row.
func (s *Store) each(ctx context.Context, fn func(*sql.Rows) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
