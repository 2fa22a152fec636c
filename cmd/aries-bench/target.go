package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
)

// benchScopes are the scopes of the bench client and of every seeded grant:
// the "read" bundle, which includes user:information for GET /v1/users/me.
var benchScopes = []string{"account:information", "analytics:information", "calendar:information",
	"market:information", "market:supplemental", "options:information", "order:information",
	"position:information", "user:information"}

const (
	benchEmail    = "bench@example.com"
	benchPassword = "bench password, not a secret"
	// poolExtra is how many live refresh tokens each server gets beyond
	// one per worker: spares for workers whose chain breaks (a failed
	// request may have spent the token it carried).
	poolExtra = 64
)

// target is one server under test with the credentials to call it.
type target struct {
	name         string // "aries" or "floor"
	p            *proc
	base         string
	store        string // "sqlite" or "postgres"
	dbPath       string // SQLite file, or PostgreSQL URL
	db           *pgCPU // PostgreSQL's CPU for this server's database; nil on SQLite
	client       *http.Client
	clientID     string
	clientSecret string
	userID       string
	hasher       *secret.Hasher

	mu      sync.Mutex
	pool    []string // spare live refresh tokens
	refresh []string // the refresh token each worker holds
	access  []string // an access token per worker, for the API and introspection

	// codes makes n authorization codes the way the server's users get them.
	codes func(ctx context.Context, n int) ([]string, error)
	// cli runs the aries command line on this server's database (Aries
	// only): cases register the clients they need with it (fapi.go).
	cli func(ctx context.Context, stdin string, args ...string) ([]byte, error)
}

// world is what one tier (a store and a number of stored tokens) runs
// against.
type world struct {
	store string
	aries *target
	floor *target
	// ariesLogged is a second Aries on the same database that writes one
	// access log line per request; started only for logged cases.
	ariesLogged *target
	// dbs are the tier's PostgreSQL databases, nil on SQLite.
	dbs  *benchDatabases
	keep bool
}

// account is the bench user and client, made with the aries CLI.
type account struct {
	userID       string
	clientID     string
	clientSecret string
}

