package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v3"

	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/replay"
	"github.com/ariesexchange/aries/internal/server"
)

func serveCommand(stdout, stderr io.Writer) *cli.Command {
	d := server.DefaultConfig()
	return &cli.Command{
		Name:  "serve",
		Usage: "migrate the store and serve the authorization server, its pages and the API",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Sources: cli.EnvVars("ARIES_ADDR"), Usage: "listen address"},
			&cli.StringFlag{Name: "issuer", Sources: cli.EnvVars("ARIES_ISSUER"), Usage: "public base URL (default http://ADDR); https in production"},
			&cli.StringFlag{Name: "audience", Sources: cli.EnvVars("ARIES_AUDIENCE"), Usage: "aud of access tokens (default: the issuer)"},
			&cli.BoolFlag{Name: "demo", Sources: cli.EnvVars("ARIES_DEMO"), Usage: "seed a demo user and clients once and print how to try them"},
			&cli.DurationFlag{Name: "code-ttl", Value: d.CodeTTL, Sources: cli.EnvVars("ARIES_CODE_TTL"), Usage: "authorization code lifetime (at most 10m)"},
			&cli.DurationFlag{Name: "access-token-ttl", Value: d.AccessTokenTTL, Sources: cli.EnvVars("ARIES_ACCESS_TOKEN_TTL")},
			&cli.DurationFlag{Name: "refresh-token-ttl", Value: d.RefreshTokenTTL, Sources: cli.EnvVars("ARIES_REFRESH_TOKEN_TTL"), Usage: "a refresh token dies after this long unused"},
			&cli.DurationFlag{Name: "refresh-token-max-age", Value: d.RefreshTokenMaxAge, Sources: cli.EnvVars("ARIES_REFRESH_TOKEN_MAX_AGE"), Usage: "no refresh token outlives its sign-in by more than this"},
			&cli.DurationFlag{Name: "session-ttl", Value: d.SessionTTL, Sources: cli.EnvVars("ARIES_SESSION_TTL"), Usage: "browser session lifetime"},
			&cli.StringFlag{Name: "log-format", Value: "text", Sources: cli.EnvVars("ARIES_LOG_FORMAT"), Usage: "text or json"},
			&cli.StringSliceFlag{Name: "rate-limit", Sources: cli.EnvVars("ARIES_RATE_LIMITS"), Usage: "CATEGORY=COUNT/PERIOD, e.g. authentication=10/1m (repeatable; categories authentication, user, market, trading)"},
			&cli.BoolFlag{Name: "rate-limits-off", Sources: cli.EnvVars("ARIES_RATE_LIMITS_OFF"), Usage: "turn every rate limit off (for benchmarks)"},
			&cli.StringSliceFlag{Name: "upstream", Sources: cli.EnvVars("ARIES_UPSTREAMS"), Usage: "PREFIX=URL: forward the API routes under PREFIX (e.g. /v1/marketdata, or /v1 for all) to the service at URL (repeatable)"},
			&cli.DurationFlag{Name: "revocation-interval", Value: d.RevocationInterval, Sources: cli.EnvVars("ARIES_REVOCATION_INTERVAL"), Usage: "how often the API polls for revoked tokens: the delay before a revoked token stops working there"},
			&cli.StringSliceFlag{Name: "mfa-scopes", Sources: cli.EnvVars("ARIES_MFA_SCOPES"), Usage: `scopes that need two-step verification, e.g. "order:execution funds:withdrawal" (bundles allowed)`},
			&cli.DurationFlag{Name: "mfa-max-age", Value: d.MFAMaxAge, Sources: cli.EnvVars("ARIES_MFA_MAX_AGE"), Usage: "how long a browser session's last TOTP code covers --mfa-scopes"},
			&cli.StringFlag{Name: "pprof-addr", Sources: cli.EnvVars("ARIES_PPROF_ADDR"), Usage: "serve Go runtime profiles (net/http/pprof) on this loopback address; off when empty"},
			&cli.StringFlag{Name: "metrics-addr", Value: defaultMetricsAddr, Sources: cli.EnvVars("ARIES_METRICS_ADDR"), Usage: "serve Prometheus metrics at /metrics on this address, never on --addr; off when empty"},
			&cli.BoolFlag{Name: "dpop-nonce", Sources: cli.EnvVars("ARIES_DPOP_NONCE"), Usage: "make every DPoP proof carry a server nonce (RFC 9449 section 8), rotating every minute"},
			&cli.BoolFlag{Name: "require-par", Sources: cli.EnvVars("ARIES_REQUIRE_PAR"), Usage: "refuse every authorization request that was not pushed to /v1/oauth2/par first (RFC 9126)"},
			&cli.StringSliceFlag{Name: "trusted-proxies", Sources: cli.EnvVars("ARIES_TRUSTED_PROXIES"), Usage: "CIDR,...: the load balancers whose X-Forwarded-For (the rightmost address not in the list) is believed for rate limits and logs; nobody's when empty"},
			&cli.BoolFlag{Name: "access-log", Value: d.AccessLog, Sources: cli.EnvVars("ARIES_ACCESS_LOG"), Usage: "log one line per request at info: request id, method, route, status, duration, client id"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			err := withEnv(ctx, cmd, func(e *env) error { return serve(ctx, cmd, e, stdout, stderr) })
			if err != nil && cmd.String("log-format") == "json" {
				// Every line serve writes is JSON, its last words too
				// (docs/deployment.md#logs).
				if logger, lerr := newLogger(cmd, stderr); lerr == nil {
					logger.Error("aries serve stopped", "err", err)
					return loggedError{err}
				}
			}
			return err
		},
	}
}

