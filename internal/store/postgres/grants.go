package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// The single-use rules below are decided by conditional UPDATEs ("... AND
// used_at IS NULL"). Under READ COMMITTED, a second transaction updating the
// same row waits for the first to commit, then re-evaluates its WHERE clause
// on the committed row: it no longer matches, so exactly one transaction
// wins, whichever instance it runs on.

const grantColumns = `id, client_id, user_id, scopes, auth_time, amr, created_at, expires_at, revoked_at,
	session_id`

func scanGrant(row pgx.Row) (store.Grant, error) {
	var g store.Grant
	var authTime, created, expires, revoked pgtype.Timestamptz
	err := row.Scan(&g.ID, &g.ClientID, &g.UserID, &g.Scopes, &authTime, &g.AMR, &created, &expires, &revoked,
		&g.SessionID)
	if err != nil {
		return store.Grant{}, err
	}
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromTS(authTime), fromTS(created), fromTS(expires), fromTS(revoked)
	g.Scopes, g.AMR = fromList(g.Scopes), fromList(g.AMR)
	return g, nil
}

const codeColumns = `hash, grant_id, client_id, user_id, redirect_uri, scopes, code_challenge,
	code_challenge_method, auth_time, amr, created_at, expires_at, used_at,
	nonce, session_id, dpop_jkt`