// setupWorld prepares fresh databases for both servers on store (in dir
// for SQLite, on the server of -postgres-url for PostgreSQL), seeds them
// with stored refresh tokens and starts both servers.
func setupWorld(ctx context.Context, o options, bin, store, dir string, stored int, logf func(string, ...any)) (w *world, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w = &world{store: store, keep: o.keep}
	defer func() {
		if err != nil {
			w.stop()
		}
	}()
	var tier *seededTier
	if o.reuse {
		if tier, err = loadSeededTier(dir, store, stored); err != nil {
			return w, err
		}
	}
	if tier != nil {
		logf("reusing the databases seeded on %s with %d refresh tokens (plus what earlier runs rotated)", tier.SeededAt.Format(time.DateTime), stored)
	} else {
		_, master := secret.NewMaster()
		tier = &seededTier{Store: store, Stored: stored, Master: master}
	}
	m, err := secret.ParseMaster(tier.Master)
	if err != nil {
		return w, err
	}
	hasher := m.Hasher()
	ariesDB, floorDB := filepath.Join(dir, "aries.db"), filepath.Join(dir, "floor.db")
	ariesDSN := "sqlite:" + ariesDB
	if store == "postgres" {
		if tier.reused() {
			w.dbs, err = benchDatabasesNamed(o.postgresURL, tier.AriesDatabase)
		} else {
			w.dbs, err = createBenchDatabases(ctx, o.postgresURL)
		}
		if err != nil {
			return w, err
		}
		logf("PostgreSQL databases %s (Aries) and %s (floor)", w.dbs.ariesName, w.dbs.floorName)
		ariesDB, floorDB = w.dbs.aries, w.dbs.floor
		ariesDSN = ariesDB
		tier.AriesDatabase = w.dbs.ariesName
	}
	acct := tier.account()
	if !tier.reused() {
		if acct, err = createAccount(ctx, bin, ariesDSN, tier.Master); err != nil {
			return w, err
		}
	}

	nPool := o.concurrency + poolExtra
	ariesPool, ariesHashes := workerTokens(hasher, nPool)
	floorPool, floorHashes := workerTokens(hasher, nPool)
	now := time.Now()
	// Each database gets stored tokens of its own, the same for every
	// run with this count; a reused tier gets only its workers' tokens, in
	// grants of a name of their own.
	toSeed, grantPrefix := stored, "grt_bench_"
	if tier.reused() {
		toSeed, grantPrefix = 0, fmt.Sprintf("grt_bench_%d_", now.UnixNano())
	}
	ariesFams, floorFams := seedFamilies(toSeed, ariesHashes, uint64(stored)<<1), seedFamilies(toSeed, floorHashes, uint64(stored)<<1|1)
	scope := strings.Join(benchScopes, " ")
	if store == "postgres" {
		if err := seedAriesPostgres(ctx, ariesDB, grantPrefix, acct.clientID, acct.userID, benchScopes, ariesFams, now); err != nil {
			return w, fmt.Errorf("seeding Aries: %w", err)
		}
		ariesTook := time.Since(now)
		if err := seedFloorPostgres(ctx, floorDB, hasher, grantPrefix, acct.clientID, acct.clientSecret, acct.userID, scope, floorFams, now); err != nil {
			return w, fmt.Errorf("seeding the floor: %w", err)
		}
		logf("seeded %d stored refresh tokens (+%d live worker tokens) into each database: Aries's in %v, the floor's in %v",
			toSeed, nPool, ariesTook.Round(time.Millisecond), (time.Since(now) - ariesTook).Round(time.Millisecond))
		// This server's autovacuum may be off (it is on the bench machine):
		// vacuum and analyze what was loaded, as a server that has been up
		// for a while would have, so no measured request sets hint bits or
		// is planned without statistics.
		vacuumed := time.Now()
		for _, dsn := range []string{ariesDB, floorDB} {
			if err := execOn(ctx, dsn, "VACUUM (ANALYZE)"); err != nil {
				return w, err
			}
		}
		logf("vacuumed and analyzed both databases in %v", time.Since(vacuumed).Round(time.Millisecond))
	} else {
		if err := seedAries(ctx, ariesDB, grantPrefix, acct.clientID, acct.userID, benchScopes, ariesFams, now); err != nil {
			return w, fmt.Errorf("seeding Aries: %w", err)
		}
		if err := seedFloor(ctx, floorDB, grantPrefix, acct.userID, scope, floorFams, now); err != nil {
			return w, fmt.Errorf("seeding the floor: %w", err)
		}
		logf("seeded %d stored refresh tokens (+%d live worker tokens) into each database in %v",
			toSeed, nPool, time.Since(now).Round(time.Millisecond))
	}
	if o.keep && !tier.reused() {
		tier.setAccount(acct)
		tier.SeededAt = now
		if err := tier.save(dir); err != nil {
			return w, err
		}
	}
	// Write back what seeding left dirty before anything is measured:
	// gigabytes at ten million tokens, whose write-back otherwise shares the
	// disk with the measured commits (a 10M run without this measured both
	// servers at 4-5 times their 10k p50, the floor worse than Aries). On
	// PostgreSQL a checkpoint first writes the server's own dirty buffers.
	flushed := time.Now()
	if store == "postgres" {
		for _, dsn := range []string{ariesDB, floorDB} {
			if err := execOn(ctx, dsn, "CHECKPOINT"); err != nil {
				logf("no checkpoint before measuring (%v): PostgreSQL may write back the seeding during the runs", err)
				break
			}
		}
	}
	syscall.Sync()
	logf("wrote the seeded databases back to disk in %v", time.Since(flushed).Round(time.Millisecond))
	// Then read both databases once, so that both servers start as servers
	// that have been up a while: with their data in the kernel's page
	// cache. Without it the stored tokens' pages are wherever the kernel
	// left them (on the bench machine it kept 0.6 of 3.5 GB of a 10M
	// database cached after other tiers ran), and a tier measures the disk.
	warmed := time.Now()
	if err := warmDatabases(ctx, store, ariesDB, floorDB); err != nil {
		logf("databases not read into memory before measuring (%v)", err)
	} else {
		logf("read the databases into the page cache in %v", time.Since(warmed).Round(time.Millisecond))
	}

	newTarget := func(name string, p *proc, db string, pool []string) *target {
		return &target{
			name: name, p: p, base: "http://" + p.addr, store: store, dbPath: db, client: newHTTPClient(o.concurrency),
			clientID: acct.clientID, clientSecret: acct.clientSecret, userID: acct.userID, hasher: hasher,
			pool: pool, refresh: make([]string, o.concurrency), access: make([]string, o.concurrency),
		}
	}
	p, err := startAries(ctx, bin, ariesDSN, tier.Master, o.ariesFlags, filepath.Join(dir, "aries.log"))
	if err != nil {
		return w, err
	}
	w.aries = newTarget("aries", p, ariesDB, ariesPool)
	w.aries.cli = ariesCLI(bin, ariesDSN, tier.Master)
	w.aries.codes = w.aries.firstPartyCodes
	if slices.ContainsFunc(o.cases, func(c benchCase) bool { return c.logged }) {
		// Both instances run at the level of production (info); the first
		// writes no request lines because its level is error.
		flags := append(slices.Clone(o.ariesFlags), "--log-level", "info", "--access-log")
		lp, err := startAries(ctx, bin, ariesDSN, tier.Master, flags, filepath.Join(dir, "aries-access.log"))
		if err != nil {
			return w, err
		}
		w.ariesLogged = newTarget("aries", lp, ariesDB, ariesPool)
	}
	cfg := floorConfig{DB: floorDB, Master: tier.Master, ClientID: acct.clientID,
		ClientSecret: acct.clientSecret, Issuer: "http://floor.invalid"}
	if store == "postgres" {
		cfg.DB, cfg.Postgres = "", floorDB
	}
	if p, err = startFloor(ctx, cfg, filepath.Join(dir, "floor.log")); err != nil {
		return w, err
	}
	w.floor = newTarget("floor", p, floorDB, floorPool)
	w.floor.codes = w.floor.floorCodes
	if store == "postgres" {
		if w.aries.db, err = newPGCPU(ctx, o.postgresURL, w.dbs.ariesName); err != nil {
			return w, err
		}
		if w.floor.db, err = newPGCPU(ctx, o.postgresURL, w.dbs.floorName); err != nil {
			return w, err
		}
		if w.aries.db.snapshot(ctx) == nil {
			logf("PostgreSQL's processes are not on this machine: its CPU per request is not measured")
		}
	}
	return w, nil
}

