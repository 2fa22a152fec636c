package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
	_ "modernc.org/sqlite"

	"github.com/ariesexchange/aries/internal/secret"
)

// The floor is the least an authorization server can do per request and
// still be correct for each case: parse the form, check the client secret
// with one HMAC against a hash held in memory, sign one ES256 JWT with the
// standard library, encode the JSON answer; for a refresh or a code, one
// conditional UPDATE and one INSERT in one durable SQLite transaction (WAL,
// synchronous=FULL, as Aries); for the API, one ES256 verification. No
// router, no middleware, no metrics, no logging, no client row to read. It
// runs as its own process, like Aries, so the two are measured alike. On
// PostgreSQL it does a few statements more (floor_postgres.go).

// floorConfig is what the bench hands the floor process, through the
// environment (see startFloor).
type floorConfig struct {
	Addr         string `json:"addr"`
	DB           string `json:"db"`                 // SQLite file, schema from floorSchema
	Postgres     string `json:"postgres,omitempty"` // instead of DB: a PostgreSQL URL, schema from floorPostgresSchema (floor_postgres.go)
	Master       string `json:"master"`             // root secret; the pepper is derived as Aries derives it
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Issuer       string `json:"issuer"`
	PprofAddr    string `json:"pprof_addr,omitempty"`
}

// floorSchema holds what a rotating refresh token needs: the row looked up
// by hash, the family it belongs to (indexed, so a replay can revoke the
// family), its expiry and whether it was used; the subject and scope ride
// along so the new token needs no second read. Codes are the same shape.
const floorSchema = `
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    grant_id   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE TABLE IF NOT EXISTS auth_codes (
    hash       TEXT    NOT NULL PRIMARY KEY,
    grant_id   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;`

// floorDSN is Aries's durability: WAL, fsync at every commit, write lock
// taken at BEGIN.
func floorDSN(path string) string {
	return path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
}

type floor struct {
	// pg, when not nil, is the floor's PostgreSQL database, used instead
	// of db (floor_postgres.go).
	pg *pgxpool.Pool
	// db has one connection: SQLite has one writer, and every statement
	// here writes. Its statements are prepared once, so no request pays
	// for parsing SQL.
	db     *sql.DB
	spend  map[string]*sql.Stmt // by table: the conditional UPDATE
	insert *sql.Stmt
	// writer queues writers in arrival order (channel waiters are FIFO);
	// database/sql hands a freed connection to a random waiter.
	writer     chan struct{}
	hasher     *secret.Hasher
	clientID   string
	secretHash string
	issuer     string
	key        *ecdsa.PrivateKey
	header     string // base64url of the fixed JOSE header
}

