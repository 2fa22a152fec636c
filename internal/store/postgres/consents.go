package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// SaveConsent records c. If the user already consented to the client, the
// scopes become the union of old and new (old ones first, no duplicates),
// GrantedAt keeps the first consent's time, and LastUsedAt is replaced when
// c.LastUsedAt is set.
//
// It is one INSERT ... ON CONFLICT DO UPDATE, which PostgreSQL makes atomic:
// of two saves racing to create the row, the second waits for the first and
// then merges into it, so no scope is lost.
func (s *Store) SaveConsent(ctx context.Context, c store.Consent) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO consents AS old (user_id, client_id, scopes, granted_at, last_used_at)
		 VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (user_id, client_id) DO UPDATE
		    SET scopes = ARRAY(SELECT u.scope
		                         FROM unnest(old.scopes || excluded.scopes) WITH ORDINALITY AS u(scope, n)
		                        GROUP BY u.scope ORDER BY min(u.n)),
		        last_used_at = COALESCE(excluded.last_used_at, old.last_used_at)`,
		c.UserID, c.ClientID, list(dedup(c.Scopes)), ts(c.GrantedAt), ts(c.LastUsedAt))
	return dbErr("save consent", err)
}

// dedup returns v without repeats, first occurrences kept in order.
func dedup(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

const consentColumns = `user_id, client_id, scopes, granted_at, last_used_at`

func scanConsent(row pgx.Row) (store.Consent, error) {
	var c store.Consent
	var granted, used pgtype.Timestamptz
	if err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &granted, &used); err != nil {
		return store.Consent{}, err
	}
	c.GrantedAt, c.LastUsedAt = fromTS(granted), fromTS(used)
	c.Scopes = fromList(c.Scopes)
	return c, nil
}

// Consent returns the user's consent for the client, or ErrNotFound.
func (s *Store) Consent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(s.pool.QueryRow(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = $1 AND client_id = $2`,
		userID, clientID))
	return c, dbErr("consent", err)
}

// Consents returns every consent of the user, oldest first.
func (s *Store) Consents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = $1 ORDER BY granted_at, client_id COLLATE "C"`,
		userID)
	if err != nil {
		return nil, dbErr("consents", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Consent, error) { return scanConsent(row) })
	if len(out) == 0 {
		out = nil
	}
	return out, dbErr("consents", err)
}

// DeleteConsent forgets the consent and, in the same transaction, revokes
// every grant the user gave the client. Deleting a consent that does not
// exist still revokes the grants and is not an error.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
		if err != nil {
			return dbErr("delete consent", err)
		}
		_, err = tx.Exec(ctx,
			`UPDATE grants SET revoked_at = $1
			  WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL`,
			ts(now), userID, clientID)
		return dbErr("revoke consent grants", err)
	})
}
