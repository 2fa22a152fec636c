package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateSession stores sess; ErrConflict if its id hash is taken.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO sessions (id_hash, user_id, auth_time, amr, otp_time, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		sess.IDHash, sess.UserID, ts(sess.AuthTime), list(sess.AMR), ts(sess.OTPTime), ts(sess.CreatedAt), ts(sess.ExpiresAt))
	return dbErr("create session", err)
}

// Session returns the session with idHash if it is live at now (now before
// its ExpiresAt), or ErrNotFound.
func (s *Store) Session(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	var sess store.Session
	var authTime, otpTime, created, expires pgtype.Timestamptz
	err := s.pool.QueryRow(ctx,
		`SELECT id_hash, user_id, auth_time, amr, otp_time, created_at, expires_at
		   FROM sessions WHERE id_hash = $1 AND expires_at > $2`,
		idHash, ts(now)).Scan(&sess.IDHash, &sess.UserID, &authTime, &sess.AMR, &otpTime, &created, &expires)
	if err != nil {
		return store.Session{}, dbErr("session", err)
	}
	sess.AuthTime, sess.OTPTime = fromTS(authTime), fromTS(otpTime)
	sess.CreatedAt, sess.ExpiresAt = fromTS(created), fromTS(expires)
	sess.AMR = fromList(sess.AMR)
	return sess, nil
}

// DeleteSession removes the session; removing one that is already gone is
// not an error (signing out twice is fine).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return dbErr("delete session", err)
}