// warmDatabases reads both servers' databases into the kernel's page
// cache: on SQLite the files, on PostgreSQL every table and index through
// pg_prewarm's read mode (the extension is created in each database).
func warmDatabases(ctx context.Context, store string, dbs ...string) error {
	for _, db := range dbs {
		if store == "postgres" {
			if err := execOn(ctx, db, `CREATE EXTENSION IF NOT EXISTS pg_prewarm`); err != nil {
				return err
			}
			if err := execOn(ctx, db, `SELECT pg_prewarm(c.oid::regclass, 'read') FROM pg_class c
			  WHERE c.relkind IN ('r', 'i') AND c.relnamespace = 'public'::regnamespace`); err != nil {
				return err
			}
			continue
		}
		for _, path := range []string{db, db + "-wal"} {
			f, err := os.Open(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// createAccount makes the bench user and a first-party confidential client
// with the aries CLI, as an operator would; it also creates and migrates
// the database.
func createAccount(ctx context.Context, bin, dsn, master string) (account, error) {
	run := ariesCLI(bin, dsn, master)
	cli := func(stdin string, args ...string) ([]byte, error) { return run(ctx, stdin, args...) }
	out, err := cli(benchPassword+"\n", "users", "create", "--email", benchEmail, "--password-stdin", "--json")
	if err != nil {
		return account{}, err
	}
	var user struct{ ID string }
	if err := json.Unmarshal(out, &user); err != nil {
		return account{}, fmt.Errorf("users create: %w", err)
	}
	out, err = cli("", "clients", "create", "--name", "bench", "--first-party",
		"--redirect-uri", "http://127.0.0.1:9/cb", "--scope", strings.Join(benchScopes, " "), "--json")
	if err != nil {
		return account{}, err
	}
	var client struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out, &client); err != nil {
		return account{}, fmt.Errorf("clients create: %w", err)
	}
	return account{userID: user.ID, clientID: client.ClientID, clientSecret: client.ClientSecret}, nil
}

// ariesCLI returns a runner of the aries command line on dsn: it gives
// stdin to the command and returns what it prints.
func ariesCLI(bin, dsn, master string) func(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	return func(ctx context.Context, stdin string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--db", dsn, "--log-level", "error"}, args...)...)
		cmd.Env = append(os.Environ(), "ARIES_SECRET="+master)
		cmd.Stdin = strings.NewReader(stdin)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("aries %s: %v: %s", strings.Join(args, " "), err, errOut.String())
		}
		return out, nil
	}
}

// startAries runs `aries serve` on a free loopback port, with its runtime
// profiles on another, and codes that live long enough to be made before
// a measurement and spent during it.
func startAries(ctx context.Context, bin, dsn, master string, flags []string, logPath string) (*proc, error) {
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// Metrics are still counted, as in production; their listener takes a
	// free port so that it cannot collide with an aries already running.
	args := append([]string{"--db", dsn, "--log-level", "error", "serve", "--addr", "127.0.0.1:0",
		"--code-ttl", "10m", "--pprof-addr", pprofAddr, "--metrics-addr", "127.0.0.1:0"}, flags...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "ARIES_SECRET="+master)
	p, err := start("aries", cmd, "Aries is listening on ", logPath)
	if err != nil {
		return nil, err
	}
	p.pprof = pprofAddr
	return p, nil
}

// startFloor runs this same program in its floor role (see floorEnv).
func startFloor(ctx context.Context, cfg floorConfig, logPath string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if cfg.PprofAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	cfg.Addr = "127.0.0.1:0"
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), floorEnv+"="+string(raw))
	p, err := start("floor", cmd, "floor listening on ", logPath)
	if err != nil {
		return nil, err
	}
	p.pprof = cfg.PprofAddr
	return p, nil
}

