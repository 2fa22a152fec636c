package oauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWriteRetryAfter: a 503 server_error (the store is unreachable) tells
// the client when to retry; other errors, and a Retry-After the handler set
// itself, are left alone.
func TestWriteRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		err    *Error
		preset string
		want   string
	}{
		{"store outage", &Error{Code: ServerError, Status: http.StatusServiceUnavailable}, "", "1"},
		{"handler's own delay", &Error{Code: ServerError, Status: http.StatusServiceUnavailable}, "7", "7"},
		{"another 503", &Error{Code: "upstream_unavailable", Status: http.StatusServiceUnavailable}, "", ""},
		{"a 400", &Error{Code: InvalidRequest}, "", ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		if tt.preset != "" {
			rec.Header().Set("Retry-After", tt.preset)
		}
		Write(rec, tt.err)
		if got := rec.Header().Get("Retry-After"); got != tt.want {
			t.Errorf("%s: Retry-After %q, want %q", tt.name, got, tt.want)
		}
	}
}
