package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// The single-use rules below are decided by conditional UPDATEs ("... AND
// used_at IS NULL"): of several transactions racing on one row, exactly one
// sees the condition hold. That is true of any SQL database with row-level
// write locking, not only of SQLite with its one writer.

const grantColumns = `id, client_id, user_id, scopes, auth_time, amr, created_at, expires_at, revoked_at,
	session_id`

func scanGrant(row scanner) (store.Grant, error) {
	var g store.Grant
	var scopes, amr string
	var authTime, created, expires, revoked sql.NullInt64
	err := row.Scan(&g.ID, &g.ClientID, &g.UserID, &scopes, &authTime, &amr, &created, &expires, &revoked,
		&g.SessionID)
	if err != nil {
		return store.Grant{}, err
	}
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromMS(authTime), fromMS(created), fromMS(expires), fromMS(revoked)
	if g.Scopes, err = fromList(scopes); err != nil {
		return store.Grant{}, err
	}
	if g.AMR, err = fromList(amr); err != nil {
		return store.Grant{}, err
	}
	return g, nil
}

const codeColumns = `hash, grant_id, client_id, user_id, redirect_uri, scopes, code_challenge,
	code_challenge_method, auth_time, amr, created_at, expires_at, used_at,
	nonce, session_id, dpop_jkt`

func scanCode(row scanner) (store.AuthCode, error) {
	var c store.AuthCode
	var scopes, amr string
	var authTime, created, expires, used sql.NullInt64
	err := row.Scan(&c.Hash, &c.GrantID, &c.ClientID, &c.UserID, &c.RedirectURI, &scopes,
		&c.CodeChallenge, &c.CodeChallengeMethod, &authTime, &amr, &created, &expires, &used,
		&c.Nonce, &c.SessionID, &c.DPoPJKT)
	if err != nil {
		return store.AuthCode{}, err
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMS(authTime), fromMS(created), fromMS(expires), fromMS(used)
	if c.Scopes, err = fromList(scopes); err != nil {
		return store.AuthCode{}, err
	}
	if c.AMR, err = fromList(amr); err != nil {
		return store.AuthCode{}, err
	}
	return c, nil
}

const refreshColumns = `hash, grant_id, client_id, created_at, expires_at, used_at`

// CreateAuthCode stores grant g and code c (whose GrantID must be g.ID) in
// one transaction; ErrConflict if the code hash or grant id is taken.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode, g store.Grant) error {
	if c.GrantID != g.ID {
		return fmt.Errorf("sqlite: create auth code: code names grant %q, got grant %q", c.GrantID, g.ID)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.ClientID, g.UserID, list(g.Scopes), ms(g.AuthTime), list(g.AMR),
			ms(g.CreatedAt), ms(g.ExpiresAt), ms(g.RevokedAt), g.SessionID)
		if err != nil {
			return dbErr("create grant", err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO auth_codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.GrantID, c.ClientID, c.UserID, c.RedirectURI, list(c.Scopes), c.CodeChallenge,
			c.CodeChallengeMethod, ms(c.AuthTime), list(c.AMR), ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt),
			c.Nonce, c.SessionID, c.DPoPJKT)
		return dbErr("create auth code", err)
	})
}

