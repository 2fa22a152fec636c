package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// mfaAccount is a user created with `aries users create --mfa`.
type mfaAccount struct {
	userJSON
	password string
}

// newMFAUser creates a user with MFA through the CLI, as an operator would.
func (f *fixture) newMFAUser(t *testing.T, email string) mfaAccount {
	t.Helper()
	u := ariesJSON[userJSON](t, f.dir, "users", "create", "--email", email, "--password", "mfa user password", "--mfa")
	if !u.MFA || u.TOTPSecret == "" || !strings.HasPrefix(u.TOTPURI, "otpauth://totp/") || len(u.RecoveryCodes) != 10 {
		t.Fatalf("users create --mfa: got %+v, want mfa true, a secret, an otpauth URI and 10 recovery codes", u)
	}
	return mfaAccount{userJSON: u, password: "mfa user password"}
}

// code is what the user's authenticator app shows now, or steps later.
// A second successful use within one 30-second step needs steps = 1: the
// server accepts a code once, and one step of clock skew.
func (a mfaAccount) code(t *testing.T, steps int) string {
	t.Helper()
	c, err := totp.GenerateCode(a.TOTPSecret, time.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a well-formed code that matches none of the steps near now.
func (a mfaAccount) wrongCode(t *testing.T) string {
	t.Helper()
	near := map[string]bool{}
	for d := -3; d <= 3; d++ {
		near[a.code(t, d)] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", i); !near[c] {
			return c
		}
	}
}

// firstPartyClient registers a first-party client through the CLI.
func (f *fixture) firstPartyClient(t *testing.T, public bool) clientJSON {
	t.Helper()
	args := []string{"clients", "create", "--name", "Aries app", "--first-party", "--redirect-uri", f.redirectURI, "--scope", "read trade withdraw"}
	if public {
		args = append(args, "--public")
	}
	return ariesJSON[clientJSON](t, f.dir, args...)
}

// fpAnswer is an answer of the first-party endpoints.
type fpAnswer struct {
	Status            int
	Body              string
	AuthorizationCode string `json:"authorization_code"`
	Error             string `json:"error"`
	Description       string `json:"error_description"`
	MFARequired       bool   `json:"mfa_required"`
	SessionToken      string `json:"session_token"`
	ExpiresIn         int64  `json:"expires_in"`
}

func (f *fixture) postFirstParty(t *testing.T, path string, body map[string]string) fpAnswer {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(f.URL+path, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := fpAnswer{Status: resp.StatusCode, Body: string(raw)}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("POST %s: %d, body is not JSON: %s", path, resp.StatusCode, raw)
	}
	return a
}

// signInFirstParty posts POST /v1/oauth2/authorize for client c.
func (f *fixture) signInFirstParty(t *testing.T, c clientJSON, email, password, scope string) fpAnswer {
	t.Helper()
	return f.postFirstParty(t, "/v1/oauth2/authorize", map[string]string{
		"client_id": c.ClientID, "client_secret": c.ClientSecret, "email": email, "password": password, "scope": scope,
	})
}

func (f *fixture) verifyMFA(t *testing.T, c clientJSON, sessionToken, code string) fpAnswer {
	t.Helper()
	return f.postFirstParty(t, "/v1/oauth2/mfa/verify", map[string]string{
		"client_id": c.ClientID, "client_secret": c.ClientSecret, "session_token": sessionToken, "code": code,
	})
}

func wantFP(t *testing.T, what string, got fpAnswer, status int, code string) {
	t.Helper()
	if got.Status != status || got.Error != code {
		t.Errorf("%s: got %d %s, want %d %q", what, got.Status, got.Body, status, code)
	}
}

// exchange redeems a code of client c at the token endpoint and returns
// what introspection says about the access token. redirectURI is the one
// the authorization named ("" for a first-party sign-in without one).
func (f *fixture) exchange(t *testing.T, c clientJSON, code, redirectURI string) introspection {
	t.Helper()
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if redirectURI != "" {
		v.Set("redirect_uri", redirectURI)
	}
	res := f.token(t, v, c.ClientID, c.ClientSecret)
	wantTokens(t, res, true)
	return f.introspect(t, res.AccessToken)
}

// mfaSessionToken signs acct in with client c and expects the MFA step.
func (f *fixture) mfaSessionToken(t *testing.T, c clientJSON, acct mfaAccount, scope string) string {
	t.Helper()
	a := f.signInFirstParty(t, c, acct.Email, acct.password, scope)
	if a.Status != http.StatusForbidden || a.Error != "insufficient_authorization" || !a.MFARequired ||
		a.SessionToken == "" || a.ExpiresIn != 300 || a.AuthorizationCode != "" {
		t.Fatalf("first-party sign-in of an MFA user: got %d %s; want 403 insufficient_authorization, mfa_required, a session_token, expires_in 300", a.Status, a.Body)
	}
	return a.SessionToken
}

// step is one page of the hosted flow, body read.
type step struct {
	*http.Response
	body string
}

func (f *fixture) getStep(t *testing.T, c *http.Client, u string) step {
	t.Helper()
	resp, body := get(t, c, u)
	return step{resp, body}
}

// submit fills in the page's first POST form with fields and sends it.
func (f *fixture) submit(t *testing.T, c *http.Client, s step, fields ...string) step {
	t.Helper()
	action, form := form(t, s.body)
	for i := 0; i < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	resp, body := postForm(t, c, f.URL+action, form)
	return step{resp, body}
}

// follow requests where a redirect on this server points.
func (f *fixture) follow(t *testing.T, c *http.Client, s step) step {
	t.Helper()
	loc, err := s.Location()
	if err != nil || !strings.HasPrefix(loc.String(), f.URL) {
		t.Fatalf("status %d, Location %v; want a redirect on the server", s.StatusCode, loc)
	}
	return f.getStep(t, c, loc.String())
}

// toClient approves the consent page s (if it is one) and returns the
// redirect back to the client.
func (f *fixture) toClient(t *testing.T, c *http.Client, s step) *url.URL {
	t.Helper()
	if s.StatusCode == http.StatusOK && strings.Contains(s.body, `name="decision"`) {
		s = f.submit(t, c, s, "decision", "approve")
	}
	loc, err := s.Location()
	if err != nil || strings.HasPrefix(loc.String(), f.URL) {
		t.Fatalf("status %d, Location %v; want a redirect to the client:\n%s", s.StatusCode, loc, s.body)
	}
	return loc
}

func (f *fixture) authorizeURL(clientID, scope string) string {
	return f.URL + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {f.redirectURI}, "scope": {scope}, "state": {"xyz"}}.Encode()
}

