package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/ariesexchange/aries/internal/accesslog"
	"github.com/ariesexchange/aries/internal/metrics"
)

// BenchmarkObserve measures what the access log line adds to a request's
// trip through observe, written as production writes it: JSON, to a file.
// BENCHMARKS.md#access-log has the figures.
func BenchmarkObserve(b *testing.B) {
	for _, tc := range []struct {
		name      string
		accessLog bool
	}{{"access_log_off", false}, {"access_log_on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "aries.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			logger := slog.New(requestIDHandler{slog.NewJSONHandler(f, nil)})
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
				accesslog.SetClient(r.Context(), "aries_ci_d2ubf26lhsan23ccnvrn6pg7o5")
				w.WriteHeader(http.StatusOK)
			})
			h := observe(mux, metrics.New(), logger, tc.accessLog)
			req := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