// RedeemAuthCode marks the code used at now and stores first as the first
// refresh token of its grant, in one transaction (whose commit it may share:
// group.go), and returns the code (RFC 6749 section 4.1.2: a code is used
// once). Doing both in one transaction means the winner of a race on one
// code has its token before any loser can see the code used: a reuse can
// then only revoke it, never leave the winner with a consumed code and no
// token. first.GrantID and first.ClientID are ignored: the token joins the
// code's grant and client. first.CreatedAt defaults to now; first.ExpiresAt
// is clamped to the grant's ExpiresAt.
//
// Unknown or expired codes give ErrNotFound; a code whose grant was revoked
// before it was redeemed (client disabled, consent withdrawn) gives
// ErrRevoked; a taken refresh token hash gives ErrConflict. In all of these
// nothing is written. A code already used gives ErrCodeReused, and its grant
// is revoked in the same transaction (RFC 6749 section 10.5, RFC 9700
// section 4.2.4), so the tokens the first redemption issued die with it.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, first store.RefreshToken, now time.Time) (store.AuthCode, error) {
	if first.Hash == "" {
		return store.AuthCode{}, errors.New("sqlite: redeem auth code: empty refresh token hash")
	}
	created := first.CreatedAt
	if created.IsZero() {
		created = now
	}
	var code store.AuthCode
	err := s.inGroupTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, err := scanCode(tx.QueryRowContext(ctx,
			`UPDATE auth_codes SET used_at = ?
			  WHERE hash = ? AND used_at IS NULL AND expires_at > ?
			    AND EXISTS (SELECT 1 FROM grants g
			                 WHERE g.id = auth_codes.grant_id AND g.revoked_at IS NULL)
			 RETURNING `+codeColumns,
			ms(now), hash, ms(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotRedeemed(ctx, tx, hash, now)
		}
		if err != nil {
			return dbErr("redeem auth code", err)
		}

		// A taken hash fails here, and the error rolls back the UPDATE:
		// the code stays redeemable.
		_, err = tx.ExecContext(ctx,
			`INSERT INTO refresh_tokens (`+refreshColumns+`, dpop_jkt)
			 SELECT ?, g.id, g.client_id, ?, MIN(COALESCE(?, g.expires_at), g.expires_at), NULL, ?
			   FROM grants g WHERE g.id = ?`,
			first.Hash, ms(created), ms(first.ExpiresAt), first.DPoPJKT, c.GrantID)
		if err != nil {
			return dbErr("redeem auth code: store refresh token", err)
		}
		code = c
		return nil
	}, store.ErrCodeReused)
	if err != nil {
		return store.AuthCode{}, err
	}
	return code, nil
}

// whyNotRedeemed classifies a code the redeeming UPDATE did not match,
// revoking its grant if it had already been used.
func whyNotRedeemed(ctx context.Context, tx *sql.Tx, hash string, now time.Time) error {
	var grantID, userID string
	var used sql.NullInt64
	var expires int64
	err := tx.QueryRowContext(ctx,
		`SELECT grant_id, user_id, used_at, expires_at FROM auth_codes WHERE hash = ?`,
		hash).Scan(&grantID, &userID, &used, &expires)
	if err != nil {
		return dbErr("redeem auth code", err)
	}
	revoke, why := store.WhyNotRedeemed(store.CodeState{
		GrantID: grantID, UserID: userID, Used: used.Valid, ExpiresAt: time.UnixMilli(expires),
	}, now)
	if revoke {
		if err := revokeGrant(ctx, tx, grantID, now); err != nil {
			return err
		}
	}
	return why
}