// signInToTOTP opens the authorization URL, signs in with the password
// and returns the TOTP page it leads to.
func (f *fixture) signInToTOTP(t *testing.T, c *http.Client, clientID, scope string, acct mfaAccount) step {
	t.Helper()
	s := f.submit(t, c, f.getStep(t, c, f.authorizeURL(clientID, scope)), "email", acct.Email, "password", acct.password)
	if loc, _ := s.Location(); s.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/login/mfa" {
		t.Fatalf("password of an MFA user: status %d, Location %v; want 303 to /login/mfa", s.StatusCode, loc)
	}
	s = f.follow(t, c, s)
	if s.StatusCode != http.StatusOK || !strings.Contains(s.body, `name="code"`) {
		t.Fatalf("TOTP page: status %d, want the code form:\n%s", s.StatusCode, s.body)
	}
	return s
}

func TestBrowserSignInWithMFA(t *testing.T) {
	f := newFixture(t)
	acct := f.newMFAUser(t, "mfa@example.com")
	c := browser(t)
	s := f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)

	wrong := f.submit(t, c, s, "code", acct.wrongCode(t))
	if wrong.StatusCode != http.StatusUnauthorized || !strings.Contains(wrong.body, "That code is not right") {
		t.Fatalf("wrong code: status %d, want 401 and the message:\n%s", wrong.StatusCode, wrong.body)
	}
	right := f.submit(t, c, wrong, "code", acct.code(t, 0))
	if right.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: status %d, want 303:\n%s", right.StatusCode, right.body)
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

	c := browser(t)
	f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)
	s := f.getStep(t, c, f.URL+"/login/mfa?method=recovery")
	if !strings.Contains(s.body, `name="recovery_code"`) {
		t.Fatalf("recovery page: no recovery_code field:\n%s", s.body)
	}
	s = f.submit(t, c, s, "recovery_code", strings.ToUpper(rc))
	if s.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: status %d, want 303:\n%s", s.StatusCode, s.body)
	}
	loc := f.toClient(t, c, f.follow(t, c, s))
	if in := f.exchange(t, f.conf, loc.Query().Get("code"), f.redirectURI); !slices.Equal(in.AMR, []string{"pwd", "otp"}) {
		t.Errorf("token after a recovery code: amr %v, want [pwd otp]", in.AMR)
	}

	// Another browser, the same recovery code: refused.
	c = browser(t)
	f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)
	s = f.submit(t, c, f.getStep(t, c, f.URL+"/login/mfa?method=recovery"), "recovery_code", rc)
	if s.StatusCode != http.StatusUnauthorized || !strings.Contains(s.body, "That code is not right") {
		t.Errorf("recovery code used twice: status %d, want 401 and the message:\n%s", s.StatusCode, s.body)
	}
}

