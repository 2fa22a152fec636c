package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

// Stored refresh tokens are loaded while no server runs, in families of
// familySize tokens, all but the newest already rotated, as a server that has
// been up for a while holds them. Aries's database is filled through its
// store's bulk path (sqlite.Store.ImportGrants: one transaction, many rows
// per statement), so the rows are exactly what Aries writes; the floor's, in
// the floor's own schema, with multi-row INSERTs. Going through Aries's
// endpoints would mean a sign-in (argon2id, ~20 ms) per family and a
// rotation per token: hours for a million rows. The stored tokens' hashes are
// random, since nobody presents them; the tokens the workers use are made
// like any other (secret.New) and hashed with the server's pepper, so the
// server accepts them.
const familySize = 10

// seededFile, in a tier's directory, records what a -keep run seeded, so
// that a -reuse run can measure the same databases again without the
// minutes that seeding ten million tokens takes.
const seededFile = "seeded.json"

// seededTier is what a later run needs to use a seeded tier: the master
// secret the stored hashes and the client secret were made with, the
// bench account, and on PostgreSQL the databases' names.
type seededTier struct {
	Store         string    `json:"store"`
	Stored        int       `json:"stored"`
	Master        string    `json:"master"`
	UserID        string    `json:"user_id"`
	ClientID      string    `json:"client_id"`
	ClientSecret  string    `json:"client_secret"`
	AriesDatabase string    `json:"aries_database,omitempty"` // PostgreSQL; the floor's is its _floor twin
	SeededAt      time.Time `json:"seeded_at"`
}

// loadSeededTier reads the seededFile of dir; nil when there is none.
func loadSeededTier(dir, store string, stored int) (*seededTier, error) {
	b, err := os.ReadFile(filepath.Join(dir, seededFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t seededTier
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, seededFile), err)
	}
	if t.Store != store || t.Stored != stored || t.SeededAt.IsZero() {
		return nil, fmt.Errorf("%s: seeded for %s with %d tokens, not %s with %d", filepath.Join(dir, seededFile), t.Store, t.Stored, store, stored)
	}
	return &t, nil
}

// save writes t into dir, readable by its owner only: it holds the
// master secret of a bench server.
func (t *seededTier) save(dir string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, seededFile), b, 0o600)
}

// reused reports whether t was read from an earlier run.
func (t *seededTier) reused() bool { return !t.SeededAt.IsZero() }

func (t *seededTier) account() account {
	return account{userID: t.UserID, clientID: t.ClientID, clientSecret: t.ClientSecret}
}

func (t *seededTier) setAccount(a account) {
	t.UserID, t.ClientID, t.ClientSecret = a.userID, a.clientID, a.clientSecret
}

// seedRow is one refresh token to store: its hash, and whether it is
// already rotated.
type seedRow struct {
	hash string
	used bool
}

// seedFamilies yields stored refresh tokens in families, then one family
// per worker token (a live token, nothing rotated). The families are made
// as they are consumed, so seeding ten million tokens holds one family in
// memory, not ten million rows; the hashes come from a generator seeded
// with seed.
func seedFamilies(stored int, workerHashes []string, seed uint64) iter.Seq[[]seedRow] {
	return func(yield func([]seedRow) bool) {
		var key [32]byte
		binary.LittleEndian.PutUint64(key[:], seed)
		rng := rand.New(rand.NewChaCha8(key))
		for done := 0; done < stored; {
			n := min(familySize, stored-done)
			fam := make([]seedRow, n)
			for i := range fam {
				fam[i] = seedRow{hash: randomHash(rng), used: i < n-1}
			}
			if !yield(fam) {
				return
			}
			done += n
		}
		for _, h := range workerHashes {
			if !yield([]seedRow{{hash: h}}) {
				return
			}
		}
	}
}

// randomHash has the shape of a secret.Hasher hash: version tag and 43
// base64url characters.
func randomHash(rng *rand.Rand) string {
	var b [32]byte
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return "h1$" + base64.RawURLEncoding.EncodeToString(b[:])
}

// batchInsert inserts rows of len(cols) values each, many rows per
// statement: modernc's SQLite pays per statement, not per row.
type batchInsert struct {
	ctx   context.Context
	tx    *sql.Tx
	head  string
	ncol  int
	batch int
	args  []any
	stmt  *sql.Stmt
}

func newBatchInsert(ctx context.Context, tx *sql.Tx, table string, cols ...string) *batchInsert {
	return &batchInsert{ctx: ctx, tx: tx, head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
		ncol: len(cols), batch: 500}
}