// revokeGrant sets revoked_at unless the grant is already revoked, so the
// first revocation time is the one kept.
func revokeGrant(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	_, err := tx.ExecContext(ctx,
		`UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), id)
	return dbErr("revoke grant", err)
}

// usableRefresh is the condition under which a refresh token can be used:
// the caller's, unused, unexpired, with its key proved if it is bound, of
// a live grant. Its arguments are the hash, the client, now, the proved key
// and now again.
const usableRefresh = `hash = ? AND client_id = ? AND used_at IS NULL AND expires_at > ?
	AND (dpop_jkt = '' OR dpop_jkt = ?)
	AND EXISTS (SELECT 1 FROM grants g
	             WHERE g.id = refresh_tokens.grant_id
	               AND g.revoked_at IS NULL AND g.expires_at > ?)`

// The statements of a rotation, prepared once by Open (hotStmts): parsing
// them again for every rotation took about 30 % of the CPU of
// BenchmarkRotateRefreshTokenParallel under group commit (its profile).
const (
	rotateRefresh = `UPDATE refresh_tokens SET used_at = ?, child_hash = ?, child_sealed = ?, grace_until = ?
		  WHERE ` + usableRefresh + `
		 RETURNING grant_id`
	grantByID     = `SELECT ` + grantColumns + ` FROM grants WHERE id = ?`
	insertRefresh = `INSERT INTO refresh_tokens (` + refreshColumns + `, dpop_jkt) VALUES (?, ?, ?, ?, ?, NULL, ?)`
)

// UseRefreshToken uses refresh token u.Hash of u.ClientID at now under the
// client's policy, in one transaction (whose commit it may share: group.go).
//
// Rotation (RFC 9700 section 4.14.2) marks the token used, stores u.Next
// in the same grant and, when the client has a grace window, keeps u.Sealed
// and the window's end on the spent row. Under RotationNone the token's
// idle expiry slides to u.Next.ExpiresAt (never back, never past its
// grant's absolute expiry) and nothing is spent, so concurrent uses all
// succeed.
//
// A token the UPDATE does not match is classified by store.WhyNotRotated:
// ErrNotFound (unknown, expired, another client's), ErrDPoPKeyMismatch
// (nothing changes), ErrRevoked, a grace retry (the spent row's sealed
// child is returned, nothing is written), or ErrRefreshReplayed, which
// revokes the grant in the same transaction. Uses run one at a time under
// the write lock, in one immediate transaction (sqlite.go) or in savepoints
// of one shared by the uses that queued up together (group.go): a racer
// reads a spent row only after the rotation that spent it wrote its child,
// stored and sealed, and is answered only once that write is committed.
func (s *Store) UseRefreshToken(ctx context.Context, u store.RefreshUse, now time.Time) (store.Refreshed, error) {
	if err := u.Check(); err != nil {
		return store.Refreshed{}, err
	}
	var out store.Refreshed
	err := s.inGroupTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var grantID string
		var err error
		if u.Rotation == store.RotationNone {
			out.Outcome = store.RefreshKept
			err = tx.QueryRowContext(ctx,
				`UPDATE refresh_tokens
				    SET expires_at = MAX(expires_at, MIN(COALESCE(?, expires_at),
				        (SELECT g.expires_at FROM grants g WHERE g.id = refresh_tokens.grant_id)))
				  WHERE `+usableRefresh+`
				 RETURNING grant_id`,
				ms(u.Next.ExpiresAt), u.Hash, u.ClientID, ms(now), u.Next.DPoPJKT, ms(now)).Scan(&grantID)
		} else {
			out.Outcome = store.RefreshRotated
			graceUntil := store.GraceUntil(u, now)
			var sealed any // NULL, not an empty BLOB, when no copy is kept
			if !graceUntil.IsZero() {
				sealed = u.Sealed
			}
			err = tx.StmtContext(ctx, s.hot.rotate).QueryRowContext(ctx,
				ms(now), u.Next.Hash, sealed, ms(graceUntil),
				u.Hash, u.ClientID, ms(now), u.Next.DPoPJKT, ms(now)).Scan(&grantID)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotRotated(ctx, tx, u, now, &out)
		}
		if err != nil {
			return dbErr("use refresh token", err)
		}

		g, err := scanGrant(tx.StmtContext(ctx, s.hot.grant).QueryRowContext(ctx, grantID))
		if err != nil {
			return dbErr("use refresh token", err)
		}
		out.Grant = g
		if out.Outcome == store.RefreshKept {
			return nil
		}
		created := u.Next.CreatedAt
		if created.IsZero() {
			created = now
		}
		expires := u.Next.ExpiresAt
		if expires.IsZero() || expires.After(g.ExpiresAt) {
			expires = g.ExpiresAt
		}
		_, err = tx.StmtContext(ctx, s.hot.insertRefresh).ExecContext(ctx,
			u.Next.Hash, g.ID, u.ClientID, ms(created), ms(expires), u.Next.DPoPJKT)
		return dbErr("use refresh token", err)
	}, store.ErrRefreshReplayed, store.ErrRevoked)
	if err != nil {
		return store.Refreshed{}, err
	}
	return out, nil
}

// whyNotRotated classifies a refresh token the UPDATE of UseRefreshToken
// did not match (store.WhyNotRotated) and does what that says: fill out
// with the grace copy of its child, revoke its grant, wipe the copy.
func whyNotRotated(ctx context.Context, tx *sql.Tx, u store.RefreshUse, now time.Time, out *store.Refreshed) error {
	var t store.RefreshState
	var childHash string
	var used, expires, graceUntil, grantRevoked, grantExpires sql.NullInt64
	err := tx.QueryRowContext(ctx,
		`SELECT t.grant_id, t.client_id, g.user_id, t.used_at, t.expires_at, t.dpop_jkt,
		        t.child_hash, t.child_sealed, t.grace_until, g.revoked_at, g.expires_at
		   FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id
		  WHERE t.hash = ?`, u.Hash).Scan(&t.GrantID, &t.ClientID, &t.UserID, &used, &expires, &t.DPoPJKT,
		&childHash, &t.Sealed, &graceUntil, &grantRevoked, &grantExpires)
	if err != nil {
		return dbErr("use refresh token", err)
	}
	t.Used, t.UsedAt, t.ExpiresAt, t.GraceUntil = used.Valid, fromMS(used), fromMS(expires), fromMS(graceUntil)
	t.GrantRevokedAt, t.GrantExpiresAt = fromMS(grantRevoked), fromMS(grantExpires)
	if childHash != "" && store.InGrace(t, u.Grace, now) {
		var childUsed, childExpires sql.NullInt64
		err := tx.QueryRowContext(ctx,
			`SELECT used_at, expires_at, dpop_jkt FROM refresh_tokens WHERE hash = ?`,
			childHash).Scan(&childUsed, &childExpires, &t.Child.DPoPJKT)
		switch {
		case err == nil:
			t.Child.Found, t.Child.Used, t.Child.ExpiresAt = true, childUsed.Valid, fromMS(childExpires)
		case !errors.Is(err, sql.ErrNoRows):
			return dbErr("use refresh token", err)
		}
	}

	v := store.WhyNotRotated(t, u, now)
	if v.Wipe {
		_, err := tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET child_sealed = NULL, grace_until = NULL WHERE hash = ?`, u.Hash)
		if err != nil {
			return dbErr("use refresh token", err)
		}
	}
	if v.Revoke {
		if err := revokeGrant(ctx, tx, t.GrantID, now); err != nil {
			return err
		}
	}
	if !v.Grace {
		return v.Err
	}
	g, err := scanGrant(tx.QueryRowContext(ctx,
		`SELECT `+grantColumns+` FROM grants WHERE id = ?`, t.GrantID))
	if err != nil {
		return dbErr("use refresh token", err)
	}
	*out = store.Refreshed{Grant: g, Outcome: store.RefreshGrace, Sealed: t.Sealed}
	return nil
}