func TestFirstPartySignIn(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t, false)
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
	app := f.firstPartyClient(t, false)
	acct := f.newMFAUser(t, "mfa@example.com")
	token := f.mfaSessionToken(t, app, acct, "read")
	for i := 1; i <= 5; i++ {
		wantFP(t, fmt.Sprintf("wrong code %d", i), f.verifyMFA(t, app, token, acct.wrongCode(t)), http.StatusBadRequest, "invalid_mfa_code")
	}
	wantFP(t, "sixth attempt, with the right code", f.verifyMFA(t, app, token, acct.code(t, 0)), http.StatusBadRequest, "invalid_grant")
}

func TestFirstPartyExpiredSessionToken(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t, false)
	acct := f.newMFAUser(t, "mfa@example.com")
	token := f.mfaSessionToken(t, app, acct, "read")
	// The server's clock cannot be moved from here, so the challenge is
	// aged instead: five minutes pass for it alone.
	db, err := sql.Open("sqlite", filepath.Join(f.dir, "aries.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE mfa_challenges SET created_at = created_at - 300000, expires_at = expires_at - 300000`)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("ageing the challenge: %d rows, %v", n, err)
	}
	wantFP(t, "verify after five minutes", f.verifyMFA(t, app, token, acct.code(t, 0)), http.StatusBadRequest, "invalid_grant")
}

func TestFirstPartyCodeAcceptedOnce(t *testing.T) {
	f := newFixture(t)
	app := f.firstPartyClient(t, false)
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
	app := f.firstPartyClient(t, false)
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
	other := f.firstPartyClient(t, false)
	token := f.mfaSessionToken(t, app, acct, "read")
	wantFP(t, "another client's session token", f.verifyMFA(t, other, token, acct.code(t, 0)), http.StatusBadRequest, "invalid_grant")
	wantFP(t, "a third-party client at verify", f.verifyMFA(t, f.conf, token, acct.code(t, 0)), http.StatusBadRequest, "unauthorized_client")
}

