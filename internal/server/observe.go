package server

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"strconv"
	"time"

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
// Only the path is logged: query strings can carry codes and tokens.
func observe(next http.Handler, m *metrics.Metrics, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := rand.Text()[:16]
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(withRequestID(r.Context(), id))
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
			logger.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path,
				"route", route, "status", rec.status, "duration", elapsed)
		}()
		next.ServeHTTP(rec, r)
	})
}
