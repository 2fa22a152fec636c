package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// defaultMetricsAddr is where `aries serve` answers Prometheus by default:
// loopback, so a scraper on the machine (or a sidecar) reads it and nobody
// else does. 9464 is the port OpenTelemetry's Prometheus exporter uses.
const defaultMetricsAddr = "127.0.0.1:9464"

// serveMetrics serves h at /metrics on addr, a listener of its own: route
// names, status counts and rate-limit figures tell an attacker what works,
// so they are never on the public listener
// (docs/security.md#metrics-stay-off-the-public-listener). Unlike
// --pprof-addr any address is allowed, since Prometheus often scrapes over
// a private network. The returned server's Addr is the address it listens
// on.
func serveMetrics(addr string, h http.Handler, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w (another address, or --metrics-addr '' to turn metrics off)", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	hs := &http.Server{
		Addr: ln.Addr().String(), Handler: mux,
		ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
	}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("metrics listener stopped", "err", err)
		}
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String())
	return hs, nil
}
