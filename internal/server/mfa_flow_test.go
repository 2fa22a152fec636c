package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/testenv"
)

// Two-step verification across the hosted pages, the first-party
// endpoints, the token endpoint and introspection.

func TestBrowserSignInWithMFA(t *testing.T) {
	f := newFixture(t)
	acct := f.newMFAUser(t, "mfa@example.com")
	c := testenv.Browser(t)
	s := f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)

	wrong := f.submit(t, c, s, "code", acct.wrongCode(t))
	if wrong.StatusCode != http.StatusUnauthorized || !strings.Contains(wrong.Body, "That code is not right") {
		t.Fatalf("wrong code: status %d, want 401 and the message:\n%s", wrong.StatusCode, wrong.Body)
	}
	right := f.submit(t, c, wrong, "code", acct.code(t, 0))
	if right.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: status %d, want 303:\n%s", right.StatusCode, right.Body)
	}
	loc := f.toClient(t, c, f.follow(t, c, right))
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != "xyz" {
		t.Fatalf("redirect %s: want a code and state", loc)
	}
	in := f.exchange(t, f.conf, loc.Query().Get("code"), f.redirectURI)
	if !in.Active || in.Sub != acct.ID || !slices.Equal(in.AMR, []string{"pwd", "otp"}) || in.AuthTime == 0 {
		t.Errorf("token of an MFA sign-in: got active %t, sub %q, amr %v, auth_time %d; want %s, [pwd otp] and an auth_time",
			in.Active, in.Sub, in.AMR, in.AuthTime, acct.ID)
	}

	// A user without MFA signs in with the password alone; amr says so.
	plain := f.exchange(t, f.conf, f.code(t, f.conf.ClientID, nil), f.redirectURI)
	if !slices.Equal(plain.AMR, []string{"pwd"}) || plain.AuthTime == 0 {
		t.Errorf("token of a password sign-in: amr %v, auth_time %d; want [pwd] and an auth_time", plain.AMR, plain.AuthTime)
	}
}

func TestBrowserRecoveryCodeWorksOnce(t *testing.T) {
	f := newFixture(t)
	acct := f.newMFAUser(t, "mfa@example.com")
	rc := acct.RecoveryCodes[0]

	c := testenv.Browser(t)
	f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)
	s := f.getStep(t, c, f.URL+"/login/mfa?method=recovery")
	if !strings.Contains(s.Body, `name="recovery_code"`) {
		t.Fatalf("recovery page: no recovery_code field:\n%s", s.Body)
	}
	s = f.submit(t, c, s, "recovery_code", strings.ToUpper(rc))
	if s.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: status %d, want 303:\n%s", s.StatusCode, s.Body)
	}
	loc := f.toClient(t, c, f.follow(t, c, s))
	if in := f.exchange(t, f.conf, loc.Query().Get("code"), f.redirectURI); !slices.Equal(in.AMR, []string{"pwd", "otp"}) {
		t.Errorf("token after a recovery code: amr %v, want [pwd otp]", in.AMR)
	}

	// Another browser, the same recovery code: refused.
	c = testenv.Browser(t)
	f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)
	s = f.submit(t, c, f.getStep(t, c, f.URL+"/login/mfa?method=recovery"), "recovery_code", rc)
	if s.StatusCode != http.StatusUnauthorized || !strings.Contains(s.Body, "That code is not right") {
		t.Errorf("recovery code used twice: status %d, want 401 and the message:\n%s", s.StatusCode, s.Body)
	}
}

func TestFirstPartySignIn(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t)
	acct := f.newMFAUser(t, "mfa@example.com")

	// A user without MFA gets a code at once.
	a := f.signInFirstParty(t, app, f.email, f.password, "read")
	if a.Status != http.StatusOK || a.AuthorizationCode == "" {
		t.Fatalf("user without MFA: got %d %s, want 200 with an authorization_code", a.Status, a.Body)
	}
	if in := f.exchange(t, app, a.AuthorizationCode, ""); in.Sub != f.userID || !slices.Equal(in.AMR, []string{"pwd"}) || in.AuthTime == 0 {
		t.Errorf("token: sub %q, amr %v, auth_time %d; want %s, [pwd] and an auth_time", in.Sub, in.AMR, in.AuthTime, f.userID)
	}

	// A user with MFA gets a session token, then a code for a TOTP code.
	token := f.mfaSessionToken(t, app, acct, "read")
	wantFP(t, "wrong code", f.verifyMFA(t, app, token, acct.wrongCode(t)), http.StatusBadRequest, "invalid_mfa_code")
	v := f.verifyMFA(t, app, token, acct.code(t, 0))
	if v.Status != http.StatusOK || v.AuthorizationCode == "" {
		t.Fatalf("right code: got %d %s, want 200 with an authorization_code", v.Status, v.Body)
	}
	if in := f.exchange(t, app, v.AuthorizationCode, ""); in.Sub != acct.ID || !slices.Equal(in.AMR, []string{"pwd", "otp"}) {
		t.Errorf("token after MFA: sub %q, amr %v; want %s and [pwd otp]", in.Sub, in.AMR, acct.ID)
	}
	wantFP(t, "the session token used again", f.verifyMFA(t, app, token, acct.code(t, 1)), http.StatusBadRequest, "invalid_grant")
}

