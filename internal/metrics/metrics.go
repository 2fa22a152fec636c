// Package metrics defines the Prometheus metrics Aries exports on /metrics,
// all on one registry owned by the server (no global registry).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters and histograms handlers update.
type Metrics struct {
	Registry        *prometheus.Registry
	Requests        *prometheus.CounterVec   // by route pattern and status
	RequestDuration *prometheus.HistogramVec // by route pattern
	TokensIssued    *prometheus.CounterVec   // by grant type
	RefreshReplays  prometheus.Counter
	CodeReuses      prometheus.Counter
	StoreErrors     prometheus.Counter
	// RateLimited counts requests refused with 429, by category.
	RateLimited *prometheus.CounterVec
	// RateLimitFallback is 1 while the shared (Redis) limiter is unreachable
	// and this instance enforces its own limits, 0 otherwise.
	RateLimitFallback prometheus.Gauge
}

// New registers every metric on a fresh registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aries_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aries_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aries_tokens_issued_total", Help: "Access tokens issued by grant type.",
		}, []string{"grant_type"}),
		RefreshReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aries_refresh_token_replays_total", Help: "Rotated refresh tokens presented again; each revoked its family.",
		}),
		CodeReuses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aries_authorization_code_reuses_total", Help: "Authorization codes presented a second time; each revoked its grant.",
		}),
		StoreErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aries_store_errors_total", Help: "Storage operations that failed with an unexpected error.",
		}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aries_rate_limited_total", Help: "Requests refused with 429 by rate-limit category.",
		}, []string{"category"}),
		RateLimitFallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aries_rate_limit_fallback", Help: "1 while the shared Redis limiter is unreachable and this instance enforces per-instance limits.",
		}),
	}
	reg.MustRegister(m.Requests, m.RequestDuration, m.TokensIssued, m.RefreshReplays, m.CodeReuses, m.StoreErrors,
		m.RateLimited, m.RateLimitFallback,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
