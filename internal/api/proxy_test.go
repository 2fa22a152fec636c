package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/sdk/bearer"
)

func TestReservedHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"X-Aries-User", true},
		{"X_Aries_User", true},
		{"x-aries_scopes", true},
		{"X_ARIES_CLIENT", true},
		{"x_aries-admin", true},
		{"X-Aries-", true},
		{"X-Aries", false},
		{"X-Ariesx-User", false},
		{"X-Aries.User", false},
		{"Aries-User", false},
		{"X-Forwarded-For", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := reservedHeader(tt.name); got != tt.want {
			t.Errorf("reservedHeader(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestProxyStripsReservedHeaders sends the caller headers in every spelling a
// CGI or WSGI upstream folds into HTTP_X_ARIES_*, over real HTTP (Go's server
// gives X_Aries_User a key of its own), and checks that the upstream sees
// only the values Aries sets
// (docs/security.md#upstreams-see-only-what-aries-sets).
func TestProxyStripsReservedHeaders(t *testing.T) {
	tests := []struct {
		name   string
		claims *bearer.Claims
		want   map[string]string // every header the upstream sees whose folded name starts with x-aries-
	}{
		{
			name:   "user",
			claims: &bearer.Claims{Subject: "usr_alice", ClientID: "aries_ci_app", Scopes: []string{"market:information"}},
			want:   map[string]string{HeaderUser: "usr_alice", HeaderClient: "aries_ci_app", HeaderScopes: "market:information"},
		},
		{
			// A client acting as itself gets no X-Aries-User, so a forged
			// one would be the only user header the upstream sees.
			name:   "client acting as itself",
			claims: &bearer.Claims{Subject: "aries_ci_app", ClientID: "aries_ci_app", Scopes: []string{"market:information"}},
			want:   map[string]string{HeaderClient: "aries_ci_app", HeaderScopes: "market:information"},
		},
	}
	forged := []string{
		"X-Aries-User", "X_Aries_User", "x_aries_user", "X-Aries_User", "x-aries_scopes",
		"X_ARIES_CLIENT", "X_Aries_Admin", "x-aries-admin",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan http.Header, 1)
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Clone()
			}))
			defer upstream.Close()
			target, err := url.Parse(upstream.URL)
			if err != nil {
				t.Fatal(err)
			}
			proxy := newProxy(target, "/v1/marketdata", slog.New(slog.DiscardHandler))
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				proxy.ServeHTTP(w, r.WithContext(bearer.NewContext(r.Context(), tt.claims)))
			}))
			defer front.Close()

			req, err := http.NewRequest("GET", front.URL+"/v1/marketdata/search", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range forged {
				// Assigned to the map so the client sends the name as
				// written rather than canonicalized.
				req.Header[name] = []string{"usr_mallory"}
			}
			req.Header.Set("X-Request-Note", "kept")
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", resp.StatusCode)
			}

			h := <-got
			seen := map[string]string{}
			for name, values := range h {
				if reservedHeader(name) {
					seen[name] = strings.Join(values, ",")
				}
			}
			for name, v := range seen {
				if tt.want[name] != v {
					t.Errorf("upstream got %s: %q, want %q", name, v, tt.want[name])
				}
			}
			for name, v := range tt.want {
				if seen[name] != v {
					t.Errorf("upstream got %s: %q, want %q", name, seen[name], v)
				}
			}
			if got := h.Get("X-Request-Note"); got != "kept" {
				t.Errorf("upstream got X-Request-Note %q, want %q", got, "kept")
			}
		})
	}
}
