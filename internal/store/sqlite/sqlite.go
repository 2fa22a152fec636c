package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/clientcache"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by one SQLite database file.
type Store struct {
	db *sql.DB
	// writer admits one write (statement or transaction) of this process
	// at a time, in arrival order. SQLite allows one writer anyway; without
	// the queue, writers that find the database locked sleep in SQLite's
	// busy handler with growing back-off, and under load an unlucky one
	// waits seconds while others keep winning (BenchmarkRotateRefreshToken-
	// Parallel, 16 goroutines, 2 cores: max 1.8-3.7 s without the queue,
	// 10-50 ms with it). Correctness does not depend on it:
	// the SQL is conditional and the busy timeout still arbitrates between
	// processes sharing the file (the CLI next to a running server).
	writer chan struct{}
	// timeout bounds the waits of a store call: its turn in the writer
	// queue, and (as busy_timeout) SQLite's wait for another process's
	// write lock. A file on a local disk cannot hang the way a network
	// connection does; these lock waits are what can make a call slow.
	timeout time.Duration
	// group shares commits among refresh token rotations and code
	// redemptions (group.go).
	group group
	hot   hotStmts
	// clientCache keeps client rows between requests; clientSignal, a file
	// beside the database, tells every process using it when a client
	// changed (package clientcache).
	clientCache  *clientcache.Cache
	clientSignal *clientcache.FileSignal
}

var _ store.Store = (*Store)(nil)

// Option changes how Open sets up the store.
type Option func(*options)

type options struct {
	timeout time.Duration
}

// WithTimeout bounds each wait of a store call (see Store.timeout) to d
// instead of store.DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// pragmas are applied by the driver to every new connection. busy_timeout
// (set by Open to the store's timeout) makes a writer wait for the write
// lock instead of failing, for that long at most; WAL lets readers
// run alongside the writer; synchronous=FULL fsyncs the WAL at every commit,
// so a committed token survives SIGKILL and power loss; foreign_keys makes the
// ON DELETE CASCADE clauses of the schema take effect. cache_size bounds each
// connection's page cache to 512 KiB instead of SQLite's 2 MiB: the hot pages
// of a rotation (index interiors, the tail of the WAL) fit, the rest is one
// read from the kernel's page cache away, and the server's peak RSS drops by
// 2-3 MiB (aries-bench, refresh_token and introspection; BENCHMARKS.md).
// _txlock=immediate takes the write lock at BEGIN: a deferred transaction that
// reads and then writes cannot wait for the lock and fails with SQLITE_BUSY at
// once.
var pragmas = url.Values{
	"_pragma": {
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(1)",
		"cache_size(-512)",
	},
	"_txlock": {"immediate"},
}

// Open opens (creating if needed) the database file at path, creating its
// parent directory, and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{timeout: store.DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	// The driver splits the DSN at the first '?'.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: database path %q contains '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Create the file ourselves so that it, and the -wal and -shm files
	// SQLite derives from its mode, are readable by the owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	dsn := url.Values{"_txlock": pragmas["_txlock"]}
	dsn["_pragma"] = append([]string{fmt.Sprintf("busy_timeout(%d)", o.timeout.Milliseconds())}, pragmas["_pragma"]...)
	db, err := sql.Open("sqlite", path+"?"+dsn.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// WAL serves many readers at once; writers queue on the busy timeout.
	// Idle connections are kept so the pragmas run once per connection, not
	// once per request.
	n := 2*runtime.GOMAXPROCS(0) + 2
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)

	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	hot, err := prepareHot(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	signal, err := clientcache.OpenFile(path + "-clients")
	if err != nil {
		hot.close()
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return &Store{
		db: db, writer: make(chan struct{}, 1), timeout: o.timeout, hot: hot,
		clientCache: clientcache.New(signal), clientSignal: signal,
	}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes the database. Committed data is already on disk.
func (s *Store) Close() error {
	s.hot.close()
	return errors.Join(s.db.Close(), s.clientSignal.Close())
}

// lockWrite waits for this process's turn to write (see Store.writer), at
// most the store's timeout.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.writer <- struct{}{}:
		return nil
	default:
	}
	wait := time.NewTimer(s.timeout)
	defer wait.Stop()
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-wait.C:
		return fmt.Errorf("sqlite: waiting to write: %w", context.DeadlineExceeded)
	case <-ctx.Done():
		return fmt.Errorf("sqlite: waiting to write: %w", ctx.Err())
	}
}

func (s *Store) unlockWrite() { <-s.writer }

// exec runs one writing statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.lockWrite(ctx); err != nil {
		return nil, err
	}
	defer s.unlockWrite()
	return s.db.ExecContext(ctx, query, args...)
}

// inTx runs fn in one (immediate) transaction and commits it if fn returns
// nil or an error wrapping one of keep: the sentinels whose writes must stick,
// such as the grant revocation that comes with ErrCodeReused.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error, keep ...error) error {
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
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
	if cerr := tx.Commit(); cerr != nil {
		return fmt.Errorf("sqlite: commit: %w", cerr)
	}
	return err
}

// dbErr translates driver errors into store sentinels.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w", op, store.ErrConflict)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(op string, res sql.Result, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Times are stored as unix milliseconds; the zero time.Time is NULL. A
// column that must always hold a time is NOT NULL in the schema, so a zero
// value there is refused rather than stored as a sentinel.

func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// Lists are stored as JSON arrays: unlike a space-joined string they keep
// every character of a redirect URI and need no escaping rules of our own.
// nil and empty lists are both stored as [] and read back as nil.

func list(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Marshalling a []string cannot fail.
		panic(err)
	}
	return string(b)
}

func fromList(s string) ([]string, error) {
	if v, ok := simpleList(s); ok {
		return v, nil
	}
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("sqlite: corrupt list %q: %w", s, err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
