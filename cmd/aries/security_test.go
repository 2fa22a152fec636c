package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// End-to-end tests of the security review's findings (docs/security.md)
// through `aries serve`. Source addresses are real: a client binds its
// side of the loopback connection to 127.0.0.N, which is what the server
// sees as the request's address.

// browserFrom is a browser whose connections come from ip (a loopback
// address other than 127.0.0.1 stands for another machine).
func browserFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signInFrom posts the hosted sign-in form from browser c, coming back to
// returnTo, and returns the answer.
func (f *fixture) signInFrom(t *testing.T, c *http.Client, returnTo, email, password string) step {
	t.Helper()
	page := f.getStep(t, c, f.URL+"/login?"+url.Values{"return_to": {returnTo}}.Encode())
	return f.submit(t, c, page, "email", email, "password", password)
}

// Finding 1: the TOTP step's limit was keyed on the client_id inside
// return_to, which nothing checks, so a fresh id per sign-in bought fresh
// guesses. Now, with the password known, 60 sign-ins of 5 wrong codes, each
// naming another client, get at most 10 codes checked; the factor is then
// locked, the right code refused, and `aries users unlock` lifts it.
func TestSecondFactorCannotBeBruteForced(t *testing.T) {
	f := newFixture(t, generous...)
	acct := f.newMFAUser(t, "target@example.com")
	checked := secondFactorCycles(t, func(int) *fixture { return f }, acct, 60)
	if checked > lockout.SecondFactorLimit {
		t.Errorf("%d wrong codes were checked, want at most %d", checked, lockout.SecondFactorLimit)
	}
	wantSecondFactorLocked(t, f, acct)

	out, errOut, status := aries(t, f.dir, "users", "unlock", acct.ID, "--json")
	var unlocked struct {
		ID       string `json:"id"`
		Unlocked bool   `json:"unlocked"`
	}
	if status != 0 || json.Unmarshal([]byte(out), &unlocked) != nil || unlocked.ID != acct.ID || !unlocked.Unlocked {
		t.Fatalf("aries users unlock: status %d, %s %s", status, out, errOut)
	}
	c := browser(t)
	s := f.submit(t, c, f.signInToTOTP(t, c, f.conf.ClientID, "read", acct), "code", acct.code(t, 1))
	if loc, _ := s.Location(); s.StatusCode != http.StatusSeeOther || loc == nil {
		t.Errorf("right code after the operator's unlock: status %d, want 303 onwards:\n%s", s.StatusCode, s.body)
	}
	if _, errOut, status := aries(t, f.dir, "users", "unlock", "usr_nobody"); status == 0 || !strings.Contains(errOut, "no user") {
		t.Errorf("users unlock of an unknown id: status %d, stderr %q; want an error naming it", status, errOut)
	}
}

// secondFactorCycles signs acct in n times with the password, each time
// coming back to an authorization request of a made-up client, and sends
// five wrong codes per sign-in, at the instance at(cycle). It returns how
// many codes the server checked (answered "not right" rather than "locked").
func secondFactorCycles(t *testing.T, at func(cycle int) *fixture, acct mfaAccount, n int) int {
	t.Helper()
	checked := 0
	for cycle := range n {
		f := at(cycle)
		c := browser(t)
		q := url.Values{"response_type": {"code"}, "client_id": {fmt.Sprintf("aries_ci_made_up_%d", cycle)},
			"redirect_uri": {f.redirectURI}, "scope": {"read"}}
		s := f.signInFrom(t, c, "/oauth2/authorize?"+q.Encode(), acct.Email, acct.password)
		if loc, _ := s.Location(); s.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/login/mfa" {
			t.Fatalf("cycle %d: password: status %d, want 303 to /login/mfa:\n%s", cycle, s.StatusCode, s.body)
		}
		s = f.follow(t, c, s)
		for range 5 {
			if !strings.Contains(s.body, `name="code"`) {
				break // locked: the page offers recovery codes only
			}
			s = f.submit(t, c, s, "code", acct.wrongCode(t))
			switch {
			case strings.Contains(s.body, "locked after too many wrong codes"):
			case strings.Contains(s.body, "not right") || strings.Contains(s.body, "Too many wrong codes"):
				checked++
			default:
				t.Fatalf("cycle %d: status %d, neither a wrong code nor the lock:\n%s", cycle, s.StatusCode, s.body)
			}
			if strings.Contains(s.body, "Too many wrong codes") {
				break // this challenge is spent: sign in again
			}
		}
	}
	return checked
}

// wantSecondFactorLocked checks that the right code is refused at f, and
// that the page says why.
func wantSecondFactorLocked(t *testing.T, f *fixture, acct mfaAccount) {
	t.Helper()
	c := browser(t)
	s := f.submit(t, c, f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read")), "email", acct.Email, "password", acct.password)
	s = f.follow(t, c, s)
	if !strings.Contains(s.body, "locked after too many wrong codes") || !strings.Contains(s.body, `name="recovery_code"`) {
		t.Fatalf("TOTP step once locked: want the lock message and the recovery-code form:\n%s", s.body)
	}
	// The code form is gone; post the right code the way a script would.
	action, fields := form(t, s.body)
	fields.Set("code", acct.code(t, 0))
	resp, body := postForm(t, c, f.URL+action, fields)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "locked after too many wrong codes") {
		t.Errorf("right code once locked: status %d, want 403 with the lock message:\n%s", resp.StatusCode, body)
	}
}

