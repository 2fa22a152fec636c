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

	"github.com/urfave/cli/v3"

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
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return withEnv(ctx, cmd, func(e *env) error { return serve(ctx, cmd, e, stdout, stderr) })
		},
	}
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
	srv, err := server.New(ctx, cfg, e.store, e.master, logger)
	if err != nil {
		return err
	}
	if cfg.Demo {
		if err := seedDemo(ctx, e, cfg.Issuer, stdout); err != nil {
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

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.Info("aries serving", "addr", ln.Addr().String(), "issuer", cfg.Issuer)
	fmt.Fprintf(stdout, "Aries is listening on %s (issuer %s)\n", ln.Addr(), cfg.Issuer)

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