// refreshTokenGrant reads a refresh token with its grant (hotStmts: every
// introspection of a refresh token runs it).
const refreshTokenGrant = `SELECT t.hash, t.grant_id, t.client_id, t.created_at, t.expires_at, t.used_at, t.dpop_jkt,
	        g.id, g.client_id, g.user_id, g.scopes, g.auth_time, g.amr, g.created_at, g.expires_at, g.revoked_at,
	        g.session_id
	   FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id
	  WHERE t.hash = ?`

// RefreshTokenGrant returns a refresh token that is still usable at now and
// its grant. A token unknown, already rotated or expired gives ErrNotFound; a
// token whose grant is revoked or expired gives ErrRevoked.
func (s *Store) RefreshTokenGrant(ctx context.Context, hash string, now time.Time) (store.RefreshToken, store.Grant, error) {
	var t store.RefreshToken
	var tCreated, tExpires, tUsed sql.NullInt64
	var g store.Grant
	var scopes, amr string
	var authTime, gCreated, gExpires, gRevoked sql.NullInt64
	err := s.hot.refreshGrant.QueryRowContext(ctx, hash).Scan(
		&t.Hash, &t.GrantID, &t.ClientID, &tCreated, &tExpires, &tUsed, &t.DPoPJKT,
		&g.ID, &g.ClientID, &g.UserID, &scopes, &authTime, &amr, &gCreated, &gExpires, &gRevoked,
		&g.SessionID)
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, dbErr("refresh token grant", err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMS(tCreated), fromMS(tExpires), fromMS(tUsed)
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromMS(authTime), fromMS(gCreated), fromMS(gExpires), fromMS(gRevoked)
	if g.Scopes, err = fromList(scopes); err != nil {
		return store.RefreshToken{}, store.Grant{}, err
	}
	if g.AMR, err = fromList(amr); err != nil {
		return store.RefreshToken{}, store.Grant{}, err
	}
	if err := store.RefreshTokenUsable(t, g, now); err != nil {
		return store.RefreshToken{}, store.Grant{}, err
	}
	return t, g, nil
}

// Grant returns the grant with id, revoked or not, or ErrNotFound. It reads
// outside any transaction, with the statement a rotation binds to its own
// (hotStmts.grant).
func (s *Store) Grant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.hot.grant.QueryRowContext(ctx, id))
	return g, dbErr("grant", err)
}