// Finding 3: first-party password sign-in had no lock, a public client
// could be first-party, and the endpoints answered CORS from any origin.
func TestFirstPartyIsLockedAndPrivate(t *testing.T) {
	f := newFixture(t, generous...)
	if _, errOut, status := aries(t, f.dir, "clients", "create", "--name", "SPA", "--public", "--first-party",
		"--redirect-uri", f.redirectURI, "--scope", "read"); status == 0 {
		t.Errorf("clients create --public --first-party succeeded; want it refused")
	} else if errOut == "" {
		t.Error("clients create --public --first-party: no error message")
	}
	app := f.firstPartyClient(t, false)

	for _, path := range []string{"/v1/oauth2/authorize", "/v1/oauth2/mfa/verify"} {
		req, _ := http.NewRequest(http.MethodOptions, f.URL+path, nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("OPTIONS %s: Access-Control-Allow-Origin %q, want none", path, got)
		}
	}
	body := `{"client_id":"` + app.ClientID + `","client_secret":"` + app.ClientSecret + `","email":"x@example.com","password":"p","scope":"read"}`
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/v1/oauth2/authorize", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("POST /v1/oauth2/authorize: Access-Control-Allow-Origin %q, want none", got)
	}
	if got := f.token(t, url.Values{"grant_type": {"client_credentials"}}); got.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("the token endpoint lost its CORS header (browser apps call it)")
	}

	// One password lock for both sign-ins: failures at the first-party
	// endpoint lock the hosted page too, for that address only.
	for i := range lockout.PasswordThreshold {
		a := f.signInFirstParty(t, app, f.email, "not the password", "read")
		wantFP(t, fmt.Sprintf("wrong password %d", i+1), a, http.StatusUnauthorized, "access_denied")
	}
	wantFP(t, "the right password once locked", f.signInFirstParty(t, app, f.email, f.password, "read"),
		http.StatusTooManyRequests, "access_denied")
	s := f.signInFrom(t, browser(t), "/", f.email, f.password)
	if s.StatusCode != http.StatusTooManyRequests {
		t.Errorf("hosted sign-in from the locked address: status %d, want 429", s.StatusCode)
	}
	s = f.signInFrom(t, browserFrom(t, "127.0.0.2"), "/", f.email, f.password)
	if s.StatusCode != http.StatusSeeOther {
		t.Errorf("hosted sign-in from another address: status %d, want 303:\n%s", s.StatusCode, s.body)
	}
}

// Finding 7: anyone could keep a known email locked out of the hosted
// sign-in, correct password included. A stranger's failures lock only the
// stranger's address.
func TestStrangerCannotLockUserOut(t *testing.T) {
	f := newFixture(t, generous...)
	stranger := browserFrom(t, "127.0.0.3")
	for range 3 * lockout.PasswordThreshold {
		f.signInFrom(t, stranger, "/", f.email, "guessing")
	}
	if s := f.signInFrom(t, stranger, "/", f.email, f.password); s.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the stranger's address: status %d, want 429", s.StatusCode)
	}
	if s := f.signInFrom(t, browserFrom(t, "127.0.0.4"), "/", f.email, f.password); s.StatusCode != http.StatusSeeOther {
		t.Errorf("the user from their own address: status %d, want 303:\n%s", s.StatusCode, s.body)
	}
}

// Finding 5: 200 concurrent anonymous sign-ins made a real user's take
// 6-14 s, queued behind argon2. Now each address pays before the hash and
// the hash queue is bounded: the flood gets 429 and 503 at once, and the
// real user signs in.
func TestSignInUnderFlood(t *testing.T) {
	f := newFixture(t)
	const flooders = 150
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	start := make(chan struct{})
	for i := range flooders {
		c := browserFrom(t, fmt.Sprintf("127.0.0.%d", 10+i%3))
		page := f.getStep(t, c, f.URL+"/login")
		wg.Go(func() {
			<-start
			s := f.submit(t, c, page, "email", fmt.Sprintf("flood%d@example.com", i), "password", "guess guess")
			mu.Lock()
			statuses[s.StatusCode]++
			mu.Unlock()
		})
	}
	real := browserFrom(t, "127.0.0.2")
	page := f.getStep(t, real, f.URL+"/login")
	close(start)
	// A real browser retries a 503 after its Retry-After.
	var s step
	for range 5 {
		if s = f.submit(t, real, page, "email", f.email, "password", f.password); s.StatusCode != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Second) // the server's Retry-After, as a browser would wait
		page = f.getStep(t, real, f.URL+"/login")
	}
	wg.Wait()
	if s.StatusCode != http.StatusSeeOther {
		t.Errorf("the real sign-in under the flood: status %d, want 303", s.StatusCode)
	}
	for status, n := range statuses {
		if status != http.StatusUnauthorized && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			t.Errorf("%d flood requests answered %d, want 401, 429 or 503", n, status)
		}
	}
	// Three addresses at 10 a minute: at most 30 wrong passwords hashed.
	if statuses[http.StatusUnauthorized] > 30 {
		t.Errorf("%d flood requests were checked (401), want at most 30: the per-address limit comes before the hash", statuses[http.StatusUnauthorized])
	}
}

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
