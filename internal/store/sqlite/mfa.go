package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// StartTOTP stores t as the user's pending enrollment, replacing an earlier
// pending one. The upsert's WHERE leaves an enabled row alone, and then no
// row changes: that is ErrConflict.
func (s *Store) StartTOTP(ctx context.Context, t store.TOTP) error {
	res, err := s.exec(ctx,
		`INSERT INTO mfa_totp (user_id, encrypted_secret, last_step, created_at, enabled_at)
		 VALUES (?, ?, 0, ?, NULL)
		 ON CONFLICT (user_id) DO UPDATE
		    SET encrypted_secret = excluded.encrypted_secret, last_step = 0, created_at = excluded.created_at
		  WHERE mfa_totp.enabled_at IS NULL`,
		t.UserID, t.EncryptedSecret, ms(t.CreatedAt))
	return conflictIfNone("start totp", res, err)
}

// EnableTOTP stores t as the user's enabled TOTP and replaces the user's
// recovery codes, in one transaction; ErrConflict if TOTP is already on.
func (s *Store) EnableTOTP(ctx context.Context, t store.TOTP, recoveryHashes []string) error {
	if t.EnabledAt.IsZero() {
		return errors.New("sqlite: enable totp: EnabledAt is zero")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO mfa_totp (user_id, encrypted_secret, last_step, created_at, enabled_at)
			 VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (user_id) DO UPDATE
			    SET encrypted_secret = excluded.encrypted_secret, last_step = excluded.last_step,
			        created_at = excluded.created_at, enabled_at = excluded.enabled_at
			  WHERE mfa_totp.enabled_at IS NULL`,
			t.UserID, t.EncryptedSecret, t.LastStep, ms(t.CreatedAt), ms(t.EnabledAt))
		if err := conflictIfNone("enable totp", res, err); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, t.UserID); err != nil {
			return dbErr("enable totp: clear recovery codes", err)
		}
		for _, h := range recoveryHashes {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO mfa_recovery_codes (user_id, hash, used_at) VALUES (?, ?, NULL)`, t.UserID, h)
			if err != nil {
				return dbErr("enable totp: store recovery code", err)
			}
		}
		return nil
	})
}

// TOTP returns the user's enrollment, pending or enabled, or ErrNotFound.
func (s *Store) TOTP(ctx context.Context, userID string) (store.TOTP, error) {
	t := store.TOTP{UserID: userID}
	var created, enabled sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		`SELECT encrypted_secret, last_step, created_at, enabled_at FROM mfa_totp WHERE user_id = ?`,
		userID).Scan(&t.EncryptedSecret, &t.LastStep, &created, &enabled)
	if err != nil {
		return store.TOTP{}, dbErr("totp", err)
	}
	t.CreatedAt, t.EnabledAt = fromMS(created), fromMS(enabled)
	return t, nil
}

// DeleteTOTP removes the user's TOTP and recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return dbErr("delete recovery codes", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM mfa_totp WHERE user_id = ?`, userID)
		return dbErr("delete totp", err)
	})
}

// UseTOTPStep moves the user's last accepted step forward to step. The
// condition "last_step < step" is the replay guard: of several writers with
// one step, the first moves it and the rest find the condition false.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res, err := s.exec(ctx,
		`UPDATE mfa_totp SET last_step = ?
		  WHERE user_id = ? AND enabled_at IS NOT NULL AND last_step < ?`,
		step, userID, step)
	err = mustAffect("use totp step", res, err)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var one int
	err = s.db.QueryRowContext(ctx,
		`SELECT 1 FROM mfa_totp WHERE user_id = ? AND enabled_at IS NOT NULL`, userID).Scan(&one)
	if err != nil {
		return dbErr("use totp step", err)
	}
	return store.ErrReplayed
}

// UseRecoveryCode marks one unused recovery code of the user used.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	res, err := s.exec(ctx,
		`UPDATE mfa_recovery_codes SET used_at = ?
		  WHERE user_id = ? AND hash = ? AND used_at IS NULL
		    AND EXISTS (SELECT 1 FROM mfa_totp t
		                 WHERE t.user_id = mfa_recovery_codes.user_id AND t.enabled_at IS NOT NULL)`,
		ms(now), userID, hash)
	return mustAffect("use recovery code", res, err)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, dbErr("recovery codes left", err)
}

