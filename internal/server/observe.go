package server

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ariesexchange/aries/internal/accesslog"
	"github.com/ariesexchange/aries/internal/metrics"
)

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe gives every request an id (X-Request-Id), counts it by route
// pattern and status, times it, logs it, and turns a panic into a 500.
//
// With accessLog (aries serve --access-log, docs/deployment.md#logs) the
// line is written at info, otherwise at debug: request_id, method, route
// pattern, status, duration, and the client the request authenticated as
// when a handler recorded one (package accesslog). Neither the path nor the
// query string is logged: query strings carry codes and state, paths carry
// ids, and the route pattern says which endpoint answered.
func observe(next http.Handler, m *metrics.Metrics, logger *slog.Logger, accessLog bool) http.Handler {
	level := slog.LevelDebug
	if accessLog {
		level = slog.LevelInfo
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := rand.Text()[:16]
		w.Header().Set("X-Request-Id", id)
		ctx, entry := accesslog.With(withRequestID(r.Context(), id))
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(r.Context(), "handler panicked", "panic", p)
				if rec.status == 0 {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			// r.Pattern is set by the mux; it keeps the label set small.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			m.Requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
			m.RequestDuration.WithLabelValues(route).Observe(elapsed.Seconds())
			if !logger.Enabled(r.Context(), level) {
				return
			}
			attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rec.status), slog.Duration("duration", elapsed)}
			if c := entry.ClientID(); c != "" {
				attrs = append(attrs, slog.String("client_id", c))
			}
			logger.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}