// runFloor serves the floor until ctx ends. It prints "floor listening on
// ADDR" once it accepts connections.
func runFloor(ctx context.Context, cfg floorConfig) error {
	master, err := secret.ParseMaster(cfg.Master)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	h := master.Hasher()
	f := &floor{
		writer: make(chan struct{}, 1), hasher: h, clientID: cfg.ClientID, secretHash: h.Hash(cfg.ClientSecret),
		issuer: cfg.Issuer, key: key,
		header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"floor","typ":"at+jwt"}`)),
	}
	if cfg.Postgres != "" {
		if f.pg, err = openFloorPostgres(ctx, cfg.Postgres); err != nil {
			return err
		}
		defer f.pg.Close()
	} else {
		if f.db, err = sql.Open("sqlite", floorDSN(cfg.DB)); err != nil {
			return err
		}
		defer f.db.Close()
		f.db.SetMaxOpenConns(1)
		if _, err := f.db.ExecContext(ctx, floorSchema); err != nil {
			return fmt.Errorf("floor schema: %w", err)
		}
		f.spend = map[string]*sql.Stmt{}
		for _, table := range []string{"refresh_tokens", "auth_codes"} {
			if f.spend[table], err = f.db.PrepareContext(ctx,
				`UPDATE `+table+` SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?
				 RETURNING grant_id, subject, scope`); err != nil {
				return err
			}
		}
		if f.insert, err = f.db.PrepareContext(ctx,
			`INSERT INTO refresh_tokens (hash, grant_id, subject, scope, expires_at) VALUES (?, ?, ?, ?, ?)`); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", f.token)
	mux.HandleFunc("POST /v1/oauth2/introspect", f.introspect)
	mux.HandleFunc("GET /v1/users/me", f.me)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			return err
		}
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go http.Serve(pln, pm)
		fmt.Fprintf(os.Stdout, "floor pprof on %s\n", pln.Addr())
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Fprintf(os.Stdout, "floor listening on %s\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floorClaims mirrors the claims Aries puts in an access token, so both
// sign payloads of the same size.
type floorClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	GrantID   string   `json:"grant_id,omitempty"`
}

type floorTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

func floorError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// authenticate checks client_secret_basic or client_secret_post; on
// PostgreSQL against the client's row.
func (f *floor) authenticate(r *http.Request) bool {
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if f.pg != nil {
		h, ok := f.clientSecretHash(r.Context(), id)
		return ok && f.hasher.Verify(sec, h)
	}
	return id == f.clientID && f.hasher.Verify(sec, f.secretHash)
}

func (f *floor) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		floorError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if !f.authenticate(r) {
		floorError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	now := time.Now()
	c := floorClaims{ClientID: f.clientID}
	var refresh string
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		c.Subject, c.Scope = f.clientID, r.PostForm.Get("scope")
	case "refresh_token":
		refresh = secret.New(secret.RefreshPrefix)
		if !f.rotate(r.Context(), "refresh_tokens", r.PostForm.Get("refresh_token"), refresh, now, &c) {
			floorError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
	case "authorization_code", "code":
		refresh = secret.New(secret.RefreshPrefix)
		if !f.rotate(r.Context(), "auth_codes", r.PostForm.Get("code"), refresh, now, &c) {
			floorError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
	default:
		floorError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	tok, err := f.sign(c, now)
	if err != nil {
		floorError(w, http.StatusInternalServerError, "server_error")
		return
	}
	writeJSON(w, floorTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: 900, RefreshToken: refresh, Scope: c.Scope})
}

// rotate spends the code or refresh token presented (one conditional
// UPDATE) and stores the next refresh token of its family (one INSERT), in
// one committed transaction.
func (f *floor) rotate(ctx context.Context, table, presented, next string, now time.Time, c *floorClaims) bool {
	if presented == "" {
		return false
	}
	presentedHash, nextHash := f.hasher.Hash(presented), f.hasher.Hash(next)
	if f.pg != nil {
		if !f.rotatePostgres(ctx, table, presentedHash, nextHash, now, c) {
			return false
		}
		c.AuthTime, c.AMR = now.Unix(), []string{"pwd"}
		return true
	}
	f.writer <- struct{}{}
	defer func() { <-f.writer }()
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return false
	}
	defer tx.Rollback()
	err = tx.StmtContext(ctx, f.spend[table]).QueryRowContext(ctx,
		now.UnixMilli(), presentedHash, now.UnixMilli()).Scan(&c.GrantID, &c.Subject, &c.Scope)
	if err != nil {
		return false
	}
	_, err = tx.StmtContext(ctx, f.insert).ExecContext(ctx,
		nextHash, c.GrantID, c.Subject, c.Scope, now.Add(30*24*time.Hour).UnixMilli())
	if err != nil {
		return false
	}
	c.AuthTime, c.AMR = now.Unix(), []string{"pwd"}
	return tx.Commit() == nil
}

// sign makes an ES256 JWS (RFC 7515, RFC 7518 section 3.4) with the
// standard library alone.
func (f *floor) sign(c floorClaims, now time.Time) (string, error) {
	c.Issuer, c.Audience = f.issuer, f.issuer
	c.IssuedAt, c.ExpiresAt = now.Unix(), now.Add(15*time.Minute).Unix()
	jti := make([]byte, 16)
	rand.Read(jti)
	c.ID = base64.RawURLEncoding.EncodeToString(jti)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := f.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, f.key, digest[:])
	if err != nil {
		return "", err
	}
	sig, err := rawSignature(der)
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig[:]), nil
}

// rawSignature turns an ASN.1 ECDSA signature into the fixed-size r||s of
// JWS (RFC 7518 section 3.4).
func rawSignature(der []byte) ([64]byte, error) {
	var sig [64]byte
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) ||
		len(r) > 33 || len(s) > 33 {
		return sig, errors.New("malformed ECDSA signature")
	}
	r, s = bytes.TrimLeft(r, "\x00"), bytes.TrimLeft(s, "\x00")
	if len(r) > 32 || len(s) > 32 {
		return sig, errors.New("malformed ECDSA signature")
	}
	copy(sig[32-len(r):32], r)
	copy(sig[64-len(s):], s)
	return sig, nil
}

// derSignature is the inverse of rawSignature.
func derSignature(raw []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[:32]))
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[32:]))
	})
	return b.Bytes()
}

// verify checks a token the floor signed and returns its claims.
func (f *floor) verify(tok string, now time.Time) (floorClaims, bool) {
	head, rest, ok1 := strings.Cut(tok, ".")
	body, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(tok) > 8<<10 {
		return floorClaims{}, false
	}
	hb, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return floorClaims{}, false
	}
	var h struct{ Alg, Kid, Typ string }
	if json.Unmarshal(hb, &h) != nil || h.Alg != "ES256" || h.Kid != "floor" || h.Typ != "at+jwt" {
		return floorClaims{}, false
	}
	sb, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(sb) != 64 {
		return floorClaims{}, false
	}
	digest := sha256.Sum256([]byte(tok[:len(head)+1+len(body)]))
	der, err := derSignature(sb)
	if err != nil || !ecdsa.VerifyASN1(&f.key.PublicKey, digest[:], der) {
		return floorClaims{}, false
	}
	pb, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return floorClaims{}, false
	}
	var c floorClaims
	if json.Unmarshal(pb, &c) != nil || c.Issuer != f.issuer || c.Audience != f.issuer || now.Unix() >= c.ExpiresAt {
		return floorClaims{}, false
	}
	return c, true
}

func (f *floor) introspect(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		floorError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if !f.authenticate(r) {
		floorError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	c, ok := f.verify(r.PostForm.Get("token"), time.Now())
	if !ok {
		writeJSON(w, map[string]bool{"active": false})
		return
	}
	writeJSON(w, struct {
		Active bool `json:"active"`
		floorClaims
		TokenType string `json:"token_type"`
	}{true, c, "Bearer"})
}

// me answers GET /v1/users/me: the floor of a protected API call is
// verifying the bearer token and checking its scope; on SQLite it answers
// from the token alone, on PostgreSQL it also reads the user's row.
func (f *floor) me(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		floorError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	c, ok := f.verify(tok, time.Now())
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		floorError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	if !strings.Contains(" "+c.Scope+" ", " user:information ") {
		floorError(w, http.StatusForbidden, "insufficient_scope")
		return
	}
	if f.pg != nil {
		email, ok := f.userEmail(r.Context(), c.Subject)
		if !ok {
			floorError(w, http.StatusNotFound, "not_found")
			return
		}
		writeJSON(w, map[string]string{"id": c.Subject, "email": email})
		return
	}
	writeJSON(w, map[string]string{"id": c.Subject})
}