// RevokeGrant revokes grant id at now; a grant already revoked keeps its
// first revocation time. ErrNotFound if there is no such grant.
func (s *Store) RevokeGrant(ctx context.Context, id string, now time.Time) error {
	res, err := s.exec(ctx,
		`UPDATE grants SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ms(now), id)
	return mustAffect("revoke grant", res, err)
}

// RevokeAccessToken records jti as revoked until expiresAt (RFC 7009). Doing
// it twice keeps the later expiry.
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.exec(ctx,
		`INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)
		 ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
		jti, ms(expiresAt))
	return dbErr("revoke access token", err)
}

const accessTokenRevoked = `SELECT 1 FROM revoked_access_tokens WHERE jti = ?`

// AccessTokenRevoked reports whether jti has been revoked (and not yet
// cleaned up by DeleteExpired, which happens only after it expired).
func (s *Store) AccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var one int
	err := s.hot.accessRevoked.QueryRowContext(ctx, jti).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, dbErr("access token revoked", err)
	}
	return true, nil
}

// DeleteExpired removes what can no longer be used at now: expired grants
// (with their codes and refresh tokens), grants whose code expired unused,
// expired codes, refresh tokens, sessions, MFA challenges, revoked-token
// records, DPoP proofs and pushed authorization requests. Used refresh
// tokens that have not expired stay, so a replay is still caught, but the
// grace copy of their child goes when its window closes.
// Revoked grants stay until they expire, so Grant keeps reporting them
// revoked. Each statement commits on its own: the cleanup holds the write
// lock briefly, never for the whole sweep.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	at := ms(now)
	for _, q := range []string{
		`DELETE FROM grants WHERE expires_at <= ?`,
		`DELETE FROM grants WHERE id IN (
		     SELECT grant_id FROM auth_codes WHERE used_at IS NULL AND expires_at <= ?)`,
		`DELETE FROM auth_codes WHERE expires_at <= ?`,
		`DELETE FROM refresh_tokens WHERE expires_at <= ?`,
		`UPDATE refresh_tokens SET child_sealed = NULL, grace_until = NULL WHERE grace_until <= ?`,
		`DELETE FROM sessions WHERE expires_at <= ?`,
		`DELETE FROM mfa_challenges WHERE expires_at <= ?`,
		`DELETE FROM revoked_access_tokens WHERE expires_at <= ?`,
		`DELETE FROM dpop_proofs WHERE expires_at <= ?`,
		`DELETE FROM pushed_requests WHERE expires_at <= ?`,
	} {
		if _, err := s.exec(ctx, q, at); err != nil {
			return dbErr("delete expired", err)
		}
	}
	_, err := s.exec(ctx, `DELETE FROM auth_failures WHERE at <= ?`, ms(now.Add(-store.AuthFailureRetention)))
	return dbErr("delete expired", err)
}
