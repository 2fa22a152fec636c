package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// AddAuthFailure records one failed attempt.
func (s *Store) AddAuthFailure(ctx context.Context, kind store.FailureKind, subject, source string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO auth_failures (kind, subject, source, at) VALUES (?, ?, ?, ?)`,
		string(kind), subject, source, ms(at))
	return dbErr("add auth failure", err)
}

// AuthFailures counts subject's failures of kind since since, from source
// unless source is "".
func (s *Store) AuthFailures(ctx context.Context, kind store.FailureKind, subject, source string, since time.Time) (int, time.Time, error) {
	var n int
	var last sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		`SELECT count(*), max(at) FROM auth_failures
		  WHERE kind = ? AND subject = ? AND at >= ? AND (? = '' OR source = ?)`,
		string(kind), subject, ms(since), source, source).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, dbErr("auth failures", err)
	}
	return n, fromMS(last), nil
}

// ClearAuthFailures forgets subject's failures of kind.
func (s *Store) ClearAuthFailures(ctx context.Context, kind store.FailureKind, subject, source string) error {
	_, err := s.exec(ctx, `DELETE FROM auth_failures WHERE kind = ? AND subject = ? AND (? = '' OR source = ?)`,
		string(kind), subject, source, source)
	return dbErr("clear auth failures", err)
}

// LockSecondFactor locks the user's second factor, keeping an earlier lock.
func (s *Store) LockSecondFactor(ctx context.Context, userID string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&exists)
		if err != nil {
			return dbErr("lock second factor", err)
		}
		if exists == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO second_factor_locks (user_id, locked_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING`,
			userID, ms(at))
		return dbErr("lock second factor", err)
	})
}

// SecondFactorLockedAt returns when the user's second factor was locked.
func (s *Store) SecondFactorLockedAt(ctx context.Context, userID string) (time.Time, error) {
	var at sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT locked_at FROM second_factor_locks WHERE user_id = ?`, userID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, dbErr("second factor lock", err)
	}
	return fromMS(at), nil
}

// UnlockSecondFactor lifts the lock and forgets the failures behind it.
func (s *Store) UnlockSecondFactor(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM second_factor_locks WHERE user_id = ?`, userID); err != nil {
			return dbErr("unlock second factor", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE kind = ? AND subject = ?`,
			string(store.SecondFactorFailure), userID)
		return dbErr("unlock second factor", err)
	})
}