func scanCode(row pgx.Row) (store.AuthCode, error) {
	var c store.AuthCode
	var authTime, created, expires, used pgtype.Timestamptz
	err := row.Scan(&c.Hash, &c.GrantID, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scopes,
		&c.CodeChallenge, &c.CodeChallengeMethod, &authTime, &c.AMR, &created, &expires, &used,
		&c.Nonce, &c.SessionID, &c.DPoPJKT)
	if err != nil {
		return store.AuthCode{}, err
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = fromTS(authTime), fromTS(created), fromTS(expires), fromTS(used)
	c.Scopes, c.AMR = fromList(c.Scopes), fromList(c.AMR)
	return c, nil
}

const refreshColumns = `hash, grant_id, client_id, created_at, expires_at, used_at`

// CreateAuthCode stores grant g and code c (whose GrantID must be g.ID) in
// one transaction; ErrConflict if the code hash or grant id is taken.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode, g store.Grant) error {
	if c.GrantID != g.ID {
		return fmt.Errorf("postgres: create auth code: code names grant %q, got grant %q", c.GrantID, g.ID)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO grants (`+grantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			g.ID, g.ClientID, g.UserID, list(g.Scopes), ts(g.AuthTime), list(g.AMR),
			ts(g.CreatedAt), ts(g.ExpiresAt), ts(g.RevokedAt), g.SessionID)
		if err != nil {
			return dbErr("create grant", err)
		}
		_, err = tx.Exec(ctx,
			`INSERT INTO auth_codes (`+codeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			c.Hash, c.GrantID, c.ClientID, c.UserID, c.RedirectURI, list(c.Scopes), c.CodeChallenge,
			c.CodeChallengeMethod, ts(c.AuthTime), list(c.AMR), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt),
			c.Nonce, c.SessionID, c.DPoPJKT)
		return dbErr("create auth code", err)
	})
}

// AuthCode returns the unused, unexpired code with hash, or ErrNotFound. It
// reads only.
func (s *Store) AuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	c, err := scanCode(s.pool.QueryRow(ctx,
		`SELECT `+codeColumns+` FROM auth_codes WHERE hash = $1 AND used_at IS NULL AND expires_at > $2`,
		hash, ts(now)))
	return c, dbErr("auth code", err)
}

// RedeemAuthCode marks the code used at now and stores first as the first
// refresh token of its grant, in one transaction, and returns the code (RFC
// 6749 section 4.1.2: a code is used once). Doing both in one transaction
// means the winner of a race on one code has its token before any loser can
// see the code used: a reuse can then only revoke it, never leave the winner
// with a consumed code and no token. first.GrantID and first.ClientID are
// ignored: the token joins the code's grant and client. first.CreatedAt
// defaults to now; first.ExpiresAt is clamped to the grant's ExpiresAt.
//
// Unknown or expired codes give ErrNotFound; a code whose grant was revoked
// before it was redeemed (client disabled, consent withdrawn) gives
// ErrRevoked; a taken refresh token hash gives ErrConflict. In all of these
// nothing is written. A code already used gives ErrCodeReused, and its grant
// is revoked in the same transaction (RFC 6749 section 10.5, RFC 9700
// section 4.2.4), so the tokens the first redemption issued die with it.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, first store.RefreshToken, now time.Time) (store.AuthCode, error) {
	if first.Hash == "" {
		return store.AuthCode{}, errors.New("postgres: redeem auth code: empty refresh token hash")
	}
	created := first.CreatedAt
	if created.IsZero() {
		created = now
	}
	var code store.AuthCode
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := scanCode(tx.QueryRow(ctx,
			`UPDATE auth_codes SET used_at = $1
			  WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
			    AND EXISTS (SELECT 1 FROM grants g
			                 WHERE g.id = auth_codes.grant_id AND g.revoked_at IS NULL)
			 RETURNING `+codeColumns,
			ts(now), hash))
		if errors.Is(err, pgx.ErrNoRows) {
			return whyNotRedeemed(ctx, tx, hash, now)
		}
		if err != nil {
			return dbErr("redeem auth code", err)
		}

		// A taken hash fails here, and the error rolls back the UPDATE:
		// the code stays redeemable.
		_, err = tx.Exec(ctx,
			`INSERT INTO refresh_tokens (`+refreshColumns+`, dpop_jkt)
			 SELECT $1::text, g.id, g.client_id, $2::timestamptz, LEAST(COALESCE($3::timestamptz, g.expires_at), g.expires_at), NULL, $5::text
			   FROM grants g WHERE g.id = $4`,
			first.Hash, ts(created), ts(first.ExpiresAt), c.GrantID, first.DPoPJKT)
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
// revoking its grant if it had already been used. Its SELECT is a new
// statement, so under READ COMMITTED it sees what the winner committed.
func whyNotRedeemed(ctx context.Context, tx pgx.Tx, hash string, now time.Time) error {
	var grantID, userID string
	var used, expires pgtype.Timestamptz
	err := tx.QueryRow(ctx,
		`SELECT grant_id, user_id, used_at, expires_at FROM auth_codes WHERE hash = $1`,
		hash).Scan(&grantID, &userID, &used, &expires)
	if err != nil {
		return dbErr("redeem auth code", err)
	}
	revoke, why := store.WhyNotRedeemed(store.CodeState{
		GrantID: grantID, UserID: userID, Used: used.Valid, ExpiresAt: fromTS(expires),
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
func revokeGrant(ctx context.Context, tx pgx.Tx, id string, now time.Time) error {
	_, err := tx.Exec(ctx,
		`UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ts(now), id)
	return dbErr("revoke grant", err)
}

// usableRefresh is the condition under which a refresh token can be used:
// the caller's ($2), unused, unexpired at $1, with its key ($4) proved if
// it is bound, of a live grant; $3 is the token's hash.
const usableRefresh = `hash = $3 AND client_id = $2 AND used_at IS NULL AND expires_at > $1
	AND (dpop_jkt = '' OR dpop_jkt = $4)
	AND EXISTS (SELECT 1 FROM grants g
	             WHERE g.id = refresh_tokens.grant_id
	               AND g.revoked_at IS NULL AND g.expires_at > $1)`

// rotateRefresh is a whole rotation in one statement: spend the token if
// usableRefresh holds ($1-$4), keeping the child's hash and its grace copy
// ($5-$7) on the spent row, store the child $5 in the same grant, created
// at $8 and expiring at $9 clamped to the grant's expiry, and return the
// grant. Without a row, nothing was written.
const rotateRefresh = `WITH spent AS (
	UPDATE refresh_tokens SET used_at = $1, child_hash = $5, child_sealed = $6, grace_until = $7
	 WHERE ` + usableRefresh + `
	RETURNING grant_id
), g AS (
	SELECT ` + grantColumns + ` FROM grants JOIN spent ON spent.grant_id = grants.id
), child AS (
	INSERT INTO refresh_tokens (` + refreshColumns + `, dpop_jkt)
	SELECT $5, g.id, $2, $8::timestamptz, LEAST(COALESCE($9::timestamptz, g.expires_at), g.expires_at), NULL, $4 FROM g
)
SELECT ` + grantColumns + ` FROM g`

// keepRefresh is a use under RotationNone in one statement: slide the
// token's idle expiry to $5 (never back, never past its grant's) if
// usableRefresh holds, and return the grant. Without a row, nothing was
// written.
const keepRefresh = `WITH kept AS (
	UPDATE refresh_tokens
	   SET expires_at = GREATEST(expires_at, LEAST(COALESCE($5, expires_at),
	       (SELECT g.expires_at FROM grants g WHERE g.id = refresh_tokens.grant_id)))
	 WHERE ` + usableRefresh + `
	RETURNING grant_id
)
SELECT ` + grantColumns + ` FROM grants JOIN kept ON kept.grant_id = grants.id`

// UseRefreshToken uses refresh token u.Hash of u.ClientID at now under the
// client's policy.
//
// Rotation (RFC 9700 section 4.14.2) marks the token used, stores u.Next
// in the same grant and, when the client has a grace window, keeps u.Sealed
// and the window's end on the spent row. Under RotationNone the token's
// idle expiry slides to u.Next.ExpiresAt (never back, never past its
// grant's absolute expiry) and nothing is spent, so concurrent uses all
// succeed.
//
// A usable token, the common case, takes one statement (rotateRefresh or
// keepRefresh) and one round trip: a single statement is its own
// transaction, committed (and, with synchronous_commit, flushed) before
// PostgreSQL answers, and pgx reads that answer before Scan returns, so
// the caller gets the grant only once the rotation is durable. A racer's
// UPDATE waits on the row lock of the rotation in progress and, once that
// commits, no longer matches; as the child is inserted by the same
// statement, no one ever sees a spent token whose child is not yet stored
// and sealed.
//
// A token the statement does not match is classified by
// store.WhyNotRotated: ErrNotFound (unknown, expired, another client's),
// ErrDPoPKeyMismatch (nothing changes), ErrRevoked, a grace retry (the
// spent row's sealed child is returned, nothing is written), or
// ErrRefreshReplayed, which revokes the grant in a transaction. What
// writes nothing is decided by one read; see the comment in the code.
func (s *Store) UseRefreshToken(ctx context.Context, u store.RefreshUse, now time.Time) (store.Refreshed, error) {
	if err := u.Check(); err != nil {
		return store.Refreshed{}, err
	}
	q, args, outcome := refreshStatement(u, now)
	g, err := scanGrant(s.pool.QueryRow(ctx, q, args...))
	if err == nil {
		return store.Refreshed{Grant: g, Outcome: outcome}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Refreshed{}, dbErr("use refresh token", err)
	}

	// Not usable now. Most such tokens need no write, so one read decides
	// without a transaction: a grace retry (the token is spent, and a
	// spent row never changes again but for the wipe), another client's
	// or key's token, an unknown or expired one. The rest are decided
	// again in a transaction: a replay and a wipe write, and a token that
	// reads as live and unused may have become usable since the statement
	// (its expiry slid by a concurrent use under RotationNone with an
	// earlier now), so the transaction tries the statement first.
	t, g, err := readRefreshState(ctx, s.pool, u.Hash)
	if err != nil {
		return store.Refreshed{}, dbErr("use refresh token", err)
	}
	v := store.WhyNotRotated(t, u, now)
	switch {
	case v.Grace:
		return store.Refreshed{Grant: g, Outcome: store.RefreshGrace, Sealed: t.Sealed}, nil
	case !v.Revoke && !v.Wipe && (t.Used || !errors.Is(v.Err, store.ErrRevoked)):
		return store.Refreshed{}, v.Err
	}

	var out store.Refreshed
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		g, err := scanGrant(tx.QueryRow(ctx, q, args...))
		switch {
		case err == nil:
			out = store.Refreshed{Grant: g, Outcome: outcome}
			return nil
		case errors.Is(err, pgx.ErrNoRows):
			return whyNotRotated(ctx, tx, u, now, &out)
		}
		return dbErr("use refresh token", err)
	}, store.ErrRefreshReplayed, store.ErrRevoked)
	if err != nil {
		return store.Refreshed{}, err
	}
	return out, nil
}

