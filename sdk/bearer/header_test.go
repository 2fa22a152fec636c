package bearer

import (
	"net/http/httptest"
	"testing"
)

// TestTokenFromRequest: the one reader of RFC 6750 section 2.1, shared by
// Require and by handlers that check tokens their own way.
func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		headers []string // Authorization values
		want    string
		wantErr bool
	}{
		{name: "bearer", target: "/", headers: []string{"Bearer abc"}, want: "abc"},
		{name: "scheme in any case", target: "/", headers: []string{"bEaReR abc"}, want: "abc"},
		{name: "spaces around the token", target: "/", headers: []string{"Bearer   abc  "}, want: "abc"},
		{name: "no header", target: "/"},
		{name: "another scheme", target: "/", headers: []string{"Basic YTpi"}},
		{name: "empty token", target: "/", headers: []string{"Bearer "}, wantErr: true},
		{name: "two headers", target: "/", headers: []string{"Bearer a", "Bearer b"}, wantErr: true},
		{name: "token in the query", target: "/?access_token=abc", wantErr: true},
		{name: "query naming it only in a value", target: "/?q=access_token", headers: []string{"Bearer abc"}, want: "abc"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		for _, h := range tt.headers {
			r.Header.Add("Authorization", h)
		}
		got, err := TokenFromRequest(r)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: got %q, %v; want %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}