// parseUpstreams reads the --upstream values, PREFIX=URL each, into the map
// of server.Config.Upstreams. Whether each prefix and URL is one the API can
// use is server.Config.Validate's to say.
func parseUpstreams(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, spec := range specs {
		prefix, base, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, fmt.Errorf("upstream %q: want PREFIX=URL, e.g. /v1/marketdata=http://127.0.0.1:9000", spec)
		}
		out[strings.TrimSpace(prefix)] = strings.TrimSpace(base)
	}
	return out, nil
}

// loggedError is an error serve has already written as a log record; run
// does not print it again.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// say writes one line of serve's standard output for people (the banner,
// the demo's credentials): text as given, or with --log-format json a JSON
// record with msg and attrs, so a JSON-only pipeline reads every line.
type say struct {
	w    io.Writer
	json *slog.Logger // nil for text
}

func newSay(cmd *cli.Command, w io.Writer) say {
	if cmd.String("log-format") == "json" {
		return say{w: w, json: slog.New(slog.NewJSONHandler(w, nil))}
	}
	return say{w: w}
}

func (s say) line(text, msg string, attrs ...any) {
	if s.json != nil {
		s.json.Info(msg, attrs...)
		return
	}
	fmt.Fprint(s.w, text)
}

func newLogger(cmd *cli.Command, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cmd.String("log-format") {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: expected text or json", cmd.String("log-format"))
}

func serve(ctx context.Context, cmd *cli.Command, e *env, stdout, stderr io.Writer) error {
	logger, err := newLogger(cmd, stderr)
	if err != nil {
		return err
	}
	cfg := server.DefaultConfig()
	cfg.Audience = cmd.String("audience")
	cfg.Demo = cmd.Bool("demo")
	cfg.CodeTTL = cmd.Duration("code-ttl")
	cfg.AccessTokenTTL = cmd.Duration("access-token-ttl")
	cfg.RefreshTokenTTL = cmd.Duration("refresh-token-ttl")
	cfg.RefreshTokenMaxAge = cmd.Duration("refresh-token-max-age")
	cfg.SessionTTL = cmd.Duration("session-ttl")
	for _, spec := range cmd.StringSlice("rate-limit") {
		if err := cfg.RateLimits.Set(spec); err != nil {
			return fmt.Errorf("--rate-limit: %w", err)
		}
	}
	cfg.RateLimitsOff = cmd.Bool("rate-limits-off")
	if cfg.Upstreams, err = parseUpstreams(cmd.StringSlice("upstream")); err != nil {
		return fmt.Errorf("--upstream: %w", err)
	}
	cfg.RevocationInterval = cmd.Duration("revocation-interval")
	cfg.MFAScopes = strings.Fields(strings.Join(cmd.StringSlice("mfa-scopes"), " "))
	cfg.MFAMaxAge = cmd.Duration("mfa-max-age")
	cfg.DPoPNonce = cmd.Bool("dpop-nonce")
	cfg.RequirePAR = cmd.Bool("require-par")
	if cfg.TrustedProxies, err = ratelimit.ParseTrustedProxies(cmd.StringSlice("trusted-proxies")...); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	cfg.AccessLog = cmd.Bool("access-log")
	out := newSay(cmd, stdout)
	if e.redis != nil {
		cfg.SharedLimiter = ratelimit.NewRedis(e.redis, "")
		cfg.DPoPReplay = replay.NewRedis(e.redis, "")
		redis.SetLogger(redisLogger{logger})
	}

	// Listen before choosing the issuer so that --addr 127.0.0.1:0 works.
	ln, err := net.Listen("tcp", cmd.String("addr"))
	if err != nil {
		return err
	}
	defer ln.Close()
	cfg.Issuer = strings.TrimSuffix(cmd.String("issuer"), "/")
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + ln.Addr().String()
	}
	srv, err := server.New(ctx, cfg, e.store, e.store, e.master, logger)
	if err != nil {
		return err
	}
	if cfg.Demo {
		if err := seedDemo(ctx, e, cfg.Issuer, demoEnvFile(cmd.String("db")), out); err != nil {
			return fmt.Errorf("seeding the demo: %w", err)
		}
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	maintainCtx, stopMaintain := context.WithCancel(context.Background())
	defer stopMaintain()
	go srv.Maintain(maintainCtx)
	if addr := cmd.String("pprof-addr"); addr != "" {
		ps, err := servePprof(addr, logger)
		if err != nil {
			return err
		}
		defer ps.Close()
	}
	if addr := cmd.String("metrics-addr"); addr != "" {
		ms, err := serveMetrics(addr, srv.MetricsHandler(), logger)
		if err != nil {
			return err
		}
		defer ms.Close()
		out.line(fmt.Sprintf("Metrics on http://%s/metrics\n", ms.Addr), "Metrics on http://"+ms.Addr+"/metrics", "metrics_url", "http://"+ms.Addr+"/metrics")
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.Info("aries serving", "addr", ln.Addr().String(), "issuer", cfg.Issuer)
	out.line(fmt.Sprintf("Aries is listening on %s (issuer %s)\n", ln.Addr(), cfg.Issuer),
		"Aries is listening on "+ln.Addr().String(), "addr", ln.Addr().String(), "issuer", cfg.Issuer)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Drain in-flight requests, then stop.
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