// refreshStatement returns the statement that carries out u at now if its
// token is usable, its arguments, and the outcome it has then.
func refreshStatement(u store.RefreshUse, now time.Time) (string, []any, store.RefreshOutcome) {
	if u.Rotation == store.RotationNone {
		return keepRefresh, []any{ts(now), u.ClientID, u.Hash, u.Next.DPoPJKT, ts(u.Next.ExpiresAt)},
			store.RefreshKept
	}
	graceUntil := store.GraceUntil(u, now)
	var sealed []byte // nil is NULL: no copy kept
	if !graceUntil.IsZero() {
		sealed = u.Sealed
	}
	created := u.Next.CreatedAt
	if created.IsZero() {
		created = now
	}
	return rotateRefresh, []any{ts(now), u.ClientID, u.Hash, u.Next.DPoPJKT,
		u.Next.Hash, sealed, ts(graceUntil), ts(created), ts(u.Next.ExpiresAt)}, store.RefreshRotated
}

// whyNotRotated classifies a refresh token the statement of UseRefreshToken
// did not match, in its transaction (store.WhyNotRotated), and does what
// that says: fill out with the grace copy of its child, revoke its grant,
// wipe the copy. No lock is needed: see readRefreshState.
func whyNotRotated(ctx context.Context, tx pgx.Tx, u store.RefreshUse, now time.Time, out *store.Refreshed) error {
	t, g, err := readRefreshState(ctx, tx, u.Hash)
	if err != nil {
		return dbErr("use refresh token", err)
	}
	v := store.WhyNotRotated(t, u, now)
	if v.Wipe {
		_, err := tx.Exec(ctx,
			`UPDATE refresh_tokens SET child_sealed = NULL, grace_until = NULL WHERE hash = $1`, u.Hash)
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
	*out = store.Refreshed{Grant: g, Outcome: store.RefreshGrace, Sealed: t.Sealed}
	return nil
}

// rowQuerier is the store's pool or one of its transactions.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readRefreshState reads the refresh token with hash, its grant and the
// token it was rotated into in one statement, so as last committed
// together, for store.WhyNotRotated. A spent row never changes again but
// for the wipe, and a rotation stores the child in the statement that
// spends the parent: a retry that finds the child unused while the
// child's own rotation is in flight is ordered before that rotation, as if
// it had come first, and whoever then uses the child second is a replay.
func readRefreshState(ctx context.Context, q rowQuerier, hash string) (store.RefreshState, store.Grant, error) {
	var t store.RefreshState
	var childHash string
	var used, expires, graceUntil pgtype.Timestamptz
	var childFound, childJKT pgtype.Text // NULL: no child row
	var childUsed, childExpires pgtype.Timestamptz
	var g store.Grant
	var authTime, gCreated, gExpires, gRevoked pgtype.Timestamptz
	err := q.QueryRow(ctx,
		`SELECT t.client_id, t.used_at, t.expires_at, t.dpop_jkt, t.child_hash, t.child_sealed, t.grace_until,
		        c.hash, c.used_at, c.expires_at, c.dpop_jkt,
		        g.id, g.client_id, g.user_id, g.scopes, g.auth_time, g.amr, g.created_at, g.expires_at, g.revoked_at,
		        g.session_id
		   FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id
		   LEFT JOIN refresh_tokens c ON c.hash = t.child_hash
		  WHERE t.hash = $1`, hash).Scan(&t.ClientID, &used, &expires, &t.DPoPJKT, &childHash, &t.Sealed, &graceUntil,
		&childFound, &childUsed, &childExpires, &childJKT,
		&g.ID, &g.ClientID, &g.UserID, &g.Scopes, &authTime, &g.AMR, &gCreated, &gExpires, &gRevoked,
		&g.SessionID)
	if err != nil {
		return store.RefreshState{}, store.Grant{}, err
	}
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromTS(authTime), fromTS(gCreated), fromTS(gExpires), fromTS(gRevoked)
	g.Scopes, g.AMR = fromList(g.Scopes), fromList(g.AMR)
	t.GrantID, t.UserID = g.ID, g.UserID
	t.Used, t.UsedAt, t.ExpiresAt, t.GraceUntil = used.Valid, fromTS(used), fromTS(expires), fromTS(graceUntil)
	t.GrantRevokedAt, t.GrantExpiresAt = g.RevokedAt, g.ExpiresAt
	if childHash != "" && childFound.Valid {
		t.Child = store.ChildState{Found: true, Used: childUsed.Valid, ExpiresAt: fromTS(childExpires),
			DPoPJKT: childJKT.String}
	}
	return t, g, nil
}

// RefreshTokenGrant returns a refresh token that is still usable at now and
// its grant. A token unknown, already rotated or expired gives ErrNotFound; a
// token whose grant is revoked or expired gives ErrRevoked.
func (s *Store) RefreshTokenGrant(ctx context.Context, hash string, now time.Time) (store.RefreshToken, store.Grant, error) {
	var t store.RefreshToken
	var tCreated, tExpires, tUsed pgtype.Timestamptz
	var g store.Grant
	var authTime, gCreated, gExpires, gRevoked pgtype.Timestamptz
	err := s.pool.QueryRow(ctx,
		`SELECT t.hash, t.grant_id, t.client_id, t.created_at, t.expires_at, t.used_at, t.dpop_jkt,
		        g.id, g.client_id, g.user_id, g.scopes, g.auth_time, g.amr, g.created_at, g.expires_at, g.revoked_at,
		        g.session_id
		   FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id
		  WHERE t.hash = $1`, hash).Scan(
		&t.Hash, &t.GrantID, &t.ClientID, &tCreated, &tExpires, &tUsed, &t.DPoPJKT,
		&g.ID, &g.ClientID, &g.UserID, &g.Scopes, &authTime, &g.AMR, &gCreated, &gExpires, &gRevoked,
		&g.SessionID)
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, dbErr("refresh token grant", err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromTS(tCreated), fromTS(tExpires), fromTS(tUsed)
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromTS(authTime), fromTS(gCreated), fromTS(gExpires), fromTS(gRevoked)
	g.Scopes, g.AMR = fromList(g.Scopes), fromList(g.AMR)
	if err := store.RefreshTokenUsable(t, g, now); err != nil {
		return store.RefreshToken{}, store.Grant{}, err
	}
	return t, g, nil
}

// Grant returns the grant with id, revoked or not, or ErrNotFound.
func (s *Store) Grant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx,
		`SELECT `+grantColumns+` FROM grants WHERE id = $1`, id))
	return g, dbErr("grant", err)
}

