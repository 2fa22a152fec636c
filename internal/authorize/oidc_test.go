package authorize

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// The OpenID Connect parts of the authorization endpoint and RP-initiated
// logout, over a fake hint verifier. internal/server/oidc_flow_test.go
// runs them with real ID tokens.

const (
	rpID        = "aries_ci_rp"
	rpSignedOut = "https://app.example.com/signed-out"
)

// fakeHints accepts the hints it holds, each standing for an ID token
// with those claims, and refuses anything else as signed elsewhere.
type fakeHints map[string]protocol.IDTokenClaims

func (f fakeHints) VerifyHint(raw string) (protocol.IDTokenClaims, error) {
	if c, ok := f[raw]; ok {
		return c, nil
	}
	return protocol.IDTokenClaims{}, &idtoken.HintError{Reason: "it was not signed by a key of this server"}
}

var hints = fakeHints{
	"hint-ada":       {Subject: "usr_ada", Audience: []string{rpID}, AuthorizedParty: rpID},
	"hint-root":      {Subject: "usr_root", Audience: []string{rpID}, AuthorizedParty: rpID},
	"hint-ada-other": {Subject: "usr_ada", Audience: []string{confID}, AuthorizedParty: confID},
}

// newOIDCEnv is newEnv with the fake hints and a relying party that may
// ask for openid and email, with a post-logout redirect URI.
func newOIDCEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(h *Handler) { h.Hints = hints })
	now := e.clock.Now()
	err := e.store.CreateClient(context.Background(), store.Client{ID: rpID, Name: "Relying party", Type: store.Confidential,
		SecretHash: "h1$rp", RedirectURIs: []string{confRedirect}, Scopes: []string{"openid", "email", "user:information"},
		PostLogoutRedirectURIs: []string{rpSignedOut}, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func rpParams(kv ...string) url.Values {
	return with(url.Values{"response_type": {"code"}, "client_id": {rpID}, "redirect_uri": {confRedirect},
		"scope": {"openid email"}, "state": {"st-rp"}}, kv...)
}

// TestOIDCParameters: what the authorization endpoint accepts of nonce,
// max_age, login_hint and id_token_hint, and how it refuses the rest:
// invalid_request back to the client with state and iss.
func TestOIDCParameters(t *testing.T) {
	e := newOIDCEnv(t)
	tests := []struct {
		name string
		kv   []string
		want string // "" for the sign-in page, else the error code
		says string
	}{
		{"nonce", []string{"nonce", "n-0S6_WzA2Mj"}, "", ""},
		{"nonce of 512 bytes", []string{"nonce", strings.Repeat("é", 256)}, "", ""},
		{"nonce of 513 bytes", []string{"nonce", strings.Repeat("n", 513)}, "invalid_request", "at most 512 bytes"},
		{"nonce with a newline", []string{"nonce", "a\nb"}, "invalid_request", "printable"},
		{"max_age 0", []string{"max_age", "0"}, "", ""},
		{"max_age huge", []string{"max_age", "99999999999999999999999"}, "", ""},
		{"max_age a word", []string{"max_age", "ten"}, "invalid_request", "max_age"},
		{"max_age negative", []string{"max_age", "-1"}, "invalid_request", "max_age"},
		{"max_age with a plus", []string{"max_age", "+10"}, "invalid_request", "max_age"},
		{"login_hint not an email is ignored", []string{"login_hint", "ada"}, "", ""},
		{"id_token_hint", []string{"id_token_hint", "hint-ada"}, "", ""},
		{"id_token_hint signed elsewhere", []string{"id_token_hint", "forged"}, "invalid_request", "not signed by a key of this server"},
		{"id_token_hint of another client", []string{"id_token_hint", "hint-ada-other"}, "invalid_request", "another client"},
		{"prompt select_account with none", []string{"prompt", "none select_account"}, "invalid_request", "prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.authorize(rpParams(tt.kv...))
			if tt.want == "" {
				if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
					t.Errorf("status %d, want the sign-in page:\n%s", p.StatusCode, p.body)
				}
				return
			}
			q := p.location().Query()
			if p.StatusCode != http.StatusFound || q.Get("error") != tt.want || !strings.Contains(q.Get("error_description"), tt.says) ||
				q.Get("state") != "st-rp" || q.Get("iss") != e.srv.URL {
				t.Errorf("status %d, redirect %v; want %s saying %q with state and iss", p.StatusCode, q, tt.want, tt.says)
			}
		})
	}

	// A parameter given twice is refused like any other (RFC 6749 section
	// 3.1).
	q := rpParams()
	q["nonce"] = []string{"a", "b"}
	if loc := e.authorize(q).location(); loc == nil || loc.Query().Get("error") != "invalid_request" {
		t.Errorf("nonce twice: %v, want invalid_request", loc)
	}
}

