// Package server assembles Aries: New is the one place every route is
// mounted, with the dependencies each handler gets. Reading it explains the
// architecture; the handlers themselves live in their own packages.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/authorize"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/discovery"
	"github.com/ariesexchange/aries/internal/introspect"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/metrics"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/token"
)

// Derivation labels of the keys made from the root secret (secret.Master).
// Changing one makes every stored hash or key of that kind unreadable.
const (
	PepperPurpose        = "secret-hash-pepper"
	KeyEncryptionPurpose = "signing-key-encryption"
)

// Config is the server's behaviour that operators choose. DefaultConfig
// gives the documented defaults; Validate refuses nonsense before start.
type Config struct {
	Issuer             string        // RFC 8414 issuer and RFC 9207 iss; the public base URL
	Audience           string        // "aud" of access tokens; defaults to Issuer
	CodeTTL            time.Duration // authorization code lifetime
	AccessTokenTTL     time.Duration
	RefreshTokenTTL    time.Duration // a refresh token dies after this long unused
	RefreshTokenMaxAge time.Duration // and this long after sign-in at most
	SessionTTL         time.Duration // browser session lifetime
	Demo               bool          // mount /demo/callback, the demo clients' landing page
	PasswordParams     password.Params
}

// DefaultConfig returns the defaults of DESIGN.md section 4.
func DefaultConfig() Config {
	return Config{
		CodeTTL:            60 * time.Second,
		AccessTokenTTL:     15 * time.Minute,
		RefreshTokenTTL:    30 * 24 * time.Hour,
		RefreshTokenMaxAge: 90 * 24 * time.Hour,
		SessionTTL:         12 * time.Hour,
		PasswordParams:     password.DefaultParams,
	}
}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	if c.CodeTTL <= 0 || c.CodeTTL > 10*time.Minute {
		errs = append(errs, fmt.Errorf("code lifetime %v: must be above 0 and at most 10m (RFC 6749 section 4.1.2)", c.CodeTTL))
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("access token lifetime %v: must be between 1m and 24h", c.AccessTokenTTL))
	}
	if c.RefreshTokenTTL < time.Minute {
		errs = append(errs, fmt.Errorf("refresh token lifetime %v: must be at least 1m", c.RefreshTokenTTL))
	}
	if c.RefreshTokenMaxAge < c.RefreshTokenTTL {
		errs = append(errs, fmt.Errorf("refresh token maximum age %v is shorter than its idle lifetime %v", c.RefreshTokenMaxAge, c.RefreshTokenTTL))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("session lifetime %v: must be at least 1m", c.SessionTTL))
	}
	return errors.Join(errs...)
}

// Server is a running Aries instance's HTTP side.
type Server struct {
	handler http.Handler
	store   store.Store
	keys    *keys.Keyring
	logger  *slog.Logger
	Metrics *metrics.Metrics
}

// New builds the server: it loads (or on first start creates) the signing
// keys and mounts every route.
func New(ctx context.Context, cfg Config, st store.Store, master secret.Master, logger *slog.Logger) (*Server, error) {
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := time.Now
	// Retired public keys stay published while tokens they signed can live.
	ring, err := keys.Open(ctx, st, master.Derive(KeyEncryptionPurpose), cfg.AccessTokenTTL+2*time.Minute, now)
	if err != nil {
		return nil, fmt.Errorf("loading signing keys: %w", err)
	}
	m := metrics.New()
	hasher := secret.NewHasher(master.Derive(PepperPurpose))
	clients := &clientauth.Authenticator{Store: st, Hasher: hasher}
	minter := &accesstoken.Minter{Keys: ring, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL, Now: now}

	mux := http.NewServeMux()
	(&authorize.Handler{
		Store: st, Hasher: hasher, Passwords: password.NewHasher(cfg.PasswordParams),
		Issuer: cfg.Issuer, CodeTTL: cfg.CodeTTL, SessionTTL: cfg.SessionTTL, GrantTTL: cfg.RefreshTokenMaxAge,
		Now: now, Logger: logger,
	}).Register(mux)
	mux.Handle("POST /v1/oauth2/token", cors(&token.Handler{
		Store: st, Hasher: hasher, Clients: clients, Tokens: minter, RefreshTTL: cfg.RefreshTokenTTL,
		Now: now, Logger: logger, Metrics: m,
	}))
	ih := &introspect.Handler{Store: st, Hasher: hasher, Clients: clients, Tokens: minter, Now: now, Logger: logger}
	mux.Handle("POST /v1/oauth2/revoke", cors(http.HandlerFunc(ih.Revoke)))
	mux.Handle("POST /v1/oauth2/introspect", cors(http.HandlerFunc(ih.Introspect)))
	mux.Handle("OPTIONS /v1/oauth2/{endpoint}", cors(http.NotFoundHandler()))
	(&discovery.Handler{Issuer: cfg.Issuer, Keys: ring}).Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", readyz(st))
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	if cfg.Demo {
		mux.HandleFunc("GET /demo/callback", demoCallback(cfg.Issuer))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		oauth.Write(w, &oauth.Error{Code: "not_found", Description: "no such endpoint: " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound})
	})

	return &Server{
		handler: observe(mux, m, logger),
		store:   st,
		keys:    ring,
		logger:  logger,
		Metrics: m,
	}, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Maintain runs until ctx ends: it picks up signing keys rotated by
// `aries keys rotate` and deletes rows that can no longer be used.
func (s *Server) Maintain(ctx context.Context) {
	reload := time.NewTicker(30 * time.Second)
	cleanup := time.NewTicker(10 * time.Minute)
	defer reload.Stop()
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			if err := s.keys.Reload(ctx); err != nil {
				s.logger.Warn("reloading signing keys failed", "err", err)
			}
		case <-cleanup.C:
			if err := s.store.DeleteExpired(ctx, time.Now()); err != nil {
				s.logger.Warn("deleting expired rows failed", "err", err)
			}
		}
	}
}

func readyz(st store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	}
}

// cors lets browser apps (SPAs using PKCE) call the protocol endpoints from
// their own origin. These endpoints take no cookies, so allowing any origin
// grants nothing a script could not already do with its own credentials.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