func (b *batchInsert) add(vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) == b.batch*b.ncol {
		return b.flush()
	}
	return nil
}

func (b *batchInsert) sql(rows int) string {
	one := "(" + strings.Repeat("?, ", b.ncol-1) + "?)"
	return b.head + strings.Repeat(one+", ", rows-1) + one
}

func (b *batchInsert) flush() error {
	rows := len(b.args) / b.ncol
	if rows == 0 {
		return nil
	}
	var err error
	if rows == b.batch {
		if b.stmt == nil {
			if b.stmt, err = b.tx.PrepareContext(b.ctx, b.sql(rows)); err != nil {
				return err
			}
		}
		_, err = b.stmt.ExecContext(b.ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(b.ctx, b.sql(rows), b.args...)
	}
	b.args = b.args[:0]
	return err
}

// openForSeeding opens a database file for a bulk load.
func openForSeeding(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, db.PingContext(ctx)
}

// seedAries stores the families in Aries's database at path through the
// store: one grant per family for userID and clientID, with scopes.
func seedAries(ctx context.Context, path, grantPrefix, clientID, userID string, scopes []string, fams iter.Seq[[]seedRow], now time.Time) error {
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.ImportGrants(ctx, ariesFamilies(grantPrefix, clientID, userID, scopes, fams, now)); err != nil {
		return fmt.Errorf("seeding refresh tokens: %w", err)
	}
	return st.Close()
}

// ariesFamilies turns the seeded families into the families Aries's stores
// import: one grant per family for userID and clientID, with scopes, made
// an hour ago, named grantPrefix and a number. (postgres.Family has the same
// fields as sqlite.Family.)
func ariesFamilies(grantPrefix, clientID, userID string, scopes []string, fams iter.Seq[[]seedRow], now time.Time) iter.Seq[sqlite.Family] {
	created, expires := now.Add(-time.Hour), now.Add(30*24*time.Hour)
	return func(yield func(sqlite.Family) bool) {
		i := 0
		for fam := range fams {
			f := sqlite.Family{
				Grant: store.Grant{ID: fmt.Sprintf("%s%08d", grantPrefix, i), ClientID: clientID, UserID: userID, Scopes: scopes,
					AuthTime: created, AMR: []string{"pwd"}, CreatedAt: created, ExpiresAt: now.Add(80 * 24 * time.Hour)},
				Tokens: make([]store.RefreshToken, len(fam)),
			}
			for j, r := range fam {
				f.Tokens[j] = store.RefreshToken{Hash: r.hash, CreatedAt: created, ExpiresAt: expires}
				if r.used {
					f.Tokens[j].UsedAt = created
				}
			}
			if !yield(f) {
				return
			}
			i++
		}
	}
}

// seedFloor stores the same families in the floor's database at path.
func seedFloor(ctx context.Context, path, grantPrefix, subject, scope string, fams iter.Seq[[]seedRow], now time.Time) error {
	db, err := openForSeeding(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=WAL;"+floorSchema); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tokens := newBatchInsert(ctx, tx, "refresh_tokens", "hash", "grant_id", "subject", "scope", "expires_at", "used_at")
	created, expires := now.Add(-time.Hour).UnixMilli(), now.Add(30*24*time.Hour).UnixMilli()
	i := 0
	for fam := range fams {
		id := fmt.Sprintf("%s%08d", grantPrefix, i)
		i++
		for _, r := range fam {
			var used any
			if r.used {
				used = created
			}
			if err := tokens.add(r.hash, id, subject, scope, expires, used); err != nil {
				return fmt.Errorf("seeding refresh tokens: %w", err)
			}
		}
	}
	if err := tokens.flush(); err != nil {
		return fmt.Errorf("seeding refresh tokens: %w", err)
	}
	return tx.Commit()
}

// floorCodes stores authorization codes with hashes in the running floor's
// database, as the floor's own sign-in would have.
func floorCodes(ctx context.Context, path, subject, scope string, hashes []string, now time.Time) error {
	db, err := sql.Open("sqlite", floorDSN(path))
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	codes := newBatchInsert(ctx, tx, "auth_codes", "hash", "grant_id", "subject", "scope", "expires_at")
	for i, h := range hashes {
		if err := codes.add(h, fmt.Sprintf("grt_code_%d_%d", now.UnixNano(), i), subject, scope, now.Add(10*time.Minute).UnixMilli()); err != nil {
			return err
		}
	}
	if err := codes.flush(); err != nil {
		return err
	}
	return tx.Commit()
}