// TestSignInReturnPath: the sign-in page leads back to the request without
// the parameters that sign-in answers (so it cannot loop) and with the
// nonce; login_hint fills in the email.
func TestSignInReturnPath(t *testing.T) {
	e := newOIDCEnv(t)
	p := e.authorize(rpParams("prompt", "login consent select_account", "max_age", "0", "login_hint", "root@example.com",
		"id_token_hint", "hint-root", "nonce", "n-1"))
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="root@example.com"`) {
		t.Fatalf("status %d, want the sign-in page with the hinted email", p.StatusCode)
	}
	ret, err := url.Parse(hiddenFields(p.body).Get("return_to"))
	if err != nil {
		t.Fatal(err)
	}
	got := ret.Query()
	want := rpParams("prompt", "consent", "nonce", "n-1")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("return path (-want +got):\n%s", d)
	}
}

// TestConsentCarriesTheNonce: the consent form repeats the nonce to the
// code, and not max_age or the hints, whose work is done.
func TestConsentCarriesTheNonce(t *testing.T) {
	e := newOIDCEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.authorize(rpParams("nonce", "n-2", "max_age", "600", "login_hint", userEmail, "id_token_hint", "hint-ada"))
	fields := hiddenFields(p.body)
	if p.StatusCode != http.StatusOK || fields.Get("nonce") != "n-2" || fields.Has("max_age") || fields.Has("login_hint") || fields.Has("id_token_hint") {
		t.Fatalf("consent page: status %d, hidden fields %v; want nonce only of the OpenID Connect parameters", p.StatusCode, fields)
	}
	back := e.decide(p, "approve").location()
	code := back.Query().Get("code")
	ac, err := e.store.AuthCode(context.Background(), e.h.Hasher.Hash(code), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ac.Nonce != "n-2" || ac.SessionID == "" {
		t.Errorf("stored code: nonce %q, sid %q; want n-2 and the session's sid", ac.Nonce, ac.SessionID)
	}
}

func TestTooOld(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	sess := store.Session{AuthTime: now.Add(-time.Minute)}
	tests := []struct {
		maxAge time.Duration
		want   bool
	}{
		{-1, false},
		{0, true}, // max_age=0 is prompt=login
		{59 * time.Second, true},
		{60 * time.Second, false},
		{time.Hour, false},
	}
	for _, tt := range tests {
		if got := (&request{maxAge: tt.maxAge}).tooOld(sess, now); got != tt.want {
			t.Errorf("max_age %v, signed in a minute ago: tooOld %t, want %t", tt.maxAge, got, tt.want)
		}
	}
}

// TestLogoutPages: RP-initiated logout with the fake hints.
func TestLogoutPages(t *testing.T) {
	tests := []struct {
		name     string
		query    url.Values
		status   int
		location string // "" for none
		ended    bool
	}{
		{"valid pair", url.Values{"id_token_hint": {"hint-ada"}, "post_logout_redirect_uri": {rpSignedOut}, "state": {"s"}},
			http.StatusFound, rpSignedOut + "?state=s", true},
		{"valid hint, no URI", url.Values{"id_token_hint": {"hint-ada"}}, http.StatusOK, "", true},
		{"hint of another user", url.Values{"id_token_hint": {"hint-root"}, "post_logout_redirect_uri": {rpSignedOut}},
			http.StatusFound, rpSignedOut, false},
		{"wrong URI", url.Values{"id_token_hint": {"hint-ada"}, "post_logout_redirect_uri": {rpSignedOut + "/"}}, http.StatusBadRequest, "", false},
		{"URI without hint", url.Values{"post_logout_redirect_uri": {rpSignedOut}}, http.StatusBadRequest, "", false},
		{"forged hint", url.Values{"id_token_hint": {"forged"}}, http.StatusBadRequest, "", false},
		{"hint twice", url.Values{"id_token_hint": {"hint-ada", "hint-ada"}}, http.StatusBadRequest, "", false},
		{"client_id not the hint's", url.Values{"id_token_hint": {"hint-ada"}, "client_id": {confID}}, http.StatusBadRequest, "", false},
		{"nothing", url.Values{}, http.StatusOK, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOIDCEnv(t)
			e.signIn(userEmail, userPassword)
			p := e.get("/oauth2/logout?" + tt.query.Encode())
			if p.StatusCode != tt.status || p.Header.Get("Location") != tt.location {
				t.Errorf("status %d, Location %q; want %d, %q", p.StatusCode, p.Header.Get("Location"), tt.status, tt.location)
			}
			_, _, signedIn, err := e.h.currentSession(sessionRequest(t, e))
			if err != nil {
				t.Fatal(err)
			}
			if signedIn == tt.ended {
				t.Errorf("signed in after: %t, want %t", signedIn, !tt.ended)
			}
		})
	}
}

// sessionRequest is a request carrying the env browser's cookies, to ask
// the handler about its session.
func sessionRequest(t *testing.T, e *env) *http.Request {
	t.Helper()
	r, _ := http.NewRequest("GET", e.srv.URL+"/", nil)
	for _, c := range e.client.Jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	return r
}

// TestConsentNamesOIDCScopes: the consent page says what openid and email
// let the app know, in the scope table's words, among the read-only ones.
func TestConsentNamesOIDCScopes(t *testing.T) {
	e := newOIDCEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.authorize(rpParams())
	if p.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want the consent page", p.StatusCode)
	}
	for _, want := range []string{"Know who you are: your Aries user ID", "View your email address", "2 read-only permissions"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the consent page lacks %q", want)
		}
	}
}
