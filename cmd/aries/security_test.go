package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// The security review's findings (docs/security.md) that are about the
// binary: the limits of the HTTP server `aries serve` runs, on both
// backends. internal/server's security_flow_test.go has the rest.

// Finding 12: on PostgreSQL, a client_id with a NUL byte or invalid UTF-8
// answered 503 ("try again"): bad input read as an outage. Every backend
// now gives the endpoint's own 4xx.
func TestBadIdentifiersAre4xx(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var srv *testServer
			if backend == "sqlite" {
				srv = startServer(t, t.TempDir())
			} else {
				db := pgtest.Database(t)
				var errOut *syncBuffer
				_, sec := secret.NewMaster()
				srv, errOut = startInstance(t, []string{"aries", "--db", db, "--secret", sec, "--log-level", "error", "serve", "--addr", "127.0.0.1:0"})
				if srv == nil {
					t.Fatalf("aries serve on PostgreSQL did not start: %s", errOut)
				}
			}
			checkBadIdentifiers(t, srv)
		})
	}
}

func checkBadIdentifiers(t *testing.T, srv *testServer) {
	t.Helper()
	bad := map[string]string{
		"NUL":           "aries_ci_\x00x",
		"invalid UTF-8": "aries_ci_\xff\xfe",
		"64 KiB":        strings.Repeat("a", 64<<10),
	}
	for name, id := range bad {
		t.Run(name, func(t *testing.T) {
			q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://a.example/cb"}, "scope": {"read"}}
			// A 64 KiB query is refused before any handler (431); the others
			// reach the authorization endpoint and get its error page.
			resp, body := get(t, browser(t), srv.URL+"/oauth2/authorize?"+q.Encode())
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge &&
				(resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_client")) {
				t.Errorf("GET /oauth2/authorize: status %d, want the 400 invalid_client page", resp.StatusCode)
			}
			c := browser(t)
			resp, body = get(t, c, srv.URL+"/login?"+url.Values{"return_to": {"/oauth2/authorize?" + q.Encode()}}.Encode())
			switch resp.StatusCode {
			case http.StatusRequestHeaderFieldsTooLarge:
			case http.StatusOK:
				action, fields := form(t, body)
				fields.Set("return_to", "/oauth2/authorize?"+q.Encode())
				fields.Set("email", id+"@example.com")
				fields.Set("password", "whatever")
				if resp, _ := postForm(t, c, srv.URL+action, fields); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("POST /login with the email and return_to: status %d, want 401", resp.StatusCode)
				}
			default:
				t.Errorf("GET /login naming the client: status %d, want 200", resp.StatusCode)
			}
			for _, tt := range []struct {
				path, body string
				status     int
				code       string
			}{
				{"/v1/oauth2/authorize", `{"client_id":` + jsonString(id) + `,"client_secret":"s","email":"a@example.com","password":"p","scope":"read"}`, 0, ""},
				{"/v1/oauth2/token", "grant_type=client_credentials&client_id=" + url.QueryEscape(id) + "&client_secret=s", 0, ""},
				{"/v1/oauth2/token", "grant_type=code&client_id=x&client_secret=s&code=" + url.QueryEscape(id), 0, ""},
				{"/v1/oauth2/introspect", "token=" + url.QueryEscape(id) + "&client_id=" + url.QueryEscape(id) + "&client_secret=s", 0, ""},
			} {
				ct := "application/x-www-form-urlencoded"
				if strings.HasPrefix(tt.body, "{") {
					ct = "application/json"
				}
				resp, err := http.Post(srv.URL+tt.path, ct, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 400 || resp.StatusCode >= 500 {
					t.Errorf("POST %s: status %d %s, want a 4xx", tt.path, resp.StatusCode, b)
				}
			}
		})
	}
}

// jsonString is s as a JSON string literal, invalid UTF-8 bytes kept raw so
// the server sees them as sent.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			b.WriteString(`\u0000`)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
