package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

// The tests in this package's *_flow_test.go files run the whole server, as
// `aries serve` does, in this process: New over a testenv store, served by
// httptest, at the env's clock, so a test moves time instead of sleeping.
// cmd/aries keeps the tests of the binary itself.

// serve starts New over e's store and root secret with cfg's defaults as
// `aries serve` has them (cheap password hashing aside), changed by opts,
// and returns its base URL, which is also its issuer.
func serve(t testing.TB, e *testenv.Env, opts ...func(*Config)) (string, *Server) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.PasswordParams = password.TestParams
	cfg.Now = e.Clock.Now
	for _, o := range opts {
		o(&cfg)
	}
	hs := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + hs.Listener.Addr().String()
	s, err := New(context.Background(), cfg, e.Store, e.Store, e.Master, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = s
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.URL, s
}

// rateLimit sets one category's limit, as --rate-limit does.
func rateLimit(spec string) func(*Config) {
	return func(c *Config) {
		if err := c.RateLimits.Set(spec); err != nil {
			panic(err)
		}
	}
}

// generous lifts the authentication limit, for tests that sign one user in
// many times from one address.
var generous = rateLimit("authentication=1000/1m")

// client is a registered client and its secret ("" for a public one).
type client struct {
	ClientID, ClientSecret string
}

// fixture is a running server with a user, a confidential and a public
// client, and a resource server that introspects their tokens.
type fixture struct {
	*testenv.Env
	URL                     string
	server                  *Server
	userID, email, password string
	conf, public            client
	rs                      client // may introspect every client's tokens
	redirectURI             string
}

func newFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	f := newEmptyFixture(t, testenv.New(t))
	f.userID, f.email, f.password = f.User.ID, f.User.Email, testenv.Password
	f.conf = f.newClient(t, store.Client{Name: "Backend app"}, "read trade")
	f.public = f.newClient(t, store.Client{Name: "Mobile app", Type: store.Public}, "read")
	f.rs = f.newClient(t, store.Client{Name: "Orders API", ResourceServer: true}, "read")
	f.URL, f.server = serve(t, f.Env, opts...)
	return f
}

// newEmptyFixture is a fixture over e before its server starts, without
// clients.
func newEmptyFixture(t *testing.T, e *testenv.Env) *fixture {
	t.Helper()
	return &fixture{Env: e, redirectURI: "http://127.0.0.1:9/callback"}
}

// newClient registers c with the fixture's redirect URI (unless it has
// its own) and scopes (bundles expanded), as `aries clients create` does.
func (f *fixture) newClient(t *testing.T, c store.Client, scopes string) client {
	t.Helper()
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{f.redirectURI}
	}
	c.Scopes = testenv.Scopes(t, scopes)
	stored, sec := f.NewClient(c)
	return client{ClientID: stored.ID, ClientSecret: sec}
}

func (f *fixture) person() testenv.Person {
	return testenv.Person{Email: f.email, Password: f.password}
}

// authorize drives the hosted pages as the fixture's user and returns the
// redirect back to the client.
func (f *fixture) authorize(t *testing.T, c *http.Client, q url.Values) *url.URL {
	t.Helper()
	return testenv.Authorize(t, c, f.URL, f.person(), q)
}

// code runs the flow for a client and returns the authorization code.
func (f *fixture) code(t *testing.T, clientID string, extra url.Values) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {f.redirectURI},
		"scope": {"read"}, "state": {"xyz"}}
	for k, v := range extra {
		q[k] = v
	}
	loc := f.authorize(t, testenv.Browser(t), q)
	got := loc.Query()
	if got.Get("code") == "" || got.Get("state") != "xyz" || got.Get("iss") != f.URL {
		t.Fatalf("redirect %s: want code, state=xyz and iss=%s", loc, f.URL)
	}
	return got.Get("code")
}

func (f *fixture) token(t *testing.T, v url.Values, basic ...string) testenv.TokenAnswer {
	t.Helper()
	return testenv.Token(t, f.URL, v, basic...)
}

// introspect asks about tok as the fixture's resource server, which may
// introspect any client's tokens (docs/security.md#who-may-introspect).
func (f *fixture) introspect(t *testing.T, tok string) testenv.Introspection {
	t.Helper()
	return testenv.Introspect(t, f.URL, f.rs.ClientID, f.rs.ClientSecret, tok)
}

var (
	wantTokens = testenv.WantTokens
	wantError  = testenv.WantError
)

// mfaAccount is a user with TOTP, as `aries users create --mfa` makes one.
type mfaAccount struct {
	ID, Email, password string
	TOTPSecret          string
	RecoveryCodes       []string
	now                 func() time.Time
}

