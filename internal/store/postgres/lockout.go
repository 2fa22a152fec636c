package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// AddAuthFailure records one failed attempt.
func (s *Store) AddAuthFailure(ctx context.Context, kind store.FailureKind, subject, source string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_failures (kind, subject, source, at) VALUES ($1, $2, $3, $4)`,
		string(kind), subject, source, ts(at))
	return dbErr("add auth failure", err)
}

// AuthFailures counts subject's failures of kind since since, from source
// unless source is "".
func (s *Store) AuthFailures(ctx context.Context, kind store.FailureKind, subject, source string, since time.Time) (int, time.Time, error) {
	var n int
	var last pgtype.Timestamptz
	err := s.pool.QueryRow(ctx,
		`SELECT count(*), max(at) FROM auth_failures
		  WHERE kind = $1 AND subject = $2 AND at >= $3 AND ($4 = '' OR source = $4)`,
		string(kind), subject, ts(since), source).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, dbErr("auth failures", err)
	}
	return n, fromTS(last), nil
}

// ClearAuthFailures forgets subject's failures of kind.
func (s *Store) ClearAuthFailures(ctx context.Context, kind store.FailureKind, subject, source string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM auth_failures WHERE kind = $1 AND subject = $2 AND ($3 = '' OR source = $3)`,
		string(kind), subject, source)
	return dbErr("clear auth failures", err)
}

// LockSecondFactor locks the user's second factor, keeping an earlier lock.
// The INSERT reads the user row, so an unknown user changes nothing.
func (s *Store) LockSecondFactor(ctx context.Context, userID string, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, userID).Scan(&exists); err != nil {
			return dbErr("lock second factor", err)
		}
		if !exists {
			return store.ErrNotFound
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO second_factor_locks (user_id, locked_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
			userID, ts(at))
		return dbErr("lock second factor", err)
	})
}

// SecondFactorLockedAt returns when the user's second factor was locked.
func (s *Store) SecondFactorLockedAt(ctx context.Context, userID string) (time.Time, error) {
	var at pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT locked_at FROM second_factor_locks WHERE user_id = $1`, userID).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, dbErr("second factor lock", err)
	}
	return fromTS(at), nil
}

// UnlockSecondFactor lifts the lock and forgets the failures behind it.
func (s *Store) UnlockSecondFactor(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM second_factor_locks WHERE user_id = $1`, userID); err != nil {
			return dbErr("unlock second factor", err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM auth_failures WHERE kind = $1 AND subject = $2`,
			string(store.SecondFactorFailure), userID)
		return dbErr("unlock second factor", err)
	})
}
