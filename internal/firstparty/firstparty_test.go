package firstparty

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pquerna/otp/totp"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testclock"
	"github.com/ariesexchange/aries/internal/testenv"
)

const (
	userPassword = "correct horse battery"
	plainEmail   = "plain@example.com" // no MFA
	mfaEmail     = "mfa@example.com"
	appID        = "aries_ci_app" // first-party, confidential
	appSecret    = "aries_cs_app-secret"
	otherID      = "aries_ci_other" // first-party, confidential
	otherSecret  = "aries_cs_other-secret"
	spaID        = "aries_ci_spa" // first-party, public
	thirdID      = "aries_ci_third"
	thirdSecret  = "aries_cs_third-secret"
	redirect     = "https://app.example.com/cb"
	challenge    = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
)

type env struct {
	t         *testing.T
	srv       *httptest.Server
	h         *Handler
	store     testenv.Backend
	hasher    *secret.Hasher
	clock     *testclock.Clock
	totp      string // the MFA user's secret
	recovery  []string
	plainUser store.User
	mfaUser   store.User
	source    string // the address requests come from, when set
}

type option func(*Handler)

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	ctx := context.Background()
	// Mid-step, so a code's neighbours are a whole step away.
	te := testenv.New(t, testenv.NoUser(), testenv.At(time.Date(2026, 11, 20, 9, 0, 15, 0, time.UTC)))
	st, clk, hasher, passwords := te.Store, te.Clock, te.Hasher, te.Passwords
	e := &env{t: t, store: st, hasher: hasher, clock: clk}
	e.plainUser = te.NewUser(store.User{ID: "usr_plain", Email: plainEmail}, userPassword)
	e.mfaUser = te.NewUser(store.User{ID: "usr_mfa", Email: mfaEmail}, userPassword)
	scopes := append(slices.Clone(scope.Bundles["read"]), "order:execution", "funds:withdrawal", "admin")
	clients := []store.Client{
		{ID: appID, Name: "Aries Mobile", Type: store.Confidential, FirstParty: true, SecretHash: hasher.Hash(appSecret), RedirectURIs: []string{redirect}, Scopes: scopes},
		{ID: otherID, Name: "Aries Desktop", Type: store.Confidential, FirstParty: true, SecretHash: hasher.Hash(otherSecret), Scopes: []string{"account:information"}},
		{ID: spaID, Name: "Aries Web", Type: store.Public, FirstParty: true, RedirectURIs: []string{redirect}, Scopes: scopes},
		{ID: thirdID, Name: "Someone's app", Type: store.Confidential, SecretHash: hasher.Hash(thirdSecret), RedirectURIs: []string{redirect}, Scopes: scopes},
	}
	for _, c := range clients {
		te.NewClient(c)
	}
	svc, err := mfa.New(st, hasher, bytes.Repeat([]byte{9}, mfa.KeySize), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	enr, codes, err := svc.Enroll(ctx, e.mfaUser)
	if err != nil {
		t.Fatal(err)
	}
	e.totp, e.recovery = enr.Secret, codes

	e.h = &Handler{
		Store:     st,
		Clients:   &clientauth.Authenticator{Store: st, Hasher: hasher},
		Passwords: passwords,
		Locks:     lockout.NewPasswords(st, clk.Now),
		MFA:       svc,
		Codes:     &signin.CodeIssuer{Store: st, Hasher: hasher, Now: clk.Now},
		Issuer:    "https://aries.example",
		Now:       clk.Now,
		Logger:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(e.h)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/authorize", e.h.Authorize)
	mux.HandleFunc("POST /v1/oauth2/mfa/verify", e.h.Verify)
	// X-Test-Source sets the address the handler sees, so throttles keyed
	// on it can be tested from one machine.
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip := r.Header.Get("X-Test-Source"); ip != "" {
			r.RemoteAddr = ip + ":40000"
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// answer is any response of the two endpoints.
type answer struct {
	Status            int
	Body              string
	Header            http.Header
	AuthorizationCode string `json:"authorization_code"`
	Error             string `json:"error"`
	Description       string `json:"error_description"`
	MFARequired       bool   `json:"mfa_required"`
	SessionToken      string `json:"session_token"`
	ExpiresIn         int64  `json:"expires_in"`
}

func (e *env) postJSON(path string, body map[string]string) answer {
	e.t.Helper()
	b, _ := json.Marshal(body)
	return e.send(path, "application/json", string(b))
}

func (e *env) send(path, contentType, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if e.source != "" {
		req.Header.Set("X-Test-Source", e.source)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Body: string(b), Header: resp.Header}
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatalf("POST %s: %d, body is not JSON: %s", path, resp.StatusCode, b)
	}
	return a
}

// signIn posts the first-party sign-in of the confidential app for email.
func (e *env) signIn(email, scope string, extra ...string) answer {
	e.t.Helper()
	body := map[string]string{"client_id": appID, "client_secret": appSecret, "email": email, "password": userPassword, "scope": scope}
	for i := 0; i < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return e.postJSON("/v1/oauth2/authorize", body)
}

func (e *env) verify(token, code string, extra ...string) answer {
	e.t.Helper()
	body := map[string]string{"client_id": appID, "client_secret": appSecret, "session_token": token, "code": code}
	for i := 0; i < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return e.postJSON("/v1/oauth2/mfa/verify", body)
}

func (e *env) code(at time.Time) string {
	e.t.Helper()
	c, err := totp.GenerateCode(e.totp, at)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// wrongCode is a well-formed code matching no step near now.
func (e *env) wrongCode() string {
	near := map[string]bool{}
	for d := -3; d <= 3; d++ {
		near[e.code(e.clock.Now().Add(time.Duration(d)*mfa.Period))] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", i); !near[c] {
			return c
		}
	}
}

// sessionToken signs the MFA user in and returns the session token.
func (e *env) sessionToken(extra ...string) string {
	e.t.Helper()
	a := e.signIn(mfaEmail, "account:information", extra...)
	if a.Status != http.StatusForbidden || a.Error != "insufficient_authorization" || !a.MFARequired || a.SessionToken == "" {
		e.t.Fatalf("sign-in of an MFA user: got %d %s, want 403 insufficient_authorization with a session_token", a.Status, a.Body)
	}
	return a.SessionToken
}

// redeem looks the code up in the store as the token endpoint would.
func (e *env) redeem(code string) store.AuthCode {
	e.t.Helper()
	ac, err := e.store.RedeemAuthCode(context.Background(), e.hasher.Hash(code), store.RefreshToken{Hash: "rt_" + code}, e.clock.Now())
	if err != nil {
		e.t.Fatalf("RedeemAuthCode: %v", err)
	}
	return ac
}

func wantError(t *testing.T, what string, got answer, status int, code string) {
	t.Helper()
	if got.Status != status || got.Error != code {
		t.Errorf("%s: got %d %s, want %d %q", what, got.Status, got.Body, status, code)
	}
}

func TestUserWithoutMFAGetsACode(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	a := e.signIn(strings.ToUpper(plainEmail), "read", "redirect_uri", redirect)
	if a.Status != http.StatusOK || !strings.HasPrefix(a.AuthorizationCode, secret.CodePrefix) {
		t.Fatalf("got %d %s, want 200 with an authorization_code", a.Status, a.Body)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", cc)
	}
	ac := e.redeem(a.AuthorizationCode)
	want := store.AuthCode{
		ClientID: appID, UserID: e.plainUser.ID, RedirectURI: redirect,
		Scopes: scope.Bundles["read"], AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(signin.DefaultCodeTTL),
	}
	if d := cmp.Diff(want, ac, cmpopts.IgnoreFields(store.AuthCode{}, "Hash", "GrantID", "UsedAt")); d != "" {
		t.Errorf("stored code (-want +got):\n%s", d)
	}
}

func TestFormBodyAndBasicAuth(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"email": {plainEmail}, "password": {userPassword}, "scope": {"account:information"}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/oauth2/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(appID, appSecret)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	json.NewDecoder(resp.Body).Decode(&a)
	if resp.StatusCode != http.StatusOK || a.AuthorizationCode == "" {
		t.Errorf("form body with Basic: got %d %+v, want 200 with a code", resp.StatusCode, a)
	}
}

func TestUserWithMFA(t *testing.T) {
	e := newEnv(t)
	a := e.signIn(mfaEmail, "account:information order:execution", "redirect_uri", redirect,
		"code_challenge", challenge, "code_challenge_method", "S256")
	if a.Status != http.StatusForbidden || a.Error != "insufficient_authorization" || !a.MFARequired ||
		!strings.HasPrefix(a.SessionToken, mfa.TokenPrefix) || a.ExpiresIn != 300 || a.AuthorizationCode != "" {
		t.Fatalf("got %d %s; want 403 insufficient_authorization, mfa_required, a session_token, expires_in 300 and no code", a.Status, a.Body)
	}
	e.clock.Add(20 * time.Second)
	now := e.clock.Now()
	v := e.verify(a.SessionToken, e.code(now))
	if v.Status != http.StatusOK || v.AuthorizationCode == "" {
		t.Fatalf("verify: got %d %s, want 200 with an authorization_code", v.Status, v.Body)
	}
	ac := e.redeem(v.AuthorizationCode)
	want := store.AuthCode{
		ClientID: appID, UserID: e.mfaUser.ID, RedirectURI: redirect,
		Scopes: []string{"account:information", "order:execution"}, CodeChallenge: challenge, CodeChallengeMethod: "S256",
		AuthTime: now, AMR: []string{"pwd", "otp"}, CreatedAt: now, ExpiresAt: now.Add(signin.DefaultCodeTTL),
	}
	if d := cmp.Diff(want, ac, cmpopts.IgnoreFields(store.AuthCode{}, "Hash", "GrantID", "UsedAt")); d != "" {
		t.Errorf("stored code (-want +got):\n%s", d)
	}
	wantError(t, "the session token used again", e.verify(a.SessionToken, e.code(now.Add(mfa.Period))), http.StatusBadRequest, "invalid_grant")
}

func TestFiveWrongCodesKillTheSessionToken(t *testing.T) {
	e := newEnv(t)
	token := e.sessionToken()
	for i := 1; i <= mfa.MaxAttempts; i++ {
		wantError(t, fmt.Sprintf("wrong code %d", i), e.verify(token, e.wrongCode()), http.StatusBadRequest, "invalid_mfa_code")
	}
	wantError(t, "the right code as sixth attempt", e.verify(token, e.code(e.clock.Now())), http.StatusBadRequest, "invalid_grant")
}

func TestSessionTokenExpires(t *testing.T) {
	e := newEnv(t)
	token := e.sessionToken()
	e.clock.Add(mfa.ChallengeTTL)
	wantError(t, "verify after 5 minutes", e.verify(token, e.code(e.clock.Now())), http.StatusBadRequest, "invalid_grant")
}

func TestCodeAcceptedOnce(t *testing.T) {
	e := newEnv(t)
	first, second := e.sessionToken(), e.sessionToken()
	c := e.code(e.clock.Now())
	if a := e.verify(first, c); a.Status != http.StatusOK {
		t.Fatalf("first use: got %d %s, want 200", a.Status, a.Body)
	}
	wantError(t, "the same code for a second session", e.verify(second, c), http.StatusBadRequest, "invalid_mfa_code")
	// The refusal counted as a wrong attempt, nothing more: the next code works.
	if a := e.verify(second, e.code(e.clock.Now().Add(mfa.Period))); a.Status != http.StatusOK {
		t.Errorf("next step's code for the second session: got %d %s, want 200", a.Status, a.Body)
	}
}

func TestSessionTokenBoundToClient(t *testing.T) {
	e := newEnv(t)
	token := e.sessionToken()
	a := e.postJSON("/v1/oauth2/mfa/verify", map[string]string{
		"client_id": otherID, "client_secret": otherSecret, "session_token": token, "code": e.code(e.clock.Now()),
	})
	wantError(t, "another first-party client's verify", a, http.StatusBadRequest, "invalid_grant")
	// It was not spent by the refused attempt.
	if a := e.verify(token, e.code(e.clock.Now())); a.Status != http.StatusOK {
		t.Errorf("the owning client afterwards: got %d %s, want 200", a.Status, a.Body)
	}
}

func TestNonFirstPartyClientRefused(t *testing.T) {
	e := newEnv(t)
	a := e.postJSON("/v1/oauth2/authorize", map[string]string{
		"client_id": thirdID, "client_secret": thirdSecret, "email": plainEmail, "password": userPassword, "scope": "read",
	})
	wantError(t, "authorize", a, http.StatusBadRequest, "unauthorized_client")
	token := e.sessionToken()
	a = e.postJSON("/v1/oauth2/mfa/verify", map[string]string{
		"client_id": thirdID, "client_secret": thirdSecret, "session_token": token, "code": e.code(e.clock.Now()),
	})
	wantError(t, "verify", a, http.StatusBadRequest, "unauthorized_client")
}

func TestWrongCredentialsLookAlike(t *testing.T) {
	e := newEnv(t)
	wrongPassword := e.postJSON("/v1/oauth2/authorize", map[string]string{
		"client_id": appID, "client_secret": appSecret, "email": plainEmail, "password": "wrong password", "scope": "read",
	})
	unknownEmail := e.signIn("nobody@example.com", "read")
	wrongMFAPassword := e.postJSON("/v1/oauth2/authorize", map[string]string{
		"client_id": appID, "client_secret": appSecret, "email": mfaEmail, "password": "wrong password", "scope": "read",
	})
	for _, a := range []answer{wrongPassword, unknownEmail, wrongMFAPassword} {
		wantError(t, "wrong credentials", a, http.StatusUnauthorized, "access_denied")
		if a.Body != wrongPassword.Body {
			t.Errorf("bodies differ: %q and %q", a.Body, wrongPassword.Body)
		}
		if a.SessionToken != "" {
			t.Errorf("a wrong password got a session token: %s", a.Body)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t)
	base := map[string]string{"client_id": appID, "client_secret": appSecret, "email": plainEmail, "password": userPassword, "scope": "read"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name   string
		body   map[string]string
		status int
		code   string
	}{
		{"wrong client secret", with("client_secret", "aries_cs_wrong"), http.StatusUnauthorized, "invalid_client"},
		{"unknown client", with("client_id", "aries_ci_nobody"), http.StatusUnauthorized, "invalid_client"},
		{"no email", with("email", ""), http.StatusBadRequest, "invalid_request"},
		{"no password", with("password", ""), http.StatusBadRequest, "invalid_request"},
		{"no scope", with("scope", ""), http.StatusBadRequest, "invalid_scope"},
		{"unknown scope", with("scope", "read everything"), http.StatusBadRequest, "invalid_scope"},
		{"scope not enabled", with("scope", "position:information", "client_id", otherID, "client_secret", otherSecret), http.StatusBadRequest, "invalid_scope"},
		{"unregistered redirect_uri", with("redirect_uri", "https://evil.example/cb"), http.StatusBadRequest, "invalid_request"},
		{"plain PKCE", with("code_challenge", challenge, "code_challenge_method", "plain"), http.StatusBadRequest, "invalid_request"},
		{"short challenge", with("code_challenge", "abc", "code_challenge_method", "S256"), http.StatusBadRequest, "invalid_request"},
		// Security review finding 3: a public client marked first-party
		// (made before registration refused it) cannot sign anyone in.
		{"public first-party client", with("client_id", spaID, "client_secret", ""), http.StatusBadRequest, "unauthorized_client"},
		{"public first-party client with PKCE", with("client_id", spaID, "client_secret", "", "code_challenge", challenge, "code_challenge_method", "S256"), http.StatusBadRequest, "unauthorized_client"},
		{"admin scope for a non-admin", with("scope", "admin"), http.StatusForbidden, "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.postJSON("/v1/oauth2/authorize", tt.body), tt.status, tt.code)
		})
	}

	token := e.sessionToken()
	verifyTests := []struct {
		name string
		body map[string]string
		code string
	}{
		{"no code", map[string]string{"client_id": appID, "client_secret": appSecret, "session_token": token}, "invalid_request"},
		{"no session token", map[string]string{"client_id": appID, "client_secret": appSecret, "code": "123456"}, "invalid_request"},
		{"unknown session token", map[string]string{"client_id": appID, "client_secret": appSecret, "session_token": mfa.TokenPrefix + "nope", "code": "123456"}, "invalid_grant"},
		{"malformed code", map[string]string{"client_id": appID, "client_secret": appSecret, "session_token": token, "code": "12345x"}, "invalid_mfa_code"},
	}
	for _, tt := range verifyTests {
		wantError(t, tt.name, e.postJSON("/v1/oauth2/mfa/verify", tt.body), http.StatusBadRequest, tt.code)
	}
	a := e.postJSON("/v1/oauth2/mfa/verify", map[string]string{"client_id": appID, "client_secret": "aries_cs_wrong", "session_token": token, "code": e.code(e.clock.Now())})
	wantError(t, "verify with a wrong client secret", a, http.StatusUnauthorized, "invalid_client")
	if a := e.verify(token, e.code(e.clock.Now())); a.Status != http.StatusOK {
		t.Errorf("verify after the failed client authentication: got %d %s, want 200 (the code was not spent)", a.Status, a.Body)
	}
}

func TestStepUpScopes(t *testing.T) {
	e := newEnv(t, func(h *Handler) {
		h.StepUp = mfa.StepUp{Scopes: []string{"order:execution", "funds:withdrawal"}, MaxAge: 15 * time.Minute}
	})
	a := e.signIn(plainEmail, "account:information trade")
	wantError(t, "step-up scope for a user without MFA", a, http.StatusForbidden, "access_denied")
	if !strings.Contains(a.Description, "order:execution") || !strings.Contains(a.Description, "https://aries.example/account/security") {
		t.Errorf("description %q: want it to name the scope and the page where MFA is turned on", a.Description)
	}
	if a := e.signIn(plainEmail, "account:information"); a.Status != http.StatusOK {
		t.Errorf("other scopes for a user without MFA: got %d %s, want 200", a.Status, a.Body)
	}
	token := e.sessionToken("scope", "trade")
	if a := e.verify(token, e.code(e.clock.Now())); a.Status != http.StatusOK {
		t.Errorf("step-up scope for a user with MFA after the code: got %d %s, want 200", a.Status, a.Body)
	}
}

func TestScopeRemovedWhileWaiting(t *testing.T) {
	e := newEnv(t)
	token := e.sessionToken("scope", "order:execution")
	c, err := e.store.Client(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	c.Scopes = []string{"account:information"}
	if err := e.store.UpdateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	wantError(t, "verify after the client lost the scope", e.verify(token, e.code(e.clock.Now())), http.StatusBadRequest, "invalid_scope")
}

func TestRateLimited(t *testing.T) {
	e := newEnv(t, func(h *Handler) {
		h.RateLimit = &ratelimit.Policy{
			Limiter: ratelimit.NewMemory(),
			Limits:  ratelimit.Limits{ratelimit.Authentication: ratelimit.PerMinute(3)},
			Logger:  slog.New(slog.DiscardHandler),
		}
	})
	e.source = "203.0.113.9"
	for i := range 3 {
		a := e.signIn(fmt.Sprintf("nobody%d@example.com", i), "read")
		if a.Status != http.StatusUnauthorized || a.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("attempt %d: got %d with X-RateLimit-Limit %q, want 401 and 3", i+1, a.Status, a.Header.Get("X-RateLimit-Limit"))
		}
	}
	// A new email buys nothing: the client and the address pay.
	a := e.signIn(plainEmail, "read")
	wantError(t, "fourth attempt from one address", a, http.StatusTooManyRequests, "rate_limited")
	if a.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	e.source = "198.51.100.7"
	if a := e.signIn(plainEmail, "read"); a.Status != http.StatusOK {
		t.Errorf("the same client from another address: got %d %s, want 200", a.Status, a.Body)
	}
}

// Security review finding 3: the first-party sign-in had no password lock.
// It shares the hosted sign-in's: per account and address.
func TestPasswordLock(t *testing.T) {
	e := newEnv(t)
	e.source = "203.0.113.9"
	for i := range lockout.PasswordThreshold {
		a := e.signIn(plainEmail, "read", "password", "wrong password!")
		wantError(t, fmt.Sprintf("wrong password %d", i+1), a, http.StatusUnauthorized, "access_denied")
	}
	a := e.signIn(plainEmail, "read")
	wantError(t, "the right password while locked", a, http.StatusTooManyRequests, "access_denied")
	if a.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q, want 30", a.Header.Get("Retry-After"))
	}
	e.source = "198.51.100.7"
	if a := e.signIn(plainEmail, "read"); a.Status != http.StatusOK {
		t.Errorf("from another address: got %d %s, want 200", a.Status, a.Body)
	}
	e.source = "203.0.113.9"
	e.clock.Add(31 * time.Second)
	if a := e.signIn(plainEmail, "read"); a.Status != http.StatusOK {
		t.Errorf("after the lock: got %d %s, want 200", a.Status, a.Body)
	}
}

// Wrong codes at mfa/verify count toward the user's second-factor lock
// across session tokens; once locked, the right code is refused.
func TestVerifySecondFactorLock(t *testing.T) {
	e := newEnv(t)
	wrong := "000000"
	if wrong == e.code(e.clock.Now()) {
		wrong = "000001"
	}
	for i := 0; i < lockout.SecondFactorLimit; {
		token := e.sessionToken()
		for range 4 {
			if i == lockout.SecondFactorLimit {
				break
			}
			e.verify(token, wrong)
			i++
		}
	}
	a := e.verify(e.sessionToken(), e.code(e.clock.Now()))
	wantError(t, "the right code once locked", a, http.StatusForbidden, "access_denied")
	if !strings.Contains(a.Description, "recovery code") {
		t.Errorf("error_description %q does not say how to unlock", a.Description)
	}
}
