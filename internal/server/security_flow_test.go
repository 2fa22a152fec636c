package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/testenv"
)

// The security review's findings (docs/security.md) through the whole
// server. Source addresses are real: a client binds its side of the
// loopback connection to 127.0.0.N, which is what the server sees as the
// request's address.

// Finding 1: the TOTP step's limit was keyed on the client_id inside
// return_to, which nothing checks, so a fresh id per sign-in bought fresh
// guesses. Now, with the password known, 60 sign-ins of 5 wrong codes, each
// naming another client, get at most 10 codes checked; the factor is then
// locked, the right code refused, and the operator's unlock (`aries users
// unlock`, lockout.UnlockUser) lifts it.
func TestSecondFactorCannotBeBruteForced(t *testing.T) {
	f := newFixture(t, generous)
	acct := f.newMFAUser(t, "target@example.com")
	checked := secondFactorCycles(t, f, acct, 60)
	if checked > lockout.SecondFactorLimit {
		t.Errorf("%d wrong codes were checked, want at most %d", checked, lockout.SecondFactorLimit)
	}
	wantSecondFactorLocked(t, f, acct)

	if err := lockout.UnlockUser(context.Background(), f.Store, acct.ID); err != nil {
		t.Fatal(err)
	}
	c := testenv.Browser(t)
	s := f.submit(t, c, f.signInToTOTP(t, c, f.conf.ClientID, "read", acct), "code", acct.code(t, 1))
	if loc, _ := s.Location(); s.StatusCode != http.StatusSeeOther || loc == nil {
		t.Errorf("right code after the operator's unlock: status %d, want 303 onwards:\n%s", s.StatusCode, s.Body)
	}
}

// secondFactorCycles signs acct in n times with the password, each time
// coming back to an authorization request of a made-up client, and sends
// five wrong codes per sign-in. It returns how many codes the server
// checked (answered "not right" rather than "locked").
func secondFactorCycles(t *testing.T, f *fixture, acct mfaAccount, n int) int {
	t.Helper()
	checked := 0
	for cycle := range n {
		c := testenv.Browser(t)
		q := url.Values{"response_type": {"code"}, "client_id": {fmt.Sprintf("aries_ci_made_up_%d", cycle)},
			"redirect_uri": {f.redirectURI}, "scope": {"read"}}
		s := f.signInFrom(t, c, "/oauth2/authorize?"+q.Encode(), acct.Email, acct.password)
		if loc, _ := s.Location(); s.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/login/mfa" {
			t.Fatalf("cycle %d: password: status %d, want 303 to /login/mfa:\n%s", cycle, s.StatusCode, s.Body)
		}
		s = f.follow(t, c, s)
		for range 5 {
			if !strings.Contains(s.Body, `name="code"`) {
				break // locked: the page offers recovery codes only
			}
			s = f.submit(t, c, s, "code", acct.wrongCode(t))
			switch {
			case strings.Contains(s.Body, "locked after too many wrong codes"):
			case strings.Contains(s.Body, "not right") || strings.Contains(s.Body, "Too many wrong codes"):
				checked++
			default:
				t.Fatalf("cycle %d: status %d, neither a wrong code nor the lock:\n%s", cycle, s.StatusCode, s.Body)
			}
			if strings.Contains(s.Body, "Too many wrong codes") {
				break // this challenge is spent: sign in again
			}
		}
	}
	return checked
}

// wantSecondFactorLocked checks that the right code is refused, and that
// the page says why.
func wantSecondFactorLocked(t *testing.T, f *fixture, acct mfaAccount) {
	t.Helper()
	c := testenv.Browser(t)
	s := f.submit(t, c, f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read")), "email", acct.Email, "password", acct.password)
	s = f.follow(t, c, s)
	if !strings.Contains(s.Body, "locked after too many wrong codes") || !strings.Contains(s.Body, `name="recovery_code"`) {
		t.Fatalf("TOTP step once locked: want the lock message and the recovery-code form:\n%s", s.Body)
	}
	// The code form is gone; post the right code the way a script would.
	action, fields := testenv.Form(t, s.Body)
	fields.Set("code", acct.code(t, 0))
	p := testenv.PostForm(t, c, f.URL+action, fields)
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "locked after too many wrong codes") {
		t.Errorf("right code once locked: status %d, want 403 with the lock message:\n%s", p.StatusCode, p.Body)
	}
}

