package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/ariesexchange/aries/internal/store"
)

// Family is a grant and its refresh tokens, as ImportGrants stores them.
type Family struct {
	Grant  store.Grant
	Tokens []store.RefreshToken
}

// ImportGrants stores every family as given, grants and refresh tokens
// alike, in one transaction: the bulk path for filling a database that no
// server uses yet. The load benchmark (cmd/aries-bench) stores a million
// refresh tokens this way in 20-30 seconds on two cores; through
// CreateAuthCode, RedeemAuthCode and UseRefreshToken, one durable
// transaction per token, the same takes about six minutes.
//
// Nothing is decided here that the token endpoint would decide: a token is
// stored used or unused as its UsedAt says. A token's GrantID and ClientID
// are its family's, and its ExpiresAt is clamped to the grant's, as on every
// other path. The client and user every grant names must exist (ErrNotFound
// otherwise), and a grant id or token hash already taken is ErrConflict; in
// either case nothing is stored.
func (s *Store) ImportGrants(ctx context.Context, families iter.Seq[Family]) error {
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer s.unlockWrite()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: import grants: %w", err)
	}
	// The connection is set up for the load below, so it is dropped
	// afterwards rather than returned to the pool with those settings.
	defer func() {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}()
	// The schema's foreign keys would cost a lookup of the grant, client
	// and user for every row; the references are checked once per distinct
	// client and user instead (a token always names its own family's
	// grant). A large page cache keeps the inserts into the index of random
	// token hashes in memory.
	for _, pragma := range []string{"PRAGMA foreign_keys = OFF", "PRAGMA cache_size = -262144"} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return dbErr("import grants", err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit

	exists := map[string]bool{} // "clients id" or "users id" found
	refers := func(table, id string) error {
		if exists[table+" "+id] {
			return nil
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: import grants: no row in %s for %q: %w", table, id, store.ErrNotFound)
		}
		if err != nil {
			return dbErr("import grants", err)
		}
		exists[table+" "+id] = true
		return nil
	}
	grants := newBulkInsert(ctx, tx, "grants", grantColumns)
	tokens := newBulkInsert(ctx, tx, "refresh_tokens", refreshColumns)
	for f := range families {
		g := f.Grant
		if err := refers("clients", g.ClientID); err != nil {
			return err
		}
		if err := refers("users", g.UserID); err != nil {
			return err
		}
		err := grants.add(g.ID, g.ClientID, g.UserID, list(g.Scopes), ms(g.AuthTime), list(g.AMR),
			ms(g.CreatedAt), ms(g.ExpiresAt), ms(g.RevokedAt), g.SessionID)
		if err != nil {
			return dbErr("import grants", err)
		}
		for _, t := range f.Tokens {
			expires := t.ExpiresAt
			if expires.IsZero() || expires.After(g.ExpiresAt) {
				expires = g.ExpiresAt
			}
			if err := tokens.add(t.Hash, g.ID, g.ClientID, ms(t.CreatedAt), ms(expires), ms(t.UsedAt)); err != nil {
				return dbErr("import refresh tokens", err)
			}
		}
	}
	if err := grants.flush(); err != nil {
		return dbErr("import grants", err)
	}
	if err := tokens.flush(); err != nil {
		return dbErr("import refresh tokens", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// bulkInsert writes many rows per statement: the driver's cost is per
// statement, not per row.
type bulkInsert struct {
	ctx  context.Context
	tx   *sql.Tx
	head string
	ncol int
	args []any
	stmt *sql.Stmt // a full batch's statement, prepared once
}

// bulkRows is the number of rows per statement, far below SQLite's limit
// of 32766 parameters.
const bulkRows = 256

func newBulkInsert(ctx context.Context, tx *sql.Tx, table, columns string) *bulkInsert {
	return &bulkInsert{ctx: ctx, tx: tx, head: "INSERT INTO " + table + " (" + columns + ") VALUES ",
		ncol: strings.Count(columns, ",") + 1}
}

// add queues one row and writes the queue once it holds bulkRows rows.
func (b *bulkInsert) add(vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) < bulkRows*b.ncol {
		return nil
	}
	if b.stmt == nil {
		var err error
		if b.stmt, err = b.tx.PrepareContext(b.ctx, b.query(bulkRows)); err != nil {
			return err
		}
	}
	_, err := b.stmt.ExecContext(b.ctx, b.args...)
	b.args = b.args[:0]
	return err
}

// flush writes the rows still queued.
func (b *bulkInsert) flush() error {
	if len(b.args) == 0 {
		return nil
	}
	_, err := b.tx.ExecContext(b.ctx, b.query(len(b.args)/b.ncol), b.args...)
	b.args = b.args[:0]
	return err
}

func (b *bulkInsert) query(rows int) string {
	row := "(" + strings.Repeat("?, ", b.ncol-1) + "?)"
	return b.head + strings.Repeat(row+", ", rows-1) + row
}