func TestStepUpScopes(t *testing.T) {
	f := newFixture(t, "--mfa-scopes", "order:execution funds:withdrawal", "--mfa-max-age", "2s")
	app := f.firstPartyClient(t, false)
	acct := f.newMFAUser(t, "mfa@example.com")

	// Browser, user without MFA: refused with a pointer to the fix.
	loc := f.authorize(t, browser(t), url.Values{"response_type": {"code"}, "client_id": {f.conf.ClientID},
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
	// once the code is older than --mfa-max-age, the same session must pass
	// the TOTP step again.
	acct = f.newMFAUser(t, "mfa-browser@example.com")
	c := browser(t)
	signInCode := acct.code(t, 0)
	s := f.submit(t, c, f.signInToTOTP(t, c, f.conf.ClientID, "read trade", acct), "code", signInCode)
	if loc := f.toClient(t, c, f.follow(t, c, s)); loc.Query().Get("code") == "" {
		t.Fatalf("browser, trade with a fresh code: redirect %s, want a code", loc)
	}
	time.Sleep(2500 * time.Millisecond)
	if loc := f.toClient(t, c, f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read"))); loc.Query().Get("code") == "" {
		t.Errorf("browser, read in an old session: redirect %s, want a code without a TOTP step", loc)
	}
	s = f.getStep(t, c, f.authorizeURL(f.conf.ClientID, "read trade"))
	if loc, _ := s.Location(); loc == nil || loc.Path != "/login/mfa" {
		t.Fatalf("browser, trade in an old session: status %d, Location %v; want the TOTP step", s.StatusCode, loc)
	}
	s = f.follow(t, c, s)
	if !strings.Contains(s.body, "needs a fresh code") {
		t.Errorf("step-up page does not say why it asks:\n%s", s.body)
	}
	// The code used at sign-in is refused (it was spent); the next one works.
	s = f.submit(t, c, s, "code", signInCode)
	if s.StatusCode != http.StatusUnauthorized {
		t.Errorf("the sign-in's code again: status %d, want 401", s.StatusCode)
	}
	s = f.submit(t, c, s, "code", acct.code(t, 1))
	if s.StatusCode != http.StatusSeeOther {
		t.Fatalf("step-up code: status %d, want 303:\n%s", s.StatusCode, s.body)
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
	_, fields := form(t, s.body)
	v := url.Values{"csrf_token": {fields.Get("csrf_token")}, "action": {action}}
	if code != "" {
		v.Set("code", code)
	}
	resp, body := postForm(t, c, f.URL+"/account/security", v)
	return step{resp, body}
}

func TestAccountSecurityPage(t *testing.T) {
	f := newFixture(t)
	c := browser(t)
	s := f.getStep(t, c, f.URL+"/account/security")
	if loc, _ := s.Location(); s.StatusCode != http.StatusFound || loc == nil || loc.Path != "/login" || loc.Query().Get("return_to") != "/account/security" {
		t.Fatalf("signed out: status %d, Location %v; want /login?return_to=/account/security", s.StatusCode, loc)
	}
	s = f.follow(t, c, f.submit(t, c, f.follow(t, c, s), "email", f.email, "password", f.password))
	if !strings.Contains(s.body, `value="start"`) {
		t.Fatalf("security page: no set-up button:\n%s", s.body)
	}
	s = f.securityAction(t, c, s, "start", "")
	i := strings.Index(s.body, `id="totp_secret" type="text" readonly value="`)
	if i < 0 || !strings.Contains(s.body, `src="data:image/png;base64,`) {
		t.Fatalf("set-up page: want the QR code and the secret:\n%s", s.body)
	}
	rest := s.body[i+len(`id="totp_secret" type="text" readonly value="`):]
	acct := mfaAccount{userJSON: userJSON{TOTPSecret: strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], " ", "")}}
	s = f.securityAction(t, c, s, "confirm", acct.code(t, 0))
	if s.StatusCode != http.StatusOK || strings.Count(s.body, "<li>") < 10 {
		t.Fatalf("first code: status %d, want the recovery codes:\n%s", s.StatusCode, s.body)
	}

	// From now on the password alone is not enough.
	c = browser(t)
	acct.Email, acct.password = f.email, f.password
	f.signInToTOTP(t, c, f.conf.ClientID, "read", acct)
}

func TestUsersCreateMFAText(t *testing.T) {
	dir := t.TempDir()
	out, errOut, status := aries(t, dir, "users", "create", "--email", "mfa@example.com", "--password", "mfa user password", "--mfa")
	if status != 0 {
		t.Fatalf("users create --mfa: status %d: %s", status, errOut)
	}
	for _, want := range []string{"totp_secret  ", "totp_uri     otpauth://totp/Aries:mfa@example.com?", "Recovery codes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n  "); n != 10 {
		t.Errorf("output lists %d recovery codes, want 10:\n%s", n, out)
	}
	plain := ariesJSON[userJSON](t, dir, "users", "create", "--email", "plain@example.com", "--password", "a password")
	if plain.MFA || plain.TOTPSecret != "" || plain.RecoveryCodes != nil {
		t.Errorf("users create without --mfa: got %+v, want no MFA fields", plain)
	}
}