// Finding 3: first-party password sign-in had no lock, and the endpoints
// answered CORS from any origin. (That a public client cannot be
// first-party is cmd/aries' TestPublicClientCannotBeFirstParty.)
func TestFirstPartyIsLockedAndPrivate(t *testing.T) {
	f := newFixture(t, generous)
	app := f.firstPartyClient(t)

	for _, path := range []string{"/v1/oauth2/authorize", "/v1/oauth2/mfa/verify"} {
		req, _ := http.NewRequest(http.MethodOptions, f.URL+path, nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		if got := testenv.Do(t, nil, req).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("OPTIONS %s: Access-Control-Allow-Origin %q, want none", path, got)
		}
	}
	body := `{"client_id":"` + app.ClientID + `","client_secret":"` + app.ClientSecret + `","email":"x@example.com","password":"p","scope":"read"}`
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/v1/oauth2/authorize", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	if got := testenv.Do(t, nil, req).Header.Get("Access-Control-Allow-Origin"); got != "" {
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
	s := f.signInFrom(t, testenv.Browser(t), "/", f.email, f.password)
	if s.StatusCode != http.StatusTooManyRequests {
		t.Errorf("hosted sign-in from the locked address: status %d, want 429", s.StatusCode)
	}
	s = f.signInFrom(t, testenv.BrowserFrom(t, "127.0.0.2"), "/", f.email, f.password)
	if s.StatusCode != http.StatusSeeOther {
		t.Errorf("hosted sign-in from another address: status %d, want 303:\n%s", s.StatusCode, s.Body)
	}
	// The lock lifts on the server's clock (30 s for the fifth failure).
	f.Clock.Add(31 * time.Second)
	if a := f.signInFirstParty(t, app, f.email, f.password, "read"); a.Status != http.StatusOK {
		t.Errorf("the right password after the lock's 30 s: got %d %s, want 200", a.Status, a.Body)
	}
}

// Finding 7: anyone could keep a known email locked out of the hosted
// sign-in, correct password included. A stranger's failures lock only the
// stranger's address.
func TestStrangerCannotLockUserOut(t *testing.T) {
	f := newFixture(t, generous)
	stranger := testenv.BrowserFrom(t, "127.0.0.3")
	for range 3 * lockout.PasswordThreshold {
		f.signInFrom(t, stranger, "/", f.email, "guessing")
	}
	if s := f.signInFrom(t, stranger, "/", f.email, f.password); s.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the stranger's address: status %d, want 429", s.StatusCode)
	}
	if s := f.signInFrom(t, testenv.BrowserFrom(t, "127.0.0.4"), "/", f.email, f.password); s.StatusCode != http.StatusSeeOther {
		t.Errorf("the user from their own address: status %d, want 303:\n%s", s.StatusCode, s.Body)
	}
}

// Finding 5: 200 concurrent anonymous sign-ins made a real user's take
// 6-14 s, queued behind argon2. Now each address pays before the hash and
// the hash queue is bounded: the flood gets 429 and 503 at once, and the
// real user signs in.
func TestSignInUnderFlood(t *testing.T) {
	// The flood's passwords cost what they cost in production.
	f := newFixture(t, func(c *Config) { c.PasswordParams = password.DefaultParams })
	const flooders = 150
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	start := make(chan struct{})
	for i := range flooders {
		c := testenv.BrowserFrom(t, fmt.Sprintf("127.0.0.%d", 10+i%3))
		page := f.getStep(t, c, f.URL+"/login")
		wg.Go(func() {
			<-start
			s := f.submit(t, c, page, "email", fmt.Sprintf("flood%d@example.com", i), "password", "guess guess")
			mu.Lock()
			statuses[s.StatusCode]++
			mu.Unlock()
		})
	}
	real := testenv.BrowserFrom(t, "127.0.0.2")
	page := f.getStep(t, real, f.URL+"/login")
	close(start)
	// A real browser retries a 503 after its Retry-After, until the
	// queue has room; it gives up after 30 seconds.
	var s step
	for deadline := time.Now().Add(30 * time.Second); ; {
		if s = f.submit(t, real, page, "email", f.email, "password", f.password); s.StatusCode != http.StatusServiceUnavailable {
			break
		}
		retry, err := strconv.Atoi(s.Header.Get("Retry-After"))
		if err != nil || retry < 1 {
			t.Fatalf("503 with Retry-After %q, want whole seconds", s.Header.Get("Retry-After"))
		}
		if time.Now().After(deadline) {
			t.Fatal("the real sign-in still waits for the hash queue after 30s")
		}
		time.Sleep(time.Duration(retry) * time.Second)
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
