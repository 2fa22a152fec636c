package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/testenv"
)

// newTestServer builds the whole server over st with cheap password hashing.
func newTestServer(t testing.TB, st backend) *Server {
	t.Helper()
	master, _ := secret.NewMaster()
	cfg := DefaultConfig()
	cfg.Issuer = "http://aries.test"
	cfg.PasswordParams = password.TestParams
	s, err := New(context.Background(), cfg, st, st, master, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// backend is a database serving both stores, as each backend package does.
type backend = testenv.Backend

func openSQLite(t testing.TB) backend { return testenv.Open(t, false) }

func openPostgres(t testing.TB) backend { return testenv.Open(t, true) }

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signInForm returns a valid CSRF cookie and token for POST /login.
func signInForm(t testing.TB, s *Server) (*http.Cookie, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	m := csrfField.FindStringSubmatch(rec.Body.String())
	cookies := rec.Result().Cookies()
	if m == nil || len(cookies) == 0 {
		t.Fatalf("GET /login: no CSRF token and cookie:\n%s", rec.Body)
	}
	return cookies[0], m[1]
}

// Security review finding 4: 10,000 anonymous sign-ins with 60 KB emails
// left 626 MB of live heap, because limiter keys held the emails. Keys are
// hashed and swept now: the live heap grows by less than 20 MB.
func TestAnonymousSignInsDoNotGrowTheHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("measures the heap; test.sh runs it without -race")
	}
	s := newTestServer(t, openSQLite(t))
	ck, token := signInForm(t, s)
	email := strings.Repeat("e", 60<<10) + "@example.com"
	body := `{"client_id":"aries_ci_nobody","client_secret":"aries_cs_x","email":"` + email + `","password":"p","scope":"read"}`
	send := func(i int) {
		var req *http.Request
		if i%50 == 0 {
			form := url.Values{"csrf_token": {token}, "email": {fmt.Sprint(i) + email}, "password": {"guess"}}
			req = httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(ck)
		} else {
			req = httptest.NewRequest(http.MethodPost, "/v1/oauth2/authorize", strings.NewReader(strings.Replace(body, `"e`, `"`+fmt.Sprint(i), 1)))
			req.Header.Set("Content-Type", "application/json")
		}
		// Every request from another address: each gets a limiter key.
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:4000", i>>16&255, i>>8&255, i&255)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("request %d: status %d %s", i, rec.Code, rec.Body)
		}
	}
	send(0) // warm up: templates, pools, the first limiter shards
	before := liveHeap()
	for i := 1; i <= 10_000; i++ {
		send(i)
	}
	grown := int64(liveHeap()) - int64(before)
	t.Logf("live heap grew by %.1f MB over 10,000 oversized anonymous sign-ins", float64(grown)/(1<<20))
	if grown > 20<<20 {
		t.Errorf("live heap grew by %.1f MB, want under 20 MB", float64(grown)/(1<<20))
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// FuzzIdentifiers sends what a caller names (a client id, an email, a code)
// to every endpoint that looks one up, on both stores: whatever it is
// (a NUL byte, invalid UTF-8, 64 KiB), the answer is the endpoint's own
// error, never a 5xx that would read as an outage (security review
// finding 12).
func FuzzIdentifiers(f *testing.F) {
	for _, id := range []string{"aries_ci_x", "aries_ci_\x00x", "\xff\xfe", strings.Repeat("a", 64<<10), "a@example.com\x00", ""} {
		f.Add(id)
	}
	servers := map[string]*Server{"sqlite": newTestServer(f, openSQLite(f))}
	if pg := openPostgresIfAvailable(f); pg != nil {
		servers["postgres"] = newTestServer(f, pg)
	}
	f.Fuzz(func(t *testing.T, id string) {
		for name, s := range servers {
			ck, token := signInForm(t, s)
			q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://a.example/cb"}}
			form := url.Values{"csrf_token": {token}, "email": {id}, "password": {"guess"},
				"return_to": {"/oauth2/authorize?" + q.Encode()}}
			requests := []*http.Request{
				httptest.NewRequest(http.MethodGet, "/oauth2/authorize?"+q.Encode(), nil),
				httptest.NewRequest(http.MethodGet, "/login?"+url.Values{"return_to": {"/oauth2/authorize?" + q.Encode()}}.Encode(), nil),
				formRequest("/login", form.Encode()),
				formRequest("/v1/oauth2/authorize", url.Values{"client_id": {id}, "client_secret": {"s"}, "email": {id}, "password": {"p"}}.Encode()),
				formRequest("/v1/oauth2/token", url.Values{"grant_type": {"code"}, "client_id": {id}, "client_secret": {"s"}, "code": {id}}.Encode()),
				formRequest("/v1/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {id}}.Encode()),
				formRequest("/v1/oauth2/introspect", url.Values{"client_id": {id}, "client_secret": {"s"}, "token": {id}}.Encode()),
				formRequest("/v1/oauth2/revoke", url.Values{"client_id": {id}, "client_secret": {"s"}, "token": {id}}.Encode()),
			}
			requests[2].AddCookie(ck)
			for _, req := range requests {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Errorf("%s: %s %s with %q: status %d %s", name, req.Method, req.URL.Path, id, rec.Code, rec.Body)
				}
			}
		}
	})
}

func formRequest(path, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// openPostgresIfAvailable opens a PostgreSQL store when the tests have a
// server (always in CI, where pgtest fails rather than skips), and nil
// otherwise, so the fuzz target still runs on SQLite alone on a laptop.
func openPostgresIfAvailable(f *testing.F) backend {
	if os.Getenv(pgtest.EnvURL) == "" && os.Getenv("CI") == "" {
		f.Logf("%s is not set: fuzzing SQLite only", pgtest.EnvURL)
		return nil
	}
	return openPostgres(f)
}