func TestFirstPartySixthAttemptIsRefused(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t)
	acct := f.newMFAUser(t, "mfa@example.com")
	token := f.mfaSessionToken(t, app, acct, "read")
	for i := 1; i <= 5; i++ {
		wantFP(t, fmt.Sprintf("wrong code %d", i), f.verifyMFA(t, app, token, acct.wrongCode(t)), http.StatusBadRequest, "invalid_mfa_code")
	}
	wantFP(t, "sixth attempt, with the right code", f.verifyMFA(t, app, token, acct.code(t, 0)), http.StatusBadRequest, "invalid_grant")
}

func TestFirstPartyExpiredSessionToken(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t)
	acct := f.newMFAUser(t, "mfa@example.com")
	token := f.mfaSessionToken(t, app, acct, "read")
	f.Clock.Add(mfa.ChallengeTTL - time.Second)
	later := f.mfaSessionToken(t, app, acct, "read")
	f.Clock.Add(time.Second) // five minutes after the first sign-in, one second after the second
	wantFP(t, "verify after five minutes", f.verifyMFA(t, app, token, acct.code(t, 0)), http.StatusBadRequest, "invalid_grant")
	if v := f.verifyMFA(t, app, later, acct.code(t, 0)); v.Status != http.StatusOK {
		t.Errorf("verify one second after signing in: got %d %s, want 200", v.Status, v.Body)
	}
}

func TestFirstPartyCodeAcceptedOnce(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t)
	acct := f.newMFAUser(t, "mfa@example.com")
	first := f.mfaSessionToken(t, app, acct, "read")
	second := f.mfaSessionToken(t, app, acct, "read")
	code := acct.code(t, 0)
	if v := f.verifyMFA(t, app, first, code); v.Status != http.StatusOK {
		t.Fatalf("first use: got %d %s, want 200", v.Status, v.Body)
	}
	wantFP(t, "the same code for a second session", f.verifyMFA(t, app, second, code), http.StatusBadRequest, "invalid_mfa_code")
}

func TestFirstPartyRefusals(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t)
	acct := f.newMFAUser(t, "mfa@example.com")

	a := f.signInFirstParty(t, f.conf, f.email, f.password, "read")
	wantFP(t, "a client that is not first-party", a, http.StatusBadRequest, "unauthorized_client")

	wrong := f.signInFirstParty(t, app, f.email, "not the password", "read")
	unknown := f.signInFirstParty(t, app, "nobody@example.com", "not the password", "read")
	wrongMFA := f.signInFirstParty(t, app, acct.Email, "not the password", "read")
	for _, a := range []fpAnswer{wrong, unknown, wrongMFA} {
		wantFP(t, "wrong credentials", a, http.StatusUnauthorized, "access_denied")
		if a.Body != wrong.Body {
			t.Errorf("answers differ: %q and %q", a.Body, wrong.Body)
		}
	}

	// A session token cannot be used by another client.
	other := f.firstPartyClient(t)
	token := f.mfaSessionToken(t, app, acct, "read")
	wantFP(t, "another client's session token", f.verifyMFA(t, other, token, acct.code(t, 0)), http.StatusBadRequest, "invalid_grant")
	wantFP(t, "a third-party client at verify", f.verifyMFA(t, f.conf, token, acct.code(t, 0)), http.StatusBadRequest, "unauthorized_client")
}

