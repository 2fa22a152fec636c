package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// StartTOTP stores t as the user's pending enrollment, replacing an earlier
// pending one. The upsert's WHERE leaves an enabled row alone, and then no
// row changes: that is ErrConflict.
func (s *Store) StartTOTP(ctx context.Context, t store.TOTP) error {
	tag, err := s.pool.Exec(ctx,
		`INSERT INTO mfa_totp (user_id, encrypted_secret, last_step, created_at, enabled_at)
		 VALUES ($1, $2, 0, $3, NULL)
		 ON CONFLICT (user_id) DO UPDATE
		    SET encrypted_secret = excluded.encrypted_secret, last_step = 0, created_at = excluded.created_at
		  WHERE mfa_totp.enabled_at IS NULL`,
		t.UserID, t.EncryptedSecret, ts(t.CreatedAt))
	return conflictIfNone("start totp", tag, err)
}

// EnableTOTP stores t as the user's enabled TOTP and replaces the user's
// recovery codes, in one transaction; ErrConflict if TOTP is already on.
func (s *Store) EnableTOTP(ctx context.Context, t store.TOTP, recoveryHashes []string) error {
	if t.EnabledAt.IsZero() {
		return errors.New("postgres: enable totp: EnabledAt is zero")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`INSERT INTO mfa_totp (user_id, encrypted_secret, last_step, created_at, enabled_at)
			 VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (user_id) DO UPDATE
			    SET encrypted_secret = excluded.encrypted_secret, last_step = excluded.last_step,
			        created_at = excluded.created_at, enabled_at = excluded.enabled_at
			  WHERE mfa_totp.enabled_at IS NULL`,
			t.UserID, t.EncryptedSecret, t.LastStep, ts(t.CreatedAt), ts(t.EnabledAt))
		if err := conflictIfNone("enable totp", tag, err); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, t.UserID); err != nil {
			return dbErr("enable totp: clear recovery codes", err)
		}
		for _, h := range recoveryHashes {
			_, err := tx.Exec(ctx,
				`INSERT INTO mfa_recovery_codes (user_id, hash, used_at) VALUES ($1, $2, NULL)`, t.UserID, h)
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
	var created, enabled pgtype.Timestamptz
	err := s.pool.QueryRow(ctx,
		`SELECT encrypted_secret, last_step, created_at, enabled_at FROM mfa_totp WHERE user_id = $1`,
		userID).Scan(&t.EncryptedSecret, &t.LastStep, &created, &enabled)
	if err != nil {
		return store.TOTP{}, dbErr("totp", err)
	}
	t.CreatedAt, t.EnabledAt = fromTS(created), fromTS(enabled)
	return t, nil
}

// DeleteTOTP removes the user's TOTP and recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return dbErr("delete recovery codes", err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM mfa_totp WHERE user_id = $1`, userID)
		return dbErr("delete totp", err)
	})
}

// UseTOTPStep moves the user's last accepted step forward to step. The
// condition "last_step < step" is the replay guard: of several writers with
// one step, the first moves it and the rest, re-checking the condition on
// the committed row, find it false.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE mfa_totp SET last_step = $1
		  WHERE user_id = $2 AND enabled_at IS NOT NULL AND last_step < $1`,
		step, userID)
	err = mustAffect("use totp step", tag, err)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var one int
	err = s.pool.QueryRow(ctx,
		`SELECT 1 FROM mfa_totp WHERE user_id = $1 AND enabled_at IS NOT NULL`, userID).Scan(&one)
	if err != nil {
		return dbErr("use totp step", err)
	}
	return store.ErrReplayed
}

// UseRecoveryCode marks one unused recovery code of the user used.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE mfa_recovery_codes SET used_at = $1
		  WHERE user_id = $2 AND hash = $3 AND used_at IS NULL
		    AND EXISTS (SELECT 1 FROM mfa_totp t
		                 WHERE t.user_id = mfa_recovery_codes.user_id AND t.enabled_at IS NOT NULL)`,
		ts(now), userID, hash)
	return mustAffect("use recovery code", tag, err)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx,
		`SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, dbErr("recovery codes left", err)
}

const challengeColumns = `hash, purpose, user_id, client_id, session_hash, return_to, redirect_uri, scopes,
	code_challenge, code_challenge_method, max_attempts, failed_attempts, created_at, expires_at, used_at`

// liveChallenge is the condition of a challenge that can still be answered
// at $1.
const liveChallenge = `used_at IS NULL AND expires_at > $1 AND failed_attempts < max_attempts`

func scanChallenge(row pgx.Row) (store.MFAChallenge, error) {
	var c store.MFAChallenge
	var purpose string
	var created, expires, used pgtype.Timestamptz
	err := row.Scan(&c.Hash, &purpose, &c.UserID, &c.ClientID, &c.SessionHash, &c.ReturnTo, &c.RedirectURI,
		&c.Scopes, &c.CodeChallenge, &c.CodeChallengeMethod, &c.MaxAttempts, &c.FailedAttempts,
		&created, &expires, &used)
	if err != nil {
		return store.MFAChallenge{}, err
	}
	c.Purpose = store.MFAPurpose(purpose)
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromTS(created), fromTS(expires), fromTS(used)
	c.Scopes = fromList(c.Scopes)
	return c, nil
}

// CreateMFAChallenge stores c; ErrConflict if its hash is taken.
func (s *Store) CreateMFAChallenge(ctx context.Context, c store.MFAChallenge) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO mfa_challenges (`+challengeColumns+`)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.Hash, string(c.Purpose), c.UserID, c.ClientID, c.SessionHash, c.ReturnTo, c.RedirectURI,
		list(c.Scopes), c.CodeChallenge, c.CodeChallengeMethod, c.MaxAttempts, c.FailedAttempts,
		ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt))
	return dbErr("create mfa challenge", err)
}

// MFAChallenge returns the challenge with hash if it is live at now.
func (s *Store) MFAChallenge(ctx context.Context, hash string, now time.Time) (store.MFAChallenge, error) {
	c, err := scanChallenge(s.pool.QueryRow(ctx,
		`SELECT `+challengeColumns+` FROM mfa_challenges WHERE hash = $2 AND `+liveChallenge,
		ts(now), hash))
	return c, dbErr("mfa challenge", err)
}

// FailMFAChallenge counts a failed attempt. The increment happens in the
// UPDATE, not in Go: a concurrent failure waits for the row and increments
// the committed count, so every failure is counted.
func (s *Store) FailMFAChallenge(ctx context.Context, hash string, now time.Time) (store.MFAChallenge, error) {
	c, err := scanChallenge(s.pool.QueryRow(ctx,
		`UPDATE mfa_challenges SET failed_attempts = failed_attempts + 1
		  WHERE hash = $2 AND `+liveChallenge+` RETURNING `+challengeColumns,
		ts(now), hash))
	return c, dbErr("fail mfa challenge", err)
}

// ConsumeMFAChallenge marks a live challenge used: the conditional UPDATE
// lets exactly one of concurrent callers through.
func (s *Store) ConsumeMFAChallenge(ctx context.Context, hash string, now time.Time) (store.MFAChallenge, error) {
	c, err := scanChallenge(s.pool.QueryRow(ctx,
		`UPDATE mfa_challenges SET used_at = $1
		  WHERE hash = $2 AND `+liveChallenge+` RETURNING `+challengeColumns,
		ts(now), hash))
	return c, dbErr("consume mfa challenge", err)
}

// conflictIfNone turns "no row changed" into ErrConflict, for upserts whose
// WHERE refused to overwrite.
func conflictIfNone(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrConflict)
	}
	return nil
}
