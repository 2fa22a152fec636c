package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/testenv"
)

// TestScaleOutSecondFactorLock: the second-factor lock of the security
// review's finding 1 is counted in the shared database, so alternating
// between two instances buys no extra guesses, and once locked the factor
// is locked at both.
func TestScaleOutSecondFactorLock(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 2, flags: generous})
	u := clusterJSON[userJSON](t, c, "users", "create", "--email", "target@example.com", "--password", "mfa user password", "--mfa")
	acct := mfaAccount{userJSON: u, password: "mfa user password"}
	at := func(i int) *fixture {
		f := *c.f
		f.testServer = c.instances[i%2]
		return &f
	}
	checked := secondFactorCycles(t, at, acct, 20)
	if checked > lockout.SecondFactorLimit {
		t.Errorf("%d wrong codes were checked across two instances, want at most %d", checked, lockout.SecondFactorLimit)
	}
	for i := range 2 {
		wantSecondFactorLocked(t, at(i), acct)
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

// wantSecondFactorLocked checks that the right code is refused at f, and
// that the page says why.
func wantSecondFactorLocked(t *testing.T, f *fixture, acct mfaAccount) {
	t.Helper()
	c := browser(t)
	s := f.submit(t, c, f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read")), "email", acct.Email, "password", acct.password)
	s = f.follow(t, c, s)
	if !strings.Contains(s.Body, "locked after too many wrong codes") || !strings.Contains(s.Body, `name="recovery_code"`) {
		t.Fatalf("TOTP step once locked: want the lock message and the recovery-code form:\n%s", s.Body)
	}
	// The code form is gone; post the right code the way a script would.
	action, fields := form(t, s.Body)
	fields.Set("code", acct.code(t, 0))
	resp, body := postForm(t, c, f.URL+action, fields)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "locked after too many wrong codes") {
		t.Errorf("right code once locked: status %d, want 403 with the lock message:\n%s", resp.StatusCode, body)
	}
}

// signInFrom posts the hosted sign-in form from browser c, coming back to
// returnTo, and returns the answer.
func (f *fixture) signInFrom(t *testing.T, c *http.Client, returnTo, email, password string) testenv.Page {
	t.Helper()
	page := testenv.Get(t, c, f.URL+"/login?"+url.Values{"return_to": {returnTo}}.Encode())
	return testenv.Submit(t, c, f.URL, page, "email", email, "password", password)
}

func (f *fixture) getStep(t *testing.T, c *http.Client, u string) testenv.Page {
	t.Helper()
	return testenv.Get(t, c, u)
}

func (f *fixture) submit(t *testing.T, c *http.Client, p testenv.Page, fields ...string) testenv.Page {
	t.Helper()
	return testenv.Submit(t, c, f.URL, p, fields...)
}

func (f *fixture) follow(t *testing.T, c *http.Client, p testenv.Page) testenv.Page {
	t.Helper()
	return testenv.Follow(t, c, f.URL, p)
}

func (f *fixture) authorizeURL(clientID, scope string) string {
	return f.URL + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {f.redirectURI}, "scope": {scope}, "state": {"xyz"}}.Encode()
}
