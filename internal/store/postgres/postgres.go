package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/clientcache"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by a PostgreSQL database, shared by every
// instance of Aries that names it.
type Store struct {
	pool *boundedPool
	// clientCache keeps client rows between requests; clientSignal moves
	// its epoch when any instance changes a client (clientsignal.go).
	clientCache  *clientcache.Cache
	clientSignal *clientSignal
}

var _ store.Store = (*Store)(nil)

// DefaultMaxConns is the size of an instance's connection pool unless the
// DSN sets pool_max_conns.
const DefaultMaxConns = 16

// Option changes how Open sets up the store.
type Option func(*options)

type options struct {
	timeout time.Duration
}

// WithTimeout bounds every store call, the wait for a pooled connection
// included, to d (store.DefaultTimeout otherwise); see boundedPool.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// Open connects to the database of dsn (a postgres:// URL or key=value
// string, as libpq takes) and brings its schema up to date.
//
// Several instances may start at once: goose holds a PostgreSQL advisory lock
// while it migrates, so one migrates and the others wait, then find nothing
// left to do. A search_path in the DSN (…?search_path=aries) puts the tables
// in that schema.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{timeout: store.DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The error can quote the DSN, password included: say less.
		return nil, errors.New("postgres: cannot parse the database URL")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgx's default (4 on a small machine) makes requests queue for a
		// connection while a few wait on row locks; 16 per instance leaves
		// room for several instances within PostgreSQL's default
		// max_connections of 100.
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A dead server must fail a request within the request, not hang
		// it: the handlers answer 503 and the client retries. The store
		// call's deadline (boundedPool) bounds the wait as well; this one
		// covers connections the pool opens in the background.
		cfg.ConnConfig.ConnectTimeout = max(o.timeout, 5*time.Second)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Migrating is not a store call: instances starting together wait
	// their turn for goose's lock for minutes, not for the call deadline.
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return newStore(&boundedPool{Pool: pool, timeout: o.timeout}), nil
}

func newStore(pool *boundedPool) *Store {
	s := &Store{pool: pool}
	s.clientSignal = newClientSignal(s)
	s.clientCache = clientcache.New(s.clientSignal)
	return s
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Instances starting together poll the lock every second, for up to
	// five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// Close closes every connection. Committed data is in the database.
func (s *Store) Close() error {
	s.clientSignal.close()
	s.pool.Close()
	return nil
}

// inTx runs fn in one transaction (READ COMMITTED: the single-use rules are
// conditional UPDATEs, which re-check their condition on the row a
// concurrent transaction committed) and commits it if fn returns nil or an
// error wrapping one of keep: the sentinels whose writes must stick, such as
// the grant revocation that comes with ErrCodeReused.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error, keep ...error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(ctx) // no-op after Commit
	err = fn(tx)
	commit := err == nil
	for _, k := range keep {
		if errors.Is(err, k) {
			commit = true
		}
	}
	if !commit {
		return err
	}
	if cerr := tx.Commit(ctx); cerr != nil {
		return fmt.Errorf("postgres: commit: %w", cerr)
	}
	return err
}

// dbErr translates driver errors into store sentinels.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return fmt.Errorf("postgres: %s: %w", op, store.ErrConflict)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Times are kept to the millisecond, as the SQLite store keeps them, so the
// two backends decide every expiry alike; the zero time.Time is NULL. A
// column that must always hold a time is NOT NULL in the schema, so a zero
// value there is refused rather than stored as a sentinel.

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Truncate(time.Millisecond)
}

func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

// Lists are text[]: nil and empty lists are both stored as '{}' and read
// back as nil.

func list(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func fromList(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}
