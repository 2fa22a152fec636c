package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// SaveConsent records c. If the user already consented to the client, the
// scopes become the union of old and new (old ones first, no duplicates),
// GrantedAt keeps the first consent's time, and LastUsedAt is replaced when
// c.LastUsedAt is set.
func (s *Store) SaveConsent(ctx context.Context, c store.Consent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx,
			`SELECT scopes FROM consents WHERE user_id = ? AND client_id = ?`,
			c.UserID, c.ClientID).Scan(&old)
		switch {
		case err == sql.ErrNoRows:
			_, err = tx.ExecContext(ctx,
				`INSERT INTO consents (user_id, client_id, scopes, granted_at, last_used_at)
				 VALUES (?, ?, ?, ?, ?)`,
				c.UserID, c.ClientID, list(union(nil, c.Scopes)), ms(c.GrantedAt), ms(c.LastUsedAt))
			return dbErr("save consent", err)
		case err != nil:
			return dbErr("save consent", err)
		}
		scopes, err := fromList(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE consents SET scopes = ?, last_used_at = COALESCE(?, last_used_at)
			  WHERE user_id = ? AND client_id = ?`,
			list(union(scopes, c.Scopes)), ms(c.LastUsedAt), c.UserID, c.ClientID)
		return dbErr("save consent", err)
	})
}

// union returns a followed by the elements of b it lacks, without duplicates.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, v := range slices.Concat(a, b) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

const consentColumns = `user_id, client_id, scopes, granted_at, last_used_at`

func scanConsent(row scanner) (store.Consent, error) {
	var c store.Consent
	var scopes string
	var granted, used sql.NullInt64
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, &granted, &used); err != nil {
		return store.Consent{}, err
	}
	c.GrantedAt, c.LastUsedAt = fromMS(granted), fromMS(used)
	var err error
	if c.Scopes, err = fromList(scopes); err != nil {
		return store.Consent{}, err
	}
	return c, nil
}

// Consent returns the user's consent for the client, or ErrNotFound.
func (s *Store) Consent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(s.db.QueryRowContext(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = ? AND client_id = ?`,
		userID, clientID))
	return c, dbErr("consent", err)
}

// Consents returns every consent of the user, oldest first.
func (s *Store) Consents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = ? ORDER BY granted_at, client_id`,
		userID)
	if err != nil {
		return nil, dbErr("consents", err)
	}
	defer rows.Close()
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, dbErr("consents", err)
		}
		out = append(out, c)
	}
	return out, dbErr("consents", rows.Err())
}

// DeleteConsent forgets the consent and, in the same transaction, revokes
// every grant the user gave the client. Deleting a consent that does not
// exist still revokes the grants and is not an error.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`DELETE FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
		if err != nil {
			return dbErr("delete consent", err)
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE grants SET revoked_at = ?
			  WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL`,
			ms(now), userID, clientID)
		return dbErr("revoke consent grants", err)
	})
}
