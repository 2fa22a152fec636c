package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ariesexchange/aries/internal/metrics"
)

// TestRequestIDInLogs: what a handler logs with the request's context
// carries the id the response names in X-Request-Id, so an operator can
// find the log lines of one failed request.
func TestRequestIDInLogs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(requestIDHandler{slog.NewJSONHandler(&buf, nil)})
	h := observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.ErrorContext(r.Context(), "store failed", "err", "connection refused")
		w.WriteHeader(http.StatusServiceUnavailable)
	}), metrics.New(), logger, false)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/oauth2/token?code=secret-code", nil))
	id := rec.Header().Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id on the response")
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log output %q: %v", buf.String(), err)
	}
	if line["request_id"] != id || line["msg"] != "store failed" {
		t.Errorf("log record %v: want msg \"store failed\" with request_id %q", line, id)
	}
	if bytes.Contains(buf.Bytes(), []byte("secret-code")) {
		t.Errorf("the log holds the query string: %s", buf.String())
	}
}