// newMFAUser creates a user with TOTP on, through package mfa as the
// command line does.
func (f *fixture) newMFAUser(t *testing.T, email string) mfaAccount {
	t.Helper()
	const pw = "mfa user password"
	u := f.NewUser(store.User{Email: email}, pw)
	second, err := mfa.New(f.Store, f.Hasher, f.Master.Keys().TOTPEncryption, f.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	enr, codes, err := second.Enroll(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if enr.Secret == "" || !strings.HasPrefix(enr.URI, "otpauth://totp/") || len(codes) != 10 {
		t.Fatalf("enrolling %s: got %+v and %d recovery codes, want a secret, an otpauth URI and 10 codes", email, enr, len(codes))
	}
	return mfaAccount{ID: u.ID, Email: u.Email, password: pw, TOTPSecret: enr.Secret, RecoveryCodes: codes, now: f.Clock.Now}
}

// code is what the user's authenticator app shows now, or steps later, on
// the server's clock. A second successful use within one 30-second step
// needs steps = 1: the server accepts a code once, and one step of skew.
func (a mfaAccount) code(t *testing.T, steps int) string {
	t.Helper()
	return testenv.TOTPCode(t, a.TOTPSecret, a.now().Add(time.Duration(steps)*30*time.Second))
}

// wrongCode is a well-formed code that matches none of the steps near now.
func (a mfaAccount) wrongCode(t *testing.T) string {
	t.Helper()
	return testenv.WrongTOTPCode(t, a.TOTPSecret, a.now())
}

// firstPartyClient registers a first-party client.
func (f *fixture) firstPartyClient(t *testing.T) client {
	t.Helper()
	return f.newClient(t, store.Client{Name: "Aries app", FirstParty: true}, "read trade withdraw")
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
func (f *fixture) signInFirstParty(t *testing.T, c client, email, password, scope string) fpAnswer {
	t.Helper()
	return f.postFirstParty(t, "/v1/oauth2/authorize", map[string]string{
		"client_id": c.ClientID, "client_secret": c.ClientSecret, "email": email, "password": password, "scope": scope,
	})
}

func (f *fixture) verifyMFA(t *testing.T, c client, sessionToken, code string) fpAnswer {
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
func (f *fixture) exchange(t *testing.T, c client, code, redirectURI string) testenv.Introspection {
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
func (f *fixture) mfaSessionToken(t *testing.T, c client, acct mfaAccount, scope string) string {
	t.Helper()
	a := f.signInFirstParty(t, c, acct.Email, acct.password, scope)
	if a.Status != http.StatusForbidden || a.Error != "insufficient_authorization" || !a.MFARequired ||
		a.SessionToken == "" || a.ExpiresIn != 300 || a.AuthorizationCode != "" {
		t.Fatalf("first-party sign-in of an MFA user: got %d %s; want 403 insufficient_authorization, mfa_required, a session_token, expires_in 300", a.Status, a.Body)
	}
	return a.SessionToken
}

// step is one page of the hosted flow, body read.
type step = testenv.Page

func (f *fixture) getStep(t *testing.T, c *http.Client, u string) step {
	t.Helper()
	return testenv.Get(t, c, u)
}

// submit fills in the page's first POST form with fields and sends it.
func (f *fixture) submit(t *testing.T, c *http.Client, s step, fields ...string) step {
	t.Helper()
	return testenv.Submit(t, c, f.URL, s, fields...)
}

// follow requests where a redirect on this server points.
func (f *fixture) follow(t *testing.T, c *http.Client, s step) step {
	t.Helper()
	return testenv.Follow(t, c, f.URL, s)
}

// toClient approves the consent page s (if it is one) and returns the
// redirect back to the client.
func (f *fixture) toClient(t *testing.T, c *http.Client, s step) *url.URL {
	t.Helper()
	if s.StatusCode == http.StatusOK && strings.Contains(s.Body, `name="decision"`) {
		s = f.submit(t, c, s, "decision", "approve")
	}
	loc, err := s.Location()
	if err != nil || strings.HasPrefix(loc.String(), f.URL) {
		t.Fatalf("status %d, Location %v; want a redirect to the client:\n%s", s.StatusCode, loc, s.Body)
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
	if s.StatusCode != http.StatusOK || !strings.Contains(s.Body, `name="code"`) {
		t.Fatalf("TOTP page: status %d, want the code form:\n%s", s.StatusCode, s.Body)
	}
	return s
}

// signInFrom posts the hosted sign-in form from browser c, coming back to
// returnTo, and returns the answer.
func (f *fixture) signInFrom(t *testing.T, c *http.Client, returnTo, email, password string) step {
	t.Helper()
	page := f.getStep(t, c, f.URL+"/login?"+url.Values{"return_to": {returnTo}}.Encode())
	return f.submit(t, c, page, "email", email, "password", password)
}
