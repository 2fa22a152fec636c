package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHSTS(t *testing.T) {
	tests := []struct {
		issuer string
		want   string
	}{
		{"https://auth.example.com", hstsValue},
		{"https://auth.example.com:8443/aries", hstsValue},
		{"http://127.0.0.1:8080", ""},
		{"http://auth.example.com", ""},
	}
	for _, tt := range tests {
		for _, status := range []int{http.StatusOK, http.StatusNotFound, http.StatusInternalServerError} {
			h := hsts(tt.issuer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anything", nil))
			if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
				t.Errorf("issuer %s, status %d: got Strict-Transport-Security %q, want %q", tt.issuer, status, got, tt.want)
			}
		}
	}
}