// RevokeGrant revokes grant id at now; a grant already revoked keeps its
// first revocation time. ErrNotFound if there is no such grant.
func (s *Store) RevokeGrant(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE grants SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, ts(now), id)
	return mustAffect("revoke grant", tag, err)
}

// DeleteExpired removes what can no longer be used at now: expired grants
// (with their codes and refresh tokens), grants whose code expired unused,
// expired codes, refresh tokens, sessions, MFA challenges, revoked-token
// records, DPoP proofs and pushed authorization requests. Used refresh
// tokens that have not expired stay, so a replay is still caught, but the
// grace copy of their child goes when its window closes. Revoked
// grants stay until they expire, so Grant keeps reporting them revoked.
// Each statement commits on its own, so the sweep never holds many row
// locks at once.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	at := ts(now)
	for _, q := range []string{
		`DELETE FROM grants WHERE expires_at <= $1`,
		`DELETE FROM grants WHERE id IN (
		     SELECT grant_id FROM auth_codes WHERE used_at IS NULL AND expires_at <= $1)`,
		`DELETE FROM auth_codes WHERE expires_at <= $1`,
		`DELETE FROM refresh_tokens WHERE expires_at <= $1`,
		`UPDATE refresh_tokens SET child_sealed = NULL, grace_until = NULL WHERE grace_until <= $1`,
		`DELETE FROM sessions WHERE expires_at <= $1`,
		`DELETE FROM mfa_challenges WHERE expires_at <= $1`,
		`DELETE FROM revoked_access_tokens WHERE expires_at <= $1`,
		`DELETE FROM dpop_proofs WHERE expires_at <= $1`,
		`DELETE FROM pushed_requests WHERE expires_at <= $1`,
	} {
		if _, err := s.pool.Exec(ctx, q, at); err != nil {
			return dbErr("delete expired", err)
		}
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM auth_failures WHERE at <= $1`, ts(now.Add(-store.AuthFailureRetention)))
	return dbErr("delete expired", err)
}
