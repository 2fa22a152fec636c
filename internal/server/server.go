// Package server assembles Aries: New is the one place every route is
// mounted, with the dependencies each handler gets. Reading it explains the
// architecture; the handlers themselves live in their own packages.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ariesexchange/aries/docs"
	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/admin"
	"github.com/ariesexchange/aries/internal/api"
	"github.com/ariesexchange/aries/internal/authorize"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/clientcenter"
	"github.com/ariesexchange/aries/internal/discovery"
	"github.com/ariesexchange/aries/internal/firstparty"
	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/introspect"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/metrics"
	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/outage"
	"github.com/ariesexchange/aries/internal/par"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/portal"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/replay"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/token"
	"github.com/ariesexchange/aries/internal/userinfo"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
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
	// Rate limits of docs/rate-limits.md, per category; RateLimitsOff
	// turns every limit off (benchmarks).
	RateLimits    ratelimit.Limits
	RateLimitsOff bool
	// SharedLimiter, when set (Redis, --redis), keeps the rate-limit
	// counters every instance shares; while it fails, this instance
	// enforces the limits on its own (ratelimit.Fallback). Nil: in-process
	// limits only.
	SharedLimiter ratelimit.Limiter
	// Upstreams maps API route prefixes to the services that serve them
	// (checked by api.CheckUpstreams); a route without one answers 503.
	Upstreams map[string]string
	// RevocationInterval is how often the API polls for revoked tokens: a
	// revoked access token stops working there within about this long.
	RevocationInterval time.Duration
	// MFAScopes need a second factor (step-up): a user without MFA cannot
	// get them, and a browser session only while its last TOTP code is at
	// most MFAMaxAge old. Bundles (trade, withdraw) are expanded.
	MFAScopes []string
	MFAMaxAge time.Duration
	// Now is the clock of every handler, the signing keys, the rate limits,
	// the revocation list and the clean-up of expired rows; nil means
	// time.Now. Tests pass a testclock.Clock's Now and move time by hand.
	Now func() time.Time

	// DPoP (RFC 9449, docs/dpop.md). DPoPReplay remembers the proofs
	// accepted by every instance (Redis with --redis: replay.Redis); nil
	// keeps them in the store's dpop_proofs table. DPoPNonce makes every
	// proof carry a server nonce (--dpop-nonce): it changes every minute
	// and, derived from the root secret, is the same on every instance.
	DPoPReplay dpop.ReplayCache
	DPoPNonce  bool

	// RequirePAR refuses every authorization request that was not pushed
	// first (RFC 9126 section 5, --require-par); without it only the
	// clients registered so must push (docs/fapi.md).
	RequirePAR bool

	// Behind a load balancer (docs/deployment.md). TrustedProxies are the
	// peers whose X-Forwarded-For is believed (--trusted-proxies): every
	// source-address key uses the client address it names. AccessLog
	// writes one line per request at info (--access-log).
	TrustedProxies ratelimit.TrustedProxies
	AccessLog      bool
}

// The DPoP rules of FAPI 2.0 clients (docs/fapi.md): ES256, PS256 and
// EdDSA (also under its RFC 9864 name Ed25519) only, and proofs from at
// most 10 s in the future.
var fapi2Algorithms = []string{"ES256", "PS256", "EdDSA", "Ed25519"}

const fapi2MaxFuture = 10 * time.Second

