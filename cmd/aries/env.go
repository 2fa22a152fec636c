package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v3"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/postgres"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

const defaultDatabase = "sqlite:./aries-data/aries.db"

// storeFlags are read by every command (docs/protocol.md#command-line).
func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "db", Value: defaultDatabase, Sources: cli.EnvVars("ARIES_DATABASE_URL"),
			Usage: "the store: sqlite:PATH or postgres://..."},
		&cli.StringFlag{Name: "redis", Sources: cli.EnvVars("ARIES_REDIS_URL"),
			Usage: "redis://[:PASSWORD@]HOST:PORT/DB for rate limits and DPoP proofs shared by several instances (rediss:// for TLS); per-instance limits while it is unreachable, and DPoP requests refused"},
		&cli.StringFlag{Name: "secret", Sources: cli.EnvVars("ARIES_SECRET"),
			Usage: "root secret (32+ random bytes, base64): keys the hashes of secrets and encrypts signing keys. With SQLite and no value, one is kept in secret.key next to the database"},
		&cli.DurationFlag{Name: "db-timeout", Value: store.DefaultTimeout, Sources: cli.EnvVars("ARIES_DB_TIMEOUT"),
			Usage: "the longest any store call may take, the wait for a connection included: past it a request answers 503 with Retry-After"},
		&cli.StringFlag{Name: "log-level", Value: "info", Sources: cli.EnvVars("ARIES_LOG_LEVEL"), Usage: "debug, info, warn or error"},
	}
}

// backend is one database serving both the authorization store and the
// sandbox's ledger; each backend package implements both.
type backend interface {
	store.Store
	ledger.Store
}

// env is what every command works with: the open store and the keys derived
// from the root secret.
type env struct {
	store  backend
	master secret.Master
	hasher *secret.Hasher
	now    func() time.Time
	// redis is the client of --redis, nil without it. It connects on first
	// use, so commands that do not rate-limit never touch Redis.
	redis *redis.Client
}

func withEnv(ctx context.Context, cmd *cli.Command, f func(*env) error) error {
	e, err := openEnv(ctx, cmd)
	if err != nil {
		return err
	}
	defer e.close()
	return f(e)
}

func (e *env) close() {
	if e.redis != nil {
		e.redis.Close()
	}
	e.store.Close()
}

func openEnv(ctx context.Context, cmd *cli.Command) (*env, error) {
	var rdb *redis.Client
	if u := cmd.String("redis"); u != "" {
		c, err := ratelimit.NewRedisClient(u)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		rdb = c
	}
	e, err := openStore(ctx, cmd)
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		return nil, err
	}
	e.redis = rdb
	return e, nil
}

func openStore(ctx context.Context, cmd *cli.Command) (*env, error) {
	dsn := cmd.String("db")
	timeout := cmd.Duration("db-timeout")
	if timeout <= 0 {
		return nil, fmt.Errorf("--db-timeout %v: must be above 0", timeout)
	}
	var st backend
	var secretFile string
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("--db sqlite: needs a path, e.g. sqlite:./aries-data/aries.db")
		}
		s, err := sqlite.Open(ctx, path, sqlite.WithTimeout(timeout))
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", dsn, err)
		}
		st, secretFile = s, filepath.Join(filepath.Dir(path), "secret.key")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if cmd.String("secret") == "" {
			// Instances sharing a database must share the secret that keys
			// its hashes and encrypts its signing keys; there is no local
			// file every instance could find it in.
			return nil, errors.New("--secret / ARIES_SECRET is required with PostgreSQL: give every instance the same value (openssl rand -base64 32)")
		}
		// The DSN can hold a password: it is not repeated in errors.
		s, err := postgres.Open(ctx, dsn, postgres.WithTimeout(timeout))
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		st = s
	default:
		return nil, fmt.Errorf("--db %q: expected sqlite:PATH or postgres://...", dsn)
	}
	master, err := loadMaster(cmd.String("secret"), secretFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &env{
		store:  st,
		master: master,
		hasher: master.Hasher(),
		now:    time.Now,
	}, nil
}

// redisLogger sends go-redis's own messages (its pool's dial failures) to
// the structured log at debug level instead of the standard logger's
// stderr: the limiter's fallback already logs an outage, once.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// loadMaster parses the configured root secret, or for an embedded store
// reads (creating it on first use) a file beside the database, so that a
// newcomer's first `aries serve` needs no setup.
func loadMaster(configured, file string) (secret.Master, error) {
	if configured != "" {
		m, err := secret.ParseMaster(configured)
		if err != nil {
			return secret.Master{}, fmt.Errorf("--secret / ARIES_SECRET: %w", err)
		}
		return m, nil
	}
	b, err := os.ReadFile(file)
	if err == nil {
		m, err := secret.ParseMaster(string(b))
		if err != nil {
			return secret.Master{}, fmt.Errorf("%s: %w", file, err)
		}
		return m, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return secret.Master{}, err
	}
	m, encoded := secret.NewMaster()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return secret.Master{}, err
	}
	// O_EXCL: two commands starting at once must not both write a secret.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadMaster("", file)
	}
	if err != nil {
		return secret.Master{}, err
	}
	if _, err := f.WriteString(encoded + "\n"); err != nil {
		f.Close()
		return secret.Master{}, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return secret.Master{}, err
	}
	return m, f.Close()
}

func (e *env) client(ctx context.Context, id string) (store.Client, error) {
	c, err := e.store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fmt.Errorf("no client %q", id)
	}
	return c, err
}

// createUser validates and stores a new user.
func createUser(ctx context.Context, e *env, email, pw string, admin, emailVerified bool) (store.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if at := strings.IndexByte(email, '@'); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n") {
		return store.User{}, fmt.Errorf("%q is not an email address", email)
	}
	hash, err := password.NewHasher(password.DefaultParams).Hash(ctx, pw)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{ID: secret.ID("usr_"), Email: email, PasswordHash: hash, Admin: admin, CreatedAt: e.now(), EmailVerified: emailVerified}
	if err := e.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, fmt.Errorf("a user with email %s already exists", email)
		}
		return store.User{}, err
	}
	return u, nil
}
