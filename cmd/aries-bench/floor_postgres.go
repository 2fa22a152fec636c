package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres"
)

// The floor on PostgreSQL does the statements no PostgreSQL-backed server
// can skip, each one round trip with a statement prepared once (pgx caches
// them per connection):
//   - client authentication reads the client's secret hash by primary key:
//     with several instances sharing the database, one that must never
//     accept a rotated or disabled client's old secret has to ask the
//     database (issue 16's rule: invalidate, do not expire);
//   - a refresh or a code exchange is one statement, the conditional
//     UPDATE ... RETURNING and the INSERT of the next token joined in a
//     data-modifying WITH, so one implicit transaction and one commit;
//   - GET /v1/users/me reads the user's row by primary key.
// Like the SQLite floor, subject and scope ride on the token rows, so a
// rotation needs no read of its grant.

// floorPostgresSchema is floorSchema in PostgreSQL, plus the client and
// user rows the PostgreSQL floor reads.
const floorPostgresSchema = `
CREATE TABLE IF NOT EXISTS clients (
    id          text NOT NULL PRIMARY KEY,
    secret_hash text NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id    text NOT NULL PRIMARY KEY,
    email text NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash       text   NOT NULL PRIMARY KEY,
    grant_id   text   NOT NULL,
    subject    text   NOT NULL,
    scope      text   NOT NULL,
    expires_at bigint NOT NULL,
    used_at    bigint
);
CREATE INDEX IF NOT EXISTS refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE TABLE IF NOT EXISTS auth_codes (
    hash       text   NOT NULL PRIMARY KEY,
    grant_id   text   NOT NULL,
    subject    text   NOT NULL,
    scope      text   NOT NULL,
    expires_at bigint NOT NULL,
    used_at    bigint
);`

// floorRotateSQL spends a code or refresh token of table and stores the
// next refresh token of its family, in one statement.
func floorRotateSQL(table string) string {
	return `WITH spent AS (
	    UPDATE ` + table + ` SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
	    RETURNING grant_id, subject, scope)
	INSERT INTO refresh_tokens (hash, grant_id, subject, scope, expires_at)
	SELECT $3, grant_id, subject, scope, $4 FROM spent
	RETURNING grant_id, subject, scope`
}

// openFloorPostgres connects the floor to its database, with as many
// connections as Aries's store opens (postgres.DefaultMaxConns).
func openFloorPostgres(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("floor: cannot parse the PostgreSQL URL")
	}
	cfg.MaxConns = postgres.DefaultMaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// rotatePostgres is rotate on PostgreSQL.
func (f *floor) rotatePostgres(ctx context.Context, table, presentedHash, nextHash string, now time.Time, c *floorClaims) bool {
	err := f.pg.QueryRow(ctx, floorRotateSQL(table),
		now.UnixMilli(), presentedHash, nextHash, now.Add(30*24*time.Hour).UnixMilli()).Scan(&c.GrantID, &c.Subject, &c.Scope)
	return err == nil
}

// clientSecretHash reads the client's secret hash.
func (f *floor) clientSecretHash(ctx context.Context, id string) (string, bool) {
	var h string
	if err := f.pg.QueryRow(ctx, `SELECT secret_hash FROM clients WHERE id = $1`, id).Scan(&h); err != nil {
		return "", false
	}
	return h, true
}

// userEmail reads the user's row.
func (f *floor) userEmail(ctx context.Context, id string) (string, bool) {
	var email string
	if err := f.pg.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, id).Scan(&email); err != nil {
		return "", false
	}
	return email, true
}

// seedFloorPostgres creates the floor's schema in the database of dsn,
// stores its client and user unless they are there, and the families,
// streamed with COPY, in grants named grantPrefix and a number.
func seedFloorPostgres(ctx context.Context, dsn string, h *secret.Hasher, grantPrefix, clientID, clientSecret, userID, scope string, fams iter.Seq[[]seedRow], now time.Time) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, floorPostgresSchema); err != nil {
		return fmt.Errorf("floor schema: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO clients (id, secret_hash) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, clientID, h.Hash(clientSecret)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, userID, benchEmail); err != nil {
		return err
	}
	created, expires := now.Add(-time.Hour).UnixMilli(), now.Add(30*24*time.Hour).UnixMilli()
	next, stop := iter.Pull(fams)
	defer stop()
	var (
		fam []seedRow
		id  string
		i   int
	)
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		for len(fam) == 0 {
			var ok bool
			if fam, ok = next(); !ok {
				return nil, nil
			}
			id = fmt.Sprintf("%s%08d", grantPrefix, i)
			i++
		}
		r := fam[0]
		fam = fam[1:]
		var used any
		if r.used {
			used = created
		}
		return []any{r.hash, id, userID, scope, expires, used}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"refresh_tokens"},
		[]string{"hash", "grant_id", "subject", "scope", "expires_at", "used_at"}, rows); err != nil {
		return fmt.Errorf("seeding refresh tokens: %w", err)
	}
	return tx.Commit(ctx)
}

// floorCodesPostgres stores authorization codes with hashes in the running
// floor's database, as the floor's own sign-in would have.
func floorCodesPostgres(ctx context.Context, dsn, subject, scope string, hashes []string, now time.Time) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows := make([][]any, len(hashes))
	for i, h := range hashes {
		rows[i] = []any{h, fmt.Sprintf("grt_code_%d_%d", now.UnixNano(), i), subject, scope, now.Add(10 * time.Minute).UnixMilli()}
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"auth_codes"}, []string{"hash", "grant_id", "subject", "scope", "expires_at"}, pgx.CopyFromRows(rows))
	return err
}

// databaseURL is serverURL with its database replaced by name.
func databaseURL(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", errors.New("-postgres-url: not a URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}