// DefaultConfig returns the defaults of docs/protocol.md#lifetimes.
func DefaultConfig() Config {
	return Config{
		CodeTTL:            60 * time.Second,
		AccessTokenTTL:     15 * time.Minute,
		RefreshTokenTTL:    30 * 24 * time.Hour,
		RefreshTokenMaxAge: 90 * 24 * time.Hour,
		SessionTTL:         12 * time.Hour,
		PasswordParams:     password.DefaultParams,
		RateLimits:         ratelimit.DefaultLimits(),
		RevocationInterval: api.DefaultRevocationInterval,
		MFAMaxAge:          15 * time.Minute,
		Now:                time.Now,
		AccessLog:          true,
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
	for _, cat := range ratelimit.Categories {
		if _, ok := c.RateLimits[cat]; !ok && !c.RateLimitsOff {
			errs = append(errs, fmt.Errorf("rate limit category %q has no limit", cat))
		}
	}
	if c.RevocationInterval <= 0 || c.RevocationInterval > time.Minute {
		errs = append(errs, fmt.Errorf("revocation interval %v: must be above 0 and at most 1m", c.RevocationInterval))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("session lifetime %v: must be at least 1m", c.SessionTTL))
	}
	if err := api.CheckUpstreams(c.Upstreams); err != nil {
		errs = append(errs, err)
	}
	if _, err := scope.Expand(c.MFAScopes); err != nil {
		errs = append(errs, fmt.Errorf("MFA scopes: %w", err))
	}
	if c.MFAMaxAge <= 0 {
		errs = append(errs, fmt.Errorf("MFA maximum age %v: must be above 0", c.MFAMaxAge))
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
	api     *api.API
	now     func() time.Time
	routes  *routes // the mux, and what New mounted on it in order
}

// New builds the server: it loads (or on first start creates) the signing
// keys and mounts every route.
func New(ctx context.Context, cfg Config, st store.Store, book ledger.Store, master secret.Master, logger *slog.Logger) (*Server, error) {
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Every record logged with a request's context carries its id.
	logger = slog.New(requestIDHandler{logger.Handler()})
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	derived := master.Keys()
	// Retired public keys stay published while tokens they signed can live.
	ring, err := keys.Open(ctx, st, derived.KeyEncryption, cfg.AccessTokenTTL+2*time.Minute, now)
	if err != nil {
		return nil, fmt.Errorf("loading signing keys: %w", err)
	}
	m := metrics.New()
	hasher := secret.NewHasher(derived.Pepper)
	clients := &clientauth.Authenticator{Store: st, Hasher: hasher, OnStoreError: func(ctx context.Context, err error) {
		m.StoreErrors.Inc()
		logger.ErrorContext(ctx, "client lookup failed", "err", err)
	}}
	minter := &accesstoken.Minter{Keys: ring, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL, Now: now}
	// ID tokens live as long as access tokens, so the keys' publishFor
	// above covers them too (docs/oidc.md).
	idTokens := &idtoken.Issuer{Keys: ring, Issuer: cfg.Issuer, TTL: cfg.AccessTokenTTL, Now: now, Users: st, Profiles: book}
	// One policy for every limited route: the API's routes and the
	// authentication endpoints (token, PAR, sign-in, first-party, MFA).
	var limiter ratelimit.Limiter = ratelimit.NewMemory()
	if cfg.SharedLimiter != nil {
		limiter = &ratelimit.Fallback{Primary: cfg.SharedLimiter, Local: ratelimit.NewMemory(), Logger: logger,
			OnStateChange: func(local bool) {
				if local {
					m.RateLimitFallback.Set(1)
				} else {
					m.RateLimitFallback.Set(0)
				}
			}}
	}
	limits := &ratelimit.Policy{Limiter: limiter, Limits: cfg.RateLimits, Disabled: cfg.RateLimitsOff, Now: now, Logger: logger,
		OnLimited: func(c ratelimit.Category) { m.RateLimited.WithLabelValues(string(c)).Inc() }}
	// One way to check an access token (RFC 9068 section 4): package
	// bearer, the validator every resource server uses, here for the API's
	// routes and for introspection (and through it the admin API). It reads
	// the keys in-process, and asks again when a token names a key it does
	// not know: another instance may sign with a key this one has not
	// loaded yet (instances started together, a fresh rotation).
	tokenCheck := bearer.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience,
		KeySet: func(ctx context.Context) ([]byte, error) {
			if err := ring.Reload(ctx); err != nil {
				logger.WarnContext(ctx, "reloading signing keys failed", "err", err)
			}
			return json.Marshal(ring.JWKS())
		},
		// Reading the keys in-process costs microseconds, so a token signed
		// by a just-rotated key need not wait long for a refetch.
		MinRefreshInterval: time.Second,
		Now:                now,
		Logger:             logger,
	}
	// One replay cache and one nonce source for every DPoP proof, at the
	// token endpoint and on every protected route (docs/dpop.md): a proof
	// is accepted once by all the instances together, and every route's
	// "htu" is the issuer's public URL plus the path.
	proofCache := cfg.DPoPReplay
	if proofCache == nil {
		proofCache = &replay.Store{Store: st, Now: now}
	}
	// private_key_jwt assertions (RFC 7523, docs/fapi.md): a jti is used
	// once across instances, in the cache DPoP proofs use (keys of their
	// own), and an assertion names the issuer or the endpoint it is sent to.
	clients.Issuer = cfg.Issuer
	clients.Audiences = []string{strings.TrimSuffix(cfg.Issuer, "/") + protocol.TokenPath, strings.TrimSuffix(cfg.Issuer, "/") + protocol.PARPath}
	clients.Replay, clients.Now, clients.Logger = proofCache, now, logger
	var nonces dpop.Nonces
	if cfg.DPoPNonce {
		if nonces, err = dpop.NewRotatingNonces(master.Derive("dpop nonce"), dpop.DefaultNoncePeriod, now); err != nil {
			return nil, err
		}
	}
	proofs, err := dpop.NewVerifier(dpop.Config{Replay: proofCache, Nonces: nonces, Now: now})
	if err != nil {
		return nil, err
	}
	// FAPI 2.0 clients' proofs (docs/fapi.md): the same replay cache and
	// nonces, fewer algorithms, and iat at most 10 s ahead.
	fapiProofs, err := dpop.NewVerifier(dpop.Config{
		Algorithms: fapi2Algorithms, MaxFuture: fapi2MaxFuture,
		Replay: proofCache, Nonces: nonces, Now: now,
	})
	if err != nil {
		return nil, err
	}
	tokenCheck.DPoP = bearer.DPoPConfig{Replay: proofCache, Nonces: nonces, BaseURL: cfg.Issuer}
	// Introspection asks the store about revocations itself, so its
	// verifier has no Revoked hook; the API adds its polled list.
	tokens, err := bearer.NewVerifier(tokenCheck)
	if err != nil {
		return nil, err
	}
	protected, err := api.New(ctx, api.Config{
		Tokens:      tokenCheck,
		Revocations: st, Users: st, Ledger: book, Limits: limits, Upstreams: cfg.Upstreams,
		RevocationInterval: cfg.RevocationInterval, AccessTokenTTL: cfg.AccessTokenTTL,
		Now: now, Logger: logger,
	})
	if err != nil {
		return nil, err
	}

	second, err := mfa.New(st, hasher, derived.TOTPEncryption, now)
	if err != nil {
		return nil, err
	}
	mfaScopes, _ := scope.Expand(cfg.MFAScopes) // checked by Validate
	stepUp := mfa.StepUp{Scopes: mfaScopes, MaxAge: cfg.MFAMaxAge}
	passwords := password.NewHasher(cfg.PasswordParams)

	// One password lock for the hosted and the first-party sign-in.
	locks := lockout.NewPasswords(st, now)

	// Every route is mounted through mux.of(package), which records it for
	// testdata/routes.golden.
	mux := &routes{mux: http.NewServeMux()}
	signIn := &authorize.Handler{
		Store: st, Hasher: hasher, Passwords: passwords, Locks: locks,
		Issuer: cfg.Issuer, CodeTTL: cfg.CodeTTL, SessionTTL: cfg.SessionTTL, GrantTTL: cfg.RefreshTokenMaxAge,
		MFA: second, StepUp: stepUp, RateLimit: limits,
		Now: now, Logger: logger,
		Hints: idTokens, RequirePAR: cfg.RequirePAR,
	}
	signIn.Register(mux.of("authorize"))
	// Pushed authorization requests (RFC 9126), validated by the
	// authorization endpoint's own rules and used there once.
	mux.of("par").Handle("POST "+protocol.PARPath, cors(&par.Handler{
		Store: st, Hasher: hasher, Clients: clients, Validator: signIn, RateLimit: limits,
		DPoP: proofs, DPoPFAPI2: fapiProofs, URL: strings.TrimSuffix(cfg.Issuer, "/") + protocol.PARPath,
		Now: now, Logger: logger,
	}))
	fp := &firstparty.Handler{
		Store: st, Clients: clients, Passwords: passwords, Locks: locks, MFA: second, StepUp: stepUp, RateLimit: limits,
		Codes:  &signin.CodeIssuer{Store: st, Hasher: hasher, CodeTTL: cfg.CodeTTL, GrantTTL: cfg.RefreshTokenMaxAge, Now: now},
		Issuer: cfg.Issuer, Now: now, Logger: logger,
	}
	// No CORS on the first-party endpoints
	// (docs/security.md#first-party-clients-are-confidential): they take a
	// password, and only Aries' own confidential apps may call them, never a
	// script on some other origin.
	mux.of("firstparty").HandleFunc("POST /v1/oauth2/authorize", fp.Authorize)
	mux.of("firstparty").HandleFunc("POST /v1/oauth2/mfa/verify", fp.Verify)
	mux.of("token").Handle("POST /v1/oauth2/token", cors(&token.Handler{
		Store: st, Hasher: hasher, Clients: clients, Tokens: minter, RefreshTTL: cfg.RefreshTokenTTL,
		Now: now, Logger: logger, Metrics: m, RateLimit: limits,
		IDTokens: idTokens,
		DPoP:     proofs, TokenURL: strings.TrimSuffix(cfg.Issuer, "/") + protocol.TokenPath,
		DPoPFAPI2:       fapiProofs,
		RefreshGraceKey: derived.RefreshGrace,
	}))
	ih := &introspect.Handler{Store: st, Hasher: hasher, Clients: clients, Tokens: tokens, Issuer: cfg.Issuer, Now: now, Logger: logger}
	// UserInfo checks its tokens like the API, and asks the store whether
	// they were revoked, as introspection does.
	userinfoCheck := tokenCheck
	userinfoCheck.Revoked = func(ctx context.Context, c *bearer.Claims) (bool, error) {
		live, err := ih.Live(ctx, c)
		return !live, err
	}
	userinfoTokens, err := bearer.NewVerifier(userinfoCheck)
	if err != nil {
		return nil, err
	}
	(&userinfo.Handler{Tokens: userinfoTokens, Claims: idTokens, Logger: logger}).Register(mux.of("userinfo"), cors)
	mux.of("introspect").Handle("POST /v1/oauth2/revoke", cors(http.HandlerFunc(ih.Revoke)))
	mux.of("introspect").Handle("POST /v1/oauth2/introspect", cors(http.HandlerFunc(ih.Introspect)))
	for _, path := range []string{"/v1/oauth2/token", "/v1/oauth2/revoke", "/v1/oauth2/introspect", "/v1/oauth2/userinfo", protocol.PARPath} {
		mux.of("server").Handle("OPTIONS "+path, cors(http.NotFoundHandler()))
	}
	(&discovery.Handler{Issuer: cfg.Issuer, Keys: ring, DPoPAlgorithms: proofs.Algorithms(), RequirePAR: cfg.RequirePAR,
		ServiceDocumentation: strings.TrimSuffix(cfg.Issuer, "/") + "/docs"}).Register(mux.of("discovery"))
	(&clientcenter.Handler{Store: st, Hasher: hasher, Sessions: signIn, Issuer: cfg.Issuer, Now: now, Logger: logger}).Register(mux.of("clientcenter"))
	// The developer portal (docs/README.md): its token page sends requests
	// through this mux, so they meet the same handlers and limits.
	if err := (&portal.Handler{Issuer: cfg.Issuer, Docs: docs.FS, Sessions: signIn, Clients: st, Backend: mux.mux,
		Logger: logger}).Register(mux.of("portal")); err != nil {
		return nil, err
	}
	(&admin.Handler{Store: st, Hasher: hasher, Tokens: ih, Requests: tokens, Now: now, Logger: logger}).Register(mux.of("admin"))
	mux.of("server").HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.of("server").HandleFunc("GET /readyz", readyz(st))
	protected.Register(mux.of("api")) // the Aries API: internal/api/routes.go
	if cfg.Demo {
		mux.of("server").HandleFunc("GET /demo/callback", demoCallback(cfg.Issuer))
	}
	mux.of("server").HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		oauth.Write(w, &oauth.Error{Code: oauth.NotFound, Description: "no such endpoint: " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound})
	})

	return &Server{
		// The client's address is resolved first, once, so the request log,
		// every rate limit and every security event see the same one.
		handler: cfg.TrustedProxies.Middleware(hsts(cfg.Issuer, observe(mux.mux, m, logger, cfg.AccessLog))),
		store:   st,
		keys:    ring,
		logger:  logger,
		Metrics: m,
		api:     protected,
		now:     now,
		routes:  mux,
	}, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// MetricsHandler serves the Prometheus metrics. It is not mounted on the
