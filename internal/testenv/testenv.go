// Package testenv builds what Aries' tests share: a fresh store (SQLite in
// a temporary directory, or PostgreSQL through package pgtest), a settable
// clock, the keyed hasher of secrets, cheap password hashing, a signing
// keyring, and users, clients and grants stored as the command line and
// the endpoints store them. Each package's tests add only what is their
// own: the handler under test, mounted on an httptest server.
//
// It imports no handler package, so every handler's own tests may use it;
// the packages it does import (store, keys, password, secret, testclock)
// keep their own small fixtures.
package testenv

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/postgres"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/store/sqlite"
	"github.com/ariesexchange/aries/internal/testclock"
)

// Backend is one database serving the authorization store and the
// sandbox's ledger, as each backend package does.
type Backend interface {
	store.Store
	ledger.Store
}

// Password is the password of every user New and User make unless told
// otherwise.
const Password = "correct horse battery"

// Issuer is the issuer, and the audience, that tests give the handlers
// and minters they build, unless a test needs its own.
const Issuer = "http://aries.test"

// Env is one test's world. Its fields are ready when New returns.
type Env struct {
	T     testing.TB
	Store Backend
	Clock *testclock.Clock
	// Master is the root secret. Hasher and Keyring use the keys derived
	// from it, so a server built over Store with Master (server.New) reads
	// what the test stored and signs with the keys Keyring opens.
	Master    secret.Master
	Hasher    *secret.Hasher   // Master's: hashes client secrets, codes and tokens
	Passwords *password.Hasher // cheap argon2 (password.TestParams)
	// User is a user with the password Password.
	User store.User

	publishFor time.Duration
	ringOnce   sync.Once
	ring       *keys.Keyring

	mu     sync.Mutex
	hashes map[string]string // password -> its hash, made once
}

type config struct {
	postgres   bool
	start      time.Time
	publishFor time.Duration
	user       bool
}

// Option changes what New builds.
type Option func(*config)

// Postgres puts the store on a fresh PostgreSQL database (pgtest.Database):
// the test is skipped without ARIES_TEST_POSTGRES_URL, and fails in CI.
func Postgres() Option { return func(c *config) { c.postgres = true } }

// At starts the clock at t instead of the current second. Tests of TOTP
// pick a time inside a step; tests whose store stamps rows with the
// database's own clock (revoked access tokens) keep the default.
func At(t time.Time) Option { return func(c *config) { c.start = t } }

// PublishFor is how long Keyring keeps a retired public key published
// (default an hour).
func PublishFor(d time.Duration) Option { return func(c *config) { c.publishFor = d } }

// NoUser leaves the store without Env.User.
func NoUser() Option { return func(c *config) { c.user = false } }

// New builds an Env and closes its store when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := config{
		start:      time.Now().UTC().Truncate(time.Second),
		publishFor: time.Hour,
		user:       true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	master, _ := secret.NewMaster()
	e := &Env{
		T:          t,
		Store:      Open(t, cfg.postgres),
		Clock:      testclock.New(cfg.start),
		Master:     master,
		Hasher:     master.Hasher(),
		Passwords:  password.NewHasher(password.TestParams),
		publishFor: cfg.publishFor,
		hashes:     map[string]string{},
	}
	if cfg.user {
		e.User = e.NewUser(store.User{ID: "usr_trader", Email: "trader@example.com"}, Password)
	}
	return e
}