const challengeColumns = `hash, purpose, user_id, client_id, session_hash, return_to, redirect_uri, scopes,
	code_challenge, code_challenge_method, max_attempts, failed_attempts, created_at, expires_at, used_at`

// liveChallenge is the condition of a challenge that can still be answered.
const liveChallenge = `used_at IS NULL AND expires_at > ? AND failed_attempts < max_attempts`

func scanChallenge(row scanner) (store.MFAChallenge, error) {
	var c store.MFAChallenge
	var purpose, scopes string
	var created, expires, used sql.NullInt64
	err := row.Scan(&c.Hash, &purpose, &c.UserID, &c.ClientID, &c.SessionHash, &c.ReturnTo, &c.RedirectURI,
		&scopes, &c.CodeChallenge, &c.CodeChallengeMethod, &c.MaxAttempts, &c.FailedAttempts,
		&created, &expires, &used)
	if err != nil {
		return store.MFAChallenge{}, err
	}
	c.Purpose = store.MFAPurpose(purpose)
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMS(created), fromMS(expires), fromMS(used)
	if c.Scopes, err = fromList(scopes); err != nil {
		return store.MFAChallenge{}, err
	}
	return c, nil
}

// CreateMFAChallenge stores c; ErrConflict if its hash is taken.
func (s *Store) CreateMFAChallenge(ctx context.Context, c store.MFAChallenge) error {
	_, err := s.exec(ctx,
		`INSERT INTO mfa_challenges (`+challengeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, string(c.Purpose), c.UserID, c.ClientID, c.SessionHash, c.ReturnTo, c.RedirectURI,
		list(c.Scopes), c.CodeChallenge, c.CodeChallengeMethod, c.MaxAttempts, c.FailedAttempts,
		ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt))
	return dbErr("create mfa challenge", err)
}

// MFAChallenge returns the challenge with hash if it is live at now.
func (s *Store) MFAChallenge(ctx context.Context, hash string, now time.Time) (store.MFAChallenge, error) {
	c, err := scanChallenge(s.db.QueryRowContext(ctx,
		`SELECT `+challengeColumns+` FROM mfa_challenges WHERE hash = ? AND `+liveChallenge,
		hash, ms(now)))
	return c, dbErr("mfa challenge", err)
}

// FailMFAChallenge counts a failed attempt. The increment happens in the
// UPDATE, not in Go, so concurrent failures are all counted.
func (s *Store) FailMFAChallenge(ctx context.Context, hash string, now time.Time) (store.MFAChallenge, error) {
	return s.updateChallenge(ctx, "fail mfa challenge",
		`UPDATE mfa_challenges SET failed_attempts = failed_attempts + 1
		  WHERE hash = ? AND `+liveChallenge+` RETURNING `+challengeColumns,
		hash, ms(now))
}

// ConsumeMFAChallenge marks a live challenge used: the conditional UPDATE
// lets exactly one of concurrent callers through.
func (s *Store) ConsumeMFAChallenge(ctx context.Context, hash string, now time.Time) (store.MFAChallenge, error) {
	return s.updateChallenge(ctx, "consume mfa challenge",
		`UPDATE mfa_challenges SET used_at = ?
		  WHERE hash = ? AND `+liveChallenge+` RETURNING `+challengeColumns,
		ms(now), hash, ms(now))
}

// updateChallenge runs an UPDATE ... RETURNING of one challenge with the
// write lock held.
func (s *Store) updateChallenge(ctx context.Context, op, query string, args ...any) (store.MFAChallenge, error) {
	var c store.MFAChallenge
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanChallenge(tx.QueryRowContext(ctx, query, args...))
		return dbErr(op, err)
	})
	return c, err
}

// conflictIfNone turns "no row changed" into ErrConflict, for upserts whose
// WHERE refused to overwrite.
func conflictIfNone(op string, res sql.Result, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrConflict)
	}
	return nil
}
