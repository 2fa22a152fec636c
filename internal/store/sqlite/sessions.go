package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateSession stores sess; ErrConflict if its id hash is taken.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	_, err := s.exec(ctx,
		`INSERT INTO sessions (id_hash, user_id, auth_time, amr, otp_time, created_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sess.IDHash, sess.UserID, ms(sess.AuthTime), list(sess.AMR), ms(sess.OTPTime), ms(sess.CreatedAt), ms(sess.ExpiresAt))
	return dbErr("create session", err)
}

// Session returns the session with idHash if it is live at now (now before
// its ExpiresAt), or ErrNotFound.
func (s *Store) Session(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	var sess store.Session
	var authTime, otpTime, created, expires sql.NullInt64
	var amr string
	err := s.db.QueryRowContext(ctx,
		`SELECT id_hash, user_id, auth_time, amr, otp_time, created_at, expires_at
		   FROM sessions WHERE id_hash = ? AND expires_at > ?`,
		idHash, ms(now)).Scan(&sess.IDHash, &sess.UserID, &authTime, &amr, &otpTime, &created, &expires)
	if err != nil {
		return store.Session{}, dbErr("session", err)
	}
	sess.AuthTime, sess.OTPTime = fromMS(authTime), fromMS(otpTime)
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	if sess.AMR, err = fromList(amr); err != nil {
		return store.Session{}, err
	}
	return sess, nil
}

// DeleteSession removes the session; removing one that is already gone is
// not an error (signing out twice is fine).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return dbErr("delete session", err)
}