// Open returns an empty store, closed when the test ends: SQLite in a
// temporary directory, or with pg a fresh PostgreSQL database.
func Open(t testing.TB, pg bool) Backend {
	t.Helper()
	ctx := context.Background()
	var (
		st  Backend
		err error
	)
	if pg {
		st, err = postgres.Open(ctx, pgtest.Database(t))
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "aries.db"))
	}
	if err != nil {
		t.Fatalf("testenv: opening the store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Now is the clock's time.
func (e *Env) Now() time.Time { return e.Clock.Now() }

// Keyring opens (at the first call) the signing keys in the store,
// creating the first key if there is none, at the Env's clock.
func (e *Env) Keyring() *keys.Keyring {
	e.ringOnce.Do(func() {
		ring, err := keys.Open(context.Background(), e.Store, e.Master.Keys().KeyEncryption, e.publishFor, e.Clock.Now)
		if err != nil {
			e.T.Fatalf("testenv: opening the keyring: %v", err)
		}
		e.ring = ring
	})
	if e.ring == nil {
		e.T.Fatal("testenv: the keyring failed to open")
	}
	return e.ring
}

// PasswordHash returns the argon2 hash of pw, computed once per Env.
func (e *Env) PasswordHash(pw string) string {
	e.T.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if h, ok := e.hashes[pw]; ok {
		return h
	}
	h, err := e.Passwords.Hash(context.Background(), pw)
	if err != nil {
		e.T.Fatal(err)
	}
	e.hashes[pw] = h
	return h
}

// NewUser stores u with password pw (no password when pw is ""). An empty
// ID gets a fresh usr_ id, an empty Email one made from the ID, a zero
// CreatedAt the clock's time.
func (e *Env) NewUser(u store.User, pw string) store.User {
	e.T.Helper()
	if u.ID == "" {
		u.ID = secret.ID("usr_")
	}
	if u.Email == "" {
		u.Email = strings.TrimPrefix(u.ID, "usr_") + "@example.com"
	}
	if u.PasswordHash == "" {
		u.PasswordHash = "x" // matches no password
		if pw != "" {
			u.PasswordHash = e.PasswordHash(pw)
		}
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = e.Now()
	}
	if err := e.Store.CreateUser(context.Background(), u); err != nil {
		e.T.Fatalf("testenv: creating user %s: %v", u.Email, err)
	}
	return u
}

// NewClient stores c and returns it with its secret. An empty ID gets a
// fresh aries_ci_ id, an empty Name the ID, no redirect URIs
// https://app.example/cb, zero times the clock's; a confidential client
// without a SecretHash gets a fresh secret, returned once as the CLI
// prints it ("" for a public client or a given hash).
func (e *Env) NewClient(c store.Client) (store.Client, string) {
	e.T.Helper()
	if c.ID == "" {
		c.ID = secret.ID(secret.ClientIDPrefix)
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if c.Type == "" {
		c.Type = store.Confidential
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{"https://app.example/cb"}
	}
	var sec string
	if c.Type == store.Confidential && c.SecretHash == "" {
		sec = secret.New(secret.ClientSecretPrefix)
		c.SecretHash = e.Hasher.Hash(sec)
	}
	now := e.Now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if err := e.Store.CreateClient(context.Background(), c); err != nil {
		e.T.Fatalf("testenv: creating client %s: %v", c.ID, err)
	}
	return c, sec
}

// Scopes expands a space-separated list of scopes and bundles ("read
// trade") as the command line and the authorization endpoint do.
func Scopes(t testing.TB, list string) []string {
	t.Helper()
	s, err := scope.Expand(strings.Fields(list))
	if err != nil {
		t.Fatalf("testenv: scopes %q: %v", list, err)
	}
	return s
}

// Code is what an authorization code carries from the authorization
// endpoint to the token endpoint.
type Code struct {
	ClientID    string
	UserID      string
	RedirectURI string // "" as after a first-party sign-in
	Scopes      []string
	Challenge   string        // S256 PKCE challenge, "" for none
	AMR         []string      // default ["pwd"]
	AuthTime    time.Time     // default now
	TTL         time.Duration // the code's lifetime, default a minute
	GrantTTL    time.Duration // the grant's absolute lifetime, default 90 days
	Nonce       string        // the OpenID Connect nonce of the request, "" for none
	SessionID   string        // the sid of the browser session, "" for none
	DPoPJKT     string        // the dpop_jkt the code is bound to (RFC 9449 section 10), "" for none
}

// IssueCode stores a code and its not yet used grant, as the authorization
// endpoint does once a user has approved, and returns the code and the
// grant's id.
func (e *Env) IssueCode(c Code) (code, grantID string) {
	e.T.Helper()
	now := e.Now()
	if c.AMR == nil {
		c.AMR = []string{"pwd"}
	}
	if c.AuthTime.IsZero() {
		c.AuthTime = now
	}
	if c.TTL == 0 {
		c.TTL = time.Minute
	}
	if c.GrantTTL == 0 {
		c.GrantTTL = 90 * 24 * time.Hour
	}
	g := store.Grant{ID: secret.ID("grt_"), ClientID: c.ClientID, UserID: c.UserID, Scopes: c.Scopes,
		AuthTime: c.AuthTime, AMR: c.AMR, CreatedAt: now, ExpiresAt: now.Add(c.GrantTTL), SessionID: c.SessionID}
	code = secret.New(secret.CodePrefix)
	ac := store.AuthCode{Hash: e.Hasher.Hash(code), GrantID: g.ID, ClientID: c.ClientID, UserID: c.UserID,
		RedirectURI: c.RedirectURI, Scopes: c.Scopes, AuthTime: c.AuthTime, AMR: c.AMR,
		CreatedAt: now, ExpiresAt: now.Add(c.TTL), Nonce: c.Nonce, SessionID: c.SessionID}
	if c.Challenge != "" {
		ac.CodeChallenge, ac.CodeChallengeMethod = c.Challenge, "S256"
	}
	ac.DPoPJKT = c.DPoPJKT
	if err := e.Store.CreateAuthCode(context.Background(), ac, g); err != nil {
		e.T.Fatalf("testenv: creating a code: %v", err)
	}
	return code, g.ID
}

// Grant is a live grant with its first refresh token, as a code exchange
// leaves it.
type Grant struct {
	ID           string
	RefreshToken string
	Scopes       []string
}

// NewGrant issues a code for c and redeems it for a refresh token that
// lives an hour, without the token endpoint: for tests of what comes
// after (introspection, revocation, the API).
func (e *Env) NewGrant(c Code) Grant {
	e.T.Helper()
	code, grantID := e.IssueCode(c)
	now := e.Now()
	refresh := secret.New(secret.RefreshPrefix)
	rt := store.RefreshToken{Hash: e.Hasher.Hash(refresh), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, err := e.Store.RedeemAuthCode(context.Background(), e.Hasher.Hash(code), rt, now); err != nil {
		e.T.Fatalf("testenv: redeeming a code: %v", err)
	}
	return Grant{ID: grantID, RefreshToken: refresh, Scopes: c.Scopes}
}
