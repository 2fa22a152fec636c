package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/ariesexchange/aries/internal/store"
)

// Family is a grant and its refresh tokens, as ImportGrants stores them.
type Family struct {
	Grant  store.Grant
	Tokens []store.RefreshToken
}

// importBatch is how many grants, and how many refresh tokens, are held in
// memory before they are sent with COPY. It bounds the memory of an import
// of any size on both sides: here, and in PostgreSQL, which queues one
// foreign-key check per row until the end of each COPY statement.
var importBatch = 20000

// The columns ImportGrants fills: those CreateAuthCode and UseRefreshToken
// write. A rotated token's child_hash, child_sealed and grace_until keep
// their defaults, as for tokens rotated before 00011_refresh_grace.sql.
var (
	importGrantColumns   = []string{"id", "client_id", "user_id", "scopes", "auth_time", "amr", "created_at", "expires_at", "revoked_at", "session_id"}
	importRefreshColumns = []string{"hash", "grant_id", "client_id", "created_at", "expires_at", "used_at", "dpop_jkt"}
)

// ImportGrants stores every family as given, grants and refresh tokens
// alike, in one transaction: the bulk path for filling a database that no
// server uses yet. It sends rows with COPY, a batch at a time, so the load
// benchmark (cmd/aries-bench) can store ten million refresh tokens with
// memory bounded by importBatch; through CreateAuthCode and
// UseRefreshToken, one durable transaction per token, that would take
// hours.
//
// Nothing is decided here that the token endpoint would decide: a token is
// stored used or unused as its UsedAt says. A token's GrantID and ClientID
// are its family's, and its ExpiresAt is clamped to the grant's, as on every
// other path. The client and user every grant names must exist (ErrNotFound
// otherwise), and a grant id or token hash already taken is ErrConflict; in
// either case nothing is stored.
//
// The import is not bounded by the store's per-call timeout (WithTimeout):
// it takes as long as its rows need, bounded by ctx alone.
func (s *Store) ImportGrants(ctx context.Context, families iter.Seq[Family]) error {
	tx, err := s.pool.Pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(ctx) // no-op after Commit

	// The schema's foreign keys check every row; these checks come first
	// so that a missing client or user is a clear ErrNotFound.
	exists := map[string]bool{} // "clients id" or "users id" found
	refers := func(table, id string) error {
		if exists[table+" "+id] {
			return nil
		}
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres: import grants: no row in %s for %q: %w", table, id, store.ErrNotFound)
		}
		if err != nil {
			return dbErr("import grants", err)
		}
		exists[table+" "+id] = true
		return nil
	}
	var grants, tokens [][]any
	flush := func() error {
		// Grants first: their tokens refer to them.
		if len(grants) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"grants"}, importGrantColumns, pgx.CopyFromRows(grants)); err != nil {
				return dbErr("import grants", err)
			}
		}
		if len(tokens) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"refresh_tokens"}, importRefreshColumns, pgx.CopyFromRows(tokens)); err != nil {
				return dbErr("import refresh tokens", err)
			}
		}
		clear(grants)
		clear(tokens)
		grants, tokens = grants[:0], tokens[:0]
		return nil
	}
	for f := range families {
		g := f.Grant
		if err := refers("clients", g.ClientID); err != nil {
			return err
		}
		if err := refers("users", g.UserID); err != nil {
			return err
		}
		grants = append(grants, []any{g.ID, g.ClientID, g.UserID, list(g.Scopes), ts(g.AuthTime), list(g.AMR),
			ts(g.CreatedAt), ts(g.ExpiresAt), ts(g.RevokedAt), g.SessionID})
		for _, t := range f.Tokens {
			expires := t.ExpiresAt
			if expires.IsZero() || expires.After(g.ExpiresAt) {
				expires = g.ExpiresAt
			}
			tokens = append(tokens, []any{t.Hash, g.ID, g.ClientID, ts(t.CreatedAt), ts(expires), ts(t.UsedAt), t.DPoPJKT})
		}
		if len(grants) >= importBatch || len(tokens) >= importBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}