// stop stops both servers and drops the tier's PostgreSQL databases,
// unless -keep.
func (w *world) stop() error {
	var errs []error
	ctx := context.Background()
	for _, t := range []*target{w.aries, w.floor, w.ariesLogged} {
		if t != nil {
			errs = append(errs, t.p.stop())
			if t.db != nil {
				t.db.close(ctx)
			}
		}
	}
	if w.dbs != nil && !w.keep {
		errs = append(errs, w.dbs.drop(ctx))
	}
	return errors.Join(errs...)
}

// workerTokens makes n refresh tokens and their hashes.
func workerTokens(h *secret.Hasher, n int) (tokens, hashes []string) {
	for range n {
		t := secret.New(secret.RefreshPrefix)
		tokens = append(tokens, t)
		hashes = append(hashes, h.Hash(t))
	}
	return tokens, hashes
}

// errPoolEmpty: every spare refresh token is spent.
var errPoolEmpty = errors.New("no live refresh token left in the pool")

// refreshToken returns the token worker w rotates, taking a spare when
// its chain broke.
func (t *target) refreshToken(w int) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refresh[w] == "" {
		if len(t.pool) == 0 {
			return "", errPoolEmpty
		}
		t.refresh[w], t.pool = t.pool[len(t.pool)-1], t.pool[:len(t.pool)-1]
	}
	return t.refresh[w], nil
}