// public handler (docs/security.md#metrics-stay-off-the-public-listener):
// route and error counts are for the operator, so
// `aries serve --metrics-addr` gives it a listener of its own.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
}

// Maintain runs until ctx ends: it picks up signing keys rotated by
// `aries keys rotate`, deletes rows that can no longer be used, and keeps
// the API's list of revoked tokens fresh.
func (s *Server) Maintain(ctx context.Context) {
	go s.api.Run(ctx)
	reload := time.NewTicker(30 * time.Second)
	cleanup := time.NewTicker(10 * time.Minute)
	defer reload.Stop()
	defer cleanup.Stop()
	// Each store call gives up at the store's deadline and is tried again
	// at the next tick; an outage is logged when it starts and when it ends.
	reloads := &outage.Watch{Logger: s.logger, Now: s.now, Down: "reloading signing keys failed", Back: "reloading signing keys works again"}
	sweeps := &outage.Watch{Logger: s.logger, Now: s.now, Down: "deleting expired rows failed", Back: "deleting expired rows works again"}
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			reloads.Report(ctx, s.keys.Reload(ctx))
		case <-cleanup.C:
			sweeps.Report(ctx, s.store.DeleteExpired(ctx, s.now()))
		}
	}
}

func readyz(st store.Lifecycle) http.HandlerFunc {
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
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// A browser app reads the nonce a DPoP answer carries (RFC 9449
		// section 8).
		h.Set("Access-Control-Expose-Headers", "DPoP-Nonce, WWW-Authenticate")
		next.ServeHTTP(w, r)
	})
}