func TestStepUpScopes(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.MFAScopes = []string{"order:execution", "funds:withdrawal"}
		c.MFAMaxAge = 2 * time.Second
	})
	app := f.firstPartyClient(t)
	acct := f.newMFAUser(t, "mfa@example.com")

	// Browser, user without MFA: refused with a pointer to the fix.
	loc := f.authorize(t, testenv.Browser(t), url.Values{"response_type": {"code"}, "client_id": {f.conf.ClientID},
		"redirect_uri": {f.redirectURI}, "scope": {"read trade"}, "state": {"xyz"}})
	if loc.Query().Get("error") != "access_denied" || !strings.Contains(loc.Query().Get("error_description"), "/account/security") {
		t.Errorf("browser, trade without MFA: redirect %s; want error=access_denied pointing to /account/security", loc)
	}
	// First-party, user without MFA: refused too; other scopes still work.
	a := f.signInFirstParty(t, app, f.email, f.password, "read withdraw")
	wantFP(t, "first-party, withdraw without MFA", a, http.StatusForbidden, "access_denied")
	if !strings.Contains(a.Description, "funds:withdrawal") || !strings.Contains(a.Description, "/account/security") {
		t.Errorf("description %q: want the scope and /account/security", a.Description)
	}
	if a := f.signInFirstParty(t, app, f.email, f.password, "read"); a.Status != http.StatusOK {
		t.Errorf("first-party, read without MFA: got %d %s, want 200", a.Status, a.Body)
	}

	// First-party, user with MFA: the TOTP step, then the code.
	token := f.mfaSessionToken(t, app, acct, "trade")
	if v := f.verifyMFA(t, app, token, acct.code(t, 0)); v.Status != http.StatusOK {
		t.Fatalf("first-party, trade with MFA: got %d %s, want 200", v.Status, v.Body)
	}

	// Browser, user with MFA: signed in with a code, trading is approved;
	// once the code is older than MFAMaxAge, the same session must pass the
	// TOTP step again.
	acct = f.newMFAUser(t, "mfa-browser@example.com")
	c := testenv.Browser(t)
	signInCode := acct.code(t, 0)
	s := f.submit(t, c, f.signInToTOTP(t, c, f.conf.ClientID, "read trade", acct), "code", signInCode)
	if loc := f.toClient(t, c, f.follow(t, c, s)); loc.Query().Get("code") == "" {
		t.Fatalf("browser, trade with a fresh code: redirect %s, want a code", loc)
	}
	f.Clock.Add(2500 * time.Millisecond)
	if loc := f.toClient(t, c, f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read"))); loc.Query().Get("code") == "" {
		t.Errorf("browser, read in an old session: redirect %s, want a code without a TOTP step", loc)
	}
	s = f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read trade"))
	if loc, _ := s.Location(); loc == nil || loc.Path != "/login/mfa" {
		t.Fatalf("browser, trade in an old session: status %d, Location %v; want the TOTP step", s.StatusCode, loc)
	}
	s = f.follow(t, c, s)
	if !strings.Contains(s.Body, "needs a fresh code") {
		t.Errorf("step-up page does not say why it asks:\n%s", s.Body)
	}
	// The code used at sign-in is refused (it was spent); the next one works.
	s = f.submit(t, c, s, "code", signInCode)
	if s.StatusCode != http.StatusUnauthorized {
		t.Errorf("the sign-in's code again: status %d, want 401", s.StatusCode)
	}
	s = f.submit(t, c, s, "code", acct.code(t, 1))
	if s.StatusCode != http.StatusSeeOther {
		t.Fatalf("step-up code: status %d, want 303:\n%s", s.StatusCode, s.Body)
	}
	loc = f.toClient(t, c, f.follow(t, c, s))
	in := f.exchange(t, f.conf, loc.Query().Get("code"), f.redirectURI)
	if !strings.Contains(in.Scope, "order:execution") || !slices.Equal(in.AMR, []string{"pwd", "otp"}) {
		t.Errorf("token after step-up: scope %q, amr %v; want order:execution and [pwd otp]", in.Scope, in.AMR)
	}
}

// securityAction posts action (and code) to /account/security, with the
// CSRF token of page s. (The page's first form is the navigation's sign-out.)
func (f *fixture) securityAction(t *testing.T, c *http.Client, s step, action, code string) step {
	t.Helper()
	_, fields := testenv.Form(t, s.Body)
	v := url.Values{"csrf_token": {fields.Get("csrf_token")}, "action": {action}}
	if code != "" {
		v.Set("code", code)
	}
	return testenv.PostForm(t, c, f.URL+"/account/security", v)
}

func TestAccountSecurityPage(t *testing.T) {
	f := newFixture(t)
	c := testenv.Browser(t)
	s := f.getStep(t, c, f.URL+"/account/security")
	if loc, _ := s.Location(); s.StatusCode != http.StatusFound || loc == nil || loc.Path != "/login" || loc.Query().Get("return_to") != "/account/security" {
		t.Fatalf("signed out: status %d, Location %v; want /login?return_to=/account/security", s.StatusCode, loc)
	}
	s = f.follow(t, c, f.submit(t, c, f.follow(t, c, s), "email", f.email, "password", f.password))
	if !strings.Contains(s.Body, `value="start"`) {
		t.Fatalf("security page: no set-up button:\n%s", s.Body)
	}
	s = f.securityAction(t, c, s, "start", "")
	i := strings.Index(s.Body, `id="totp_secret" type="text" readonly value="`)
	if i < 0 || !strings.Contains(s.Body, `src="data:image/png;base64,`) {
		t.Fatalf("set-up page: want the QR code and the secret:\n%s", s.Body)
	}
	rest := s.Body[i+len(`id="totp_secret" type="text" readonly value="`):]
	acct := mfaAccount{TOTPSecret: strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], " ", ""), now: f.Clock.Now}
	s = f.securityAction(t, c, s, "confirm", acct.code(t, 0))
	if s.StatusCode != http.StatusOK || strings.Count(s.Body, "<li>") < 10 {
		t.Fatalf("first code: status %d, want the recovery codes:\n%s", s.StatusCode, s.Body)
	}

	// From now on the password alone is not enough.
	c = testenv.Browser(t)
	acct.Email, acct.password = f.email, f.password
	f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)
}