func (t *target) setRefreshToken(w int, tok string) {
	t.mu.Lock()
	t.refresh[w] = tok
	t.mu.Unlock()
}

// tokenResponse is the part of a token response the bench reads.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// rotate sends one refresh_token grant for worker w and keeps the new
// refresh token. It returns the HTTP status (statusBadAnswer for a 200
// without tokens, 0 for a transport error) and the access token.
func (t *target) rotate(ctx context.Context, w int) (int, string) {
	old, err := t.refreshToken(w)
	if err != nil {
		return statusNoToken, ""
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old},
		"client_id": {t.clientID}, "client_secret": {t.clientSecret}}
	resp, err := t.postForm(ctx, "/v1/oauth2/token", form, false)
	if err != nil {
		// The server may have rotated it before the connection broke:
		// presenting it again would be a replay.
		t.setRefreshToken(w, "")
		return 0, ""
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		t.setRefreshToken(w, "")
		return resp.StatusCode, ""
	}
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.RefreshToken == "" || tr.AccessToken == "" {
		t.setRefreshToken(w, "")
		return statusBadAnswer, ""
	}
	t.setRefreshToken(w, tr.RefreshToken)
	return http.StatusOK, tr.AccessToken
}

// postForm posts form to path, with the client's credentials in HTTP
// Basic when basic is set.
func (t *target) postForm(ctx context.Context, path string, form url.Values, basic bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.clientSecret))
	}
	return t.client.Do(req)
}

// firstPartyCodes signs the bench user in through POST /v1/oauth2/authorize
// n times. Each sign-in hashes the password (argon2id), so codes are made
// before the measurement, a few at a time.
func (t *target) firstPartyCodes(ctx context.Context, n int) ([]string, error) {
	body, _ := json.Marshal(map[string]string{"client_id": t.clientID, "client_secret": t.clientSecret,
		"email": benchEmail, "password": benchPassword, "scope": strings.Join(benchScopes, " ")})
	var (
		mu    sync.Mutex
		codes []string
		first error
		wg    sync.WaitGroup
		next  = make(chan struct{})
	)
	for range 4 {
		wg.Go(func() {
			for range next {
				code, err := t.firstPartyCode(ctx, body)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					codes = append(codes, code)
				}
				mu.Unlock()
			}
		})
	}
	for range n {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return codes, nil
}

// errNoFirstParty: this build of Aries has no first-party sign-in.
var errNoFirstParty = errors.New("POST /v1/oauth2/authorize is not served by this build")

func (t *target) firstPartyCode(ctx context.Context, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/oauth2/authorize", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return "", err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "", errNoFirstParty
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("first-party sign-in: status %d: %s", resp.StatusCode, b)
	}
	var v struct {
		Code string `json:"authorization_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Code == "" {
		return "", fmt.Errorf("first-party sign-in: no authorization_code in the answer")
	}
	return v.Code, nil
}

// floorCodes stores n codes in the floor's database: the floor has no
// sign-in, its floor is the exchange alone.
func (t *target) floorCodes(ctx context.Context, n int) ([]string, error) {
	codes := make([]string, n)
	hashes := make([]string, n)
	for i := range codes {
		codes[i] = secret.New(secret.CodePrefix)
		hashes[i] = t.hasher.Hash(codes[i])
	}
	store := floorCodes
	if t.store == "postgres" {
		store = floorCodesPostgres
	}
	if err := store(ctx, t.dbPath, t.userID, strings.Join(benchScopes, " "), hashes, time.Now()); err != nil {
		return nil, err
	}
	return codes, nil
}
