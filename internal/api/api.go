package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/accesslog"
	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/sandbox"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
)

// Config is what the protected API needs from the server that mounts it.
type Config struct {
	// Tokens configures the check of access tokens: the server's one
	// validator (package bearer), configured once by the server for the
	// API and introspection alike. It carries the issuer, the audience and
	// the key set, read in-process rather than over HTTP from itself. New
	// adds the revocation list as its Revoked hook, and Now and Logger
	// when it has none.
	Tokens bearer.Config
	// Revocations is polled for revoked tokens; Users and Ledger serve
	// the sandbox.
	Revocations store.RevocationStore
	Users       store.UserFinder
	Ledger      ledger.Store
	Limits      *ratelimit.Policy
	// Upstreams maps route prefixes to the base URLs of the services that
	// serve them (CheckUpstreams).
	Upstreams map[string]string
	// RevocationInterval is how often revocations are polled (zero:
	// DefaultRevocationInterval): the delay before a revoked token stops
	// working here.
	RevocationInterval time.Duration
	// AccessTokenTTL is the lifetime of the server's access tokens.
	AccessTokenTTL time.Duration
	StartingCash   int64 // cents; zero means sandbox.DefaultStartingCash
	Now            func() time.Time
	Logger         *slog.Logger
}

// API is the protected Aries API: the route table mounted behind token
// verification, scopes and rate limits.
type API struct {
	cfg         Config
	verifier    *bearer.Verifier
	revocations *Revocations
	sandbox     *sandbox.API
	targets     map[string]*url.URL
}

// New checks cfg, builds the verifier and loads the revocation list once,
// so the API refuses revoked tokens from its first request.
func New(ctx context.Context, cfg Config) (*API, error) {
	if cfg.Limits == nil || cfg.Revocations == nil || cfg.Users == nil || cfg.Ledger == nil {
		return nil, errors.New("api: Config needs Limits, Revocations, Users and Ledger")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	targets, err := upstreamTargets(cfg.Upstreams)
	if err != nil {
		return nil, err
	}
	rev := &Revocations{
		Store: cfg.Revocations, Interval: cfg.RevocationInterval,
		TokenLifetime: cfg.AccessTokenTTL + bearer.DefaultLeeway, Now: cfg.Now, Logger: cfg.Logger,
	}
	if err := rev.Poll(ctx); err != nil {
		return nil, err
	}
	tokens := cfg.Tokens
	tokens.Revoked = rev.Revoked
	if tokens.Now == nil {
		tokens.Now = cfg.Now
	}
	if tokens.Logger == nil {
		tokens.Logger = cfg.Logger
	}
	v, err := bearer.NewVerifier(tokens)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return &API{
		cfg:         cfg,
		verifier:    v,
		revocations: rev,
		sandbox:     &sandbox.API{Users: cfg.Users, Ledger: cfg.Ledger, StartingCash: cfg.StartingCash, Now: cfg.Now, Logger: cfg.Logger},
		targets:     targets,
	}, nil
}

// Run keeps the revocation list fresh until ctx ends.
func (a *API) Run(ctx context.Context) { a.revocations.Run(ctx) }

// Register mounts every route of the table on mux (an *http.ServeMux, or
// server.New's record of one), each as
//
//	CORS -> token (bearer.RequireAny of the route's scopes) -> rate limit of its category -> handler
//
// so a request without a valid token or scope costs no rate-limit budget,
// and the budget is per client and user. It also answers CORS preflights,
// so browser apps (PKCE clients) can call the API from their own origin:
// the API takes no cookies, so allowing any origin grants nothing a script
// could not do with its own token.
func (a *API) Register(mux interface{ Handle(string, http.Handler) }) {
	methods := map[string][]string{}
	for _, rt := range Routes {
		h := a.handler(rt)
		h = a.cfg.Limits.Middleware(rt.Category, callerKey)(h)
		h = logClient(h)
		h = a.verifier.RequireAny(rt.Scopes...)(h)
		mux.Handle(rt.Method+" "+rt.Path, cors(h))
		if !rt.WebSocket {
			methods[rt.Path] = append(methods[rt.Path], rt.Method)
		}
	}
	for path, ms := range methods {
		mux.Handle("OPTIONS "+path, preflight(ms))
	}
}

// handler is what serves rt once it is authorised.
func (a *API) handler(rt Route) http.Handler {
	switch {
	case rt.Sandbox != nil && rt.Upstream == "":
		serve := rt.Sandbox
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(a.sandbox, w, r) })
	case rt.Sandbox == nil && rt.Upstream != "":
		if target := upstreamFor(a.targets, rt.Upstream); target != nil {
			return newProxy(target, rt.Upstream, a.cfg.Logger)
		}
		return unavailable(rt.Upstream)
	}
	// The table is code: a route with neither or both is a bug caught by
	// the first test that starts a server.
	panic(fmt.Sprintf("api: route %s %s must have exactly one of Sandbox and Upstream", rt.Method, rt.Path))
}

// callerKey keys rate limits by client and user
// (docs/rate-limits.md#how-requests-are-keyed); for
// a client acting as itself the user is the client.
func callerKey(r *http.Request) string {
	c, ok := bearer.FromContext(r.Context())
	if !ok {
		return ""
	}
	return c.ClientID + " " + c.Subject
}

// logClient records the token's client for the request's access log line.
func logClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := bearer.FromContext(r.Context()); ok {
			accesslog.SetClient(r.Context(), c.ClientID)
		}
		next.ServeHTTP(w, r)
	})
}

// exposed are the response headers a browser app may read.
const exposed = "WWW-Authenticate, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Idempotent-Replayed, X-Request-Id, DPoP-Nonce"

func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", exposed)
		next.ServeHTTP(w, r)
	})
}

func preflight(methods []string) http.Handler {
	allow := strings.Join(slices.Sorted(slices.Values(methods)), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", allow)
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, DPoP")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	oauth.Write(w, &oauth.Error{Code: code, Description: description, Status: status})
}
