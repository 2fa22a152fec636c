package authorize

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/store"
)

// checkSecurityHeaders asserts what every HTML response carries.
func checkSecurityHeaders(t *testing.T, what string, p page) {
	t.Helper()
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q, want default-src 'none' and frame-ancestors 'none'", what, csp)
	}
	if got := p.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s: X-Frame-Options = %q, want DENY", what, got)
	}
	if got := p.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
}

func TestErrorPagesNeverRedirect(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		params url.Values
		code   string
	}{
		{"unknown client", with(confParams(), "client_id", "aries_ci_nope"), "invalid_client"},
		{"missing client_id", with(confParams(), "client_id", ""), "invalid_client"},
		{"disabled client", with(confParams(), "client_id", offID), "invalid_client"},
		{"two client_ids", func() url.Values { v := confParams(); v.Add("client_id", pubID); return v }(), "invalid_client"},
		{"trailing slash", with(confParams(), "redirect_uri", confRedirect+"/"), "redirect_uri_mismatch"},
		{"other case", with(confParams(), "redirect_uri", "https://APP.example.com/callback"), "redirect_uri_mismatch"},
		{"extra query", with(confParams(), "redirect_uri", confRedirect+"?x=1"), "redirect_uri_mismatch"},
		{"other client's uri", with(confParams(), "redirect_uri", pubRedirect), "redirect_uri_mismatch"},
		{"missing redirect_uri", with(confParams(), "redirect_uri", ""), "redirect_uri_mismatch"},
		{"two redirect_uris", func() url.Values { v := confParams(); v.Add("redirect_uri", "https://evil.example/"); return v }(), "redirect_uri_mismatch"},
		// Client and redirect URI come first: a bad response_type with a bad
		// redirect URI must not redirect there.
		{"mismatch and bad response_type", with(confParams(), "redirect_uri", "https://evil.example/", "response_type", "token"), "redirect_uri_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.authorize(tt.params)
			if p.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", p.StatusCode)
			}
			if loc := p.Header.Get("Location"); loc != "" {
				t.Errorf("Location = %q, want no redirect", loc)
			}
			if !strings.Contains(p.body, "<code>"+tt.code+"</code>") {
				t.Errorf("page does not name %s:\n%s", tt.code, p.body)
			}
			checkSecurityHeaders(t, tt.name, p)
		})
	}
}

func TestRedirectErrors(t *testing.T) {
	e := newEnv(t)
	twice := func(v url.Values, k, extra string) url.Values { v = cloneValues(v); v.Add(k, extra); return v }
	tests := []struct {
		name   string
		params url.Values
		code   string
	}{
		{"response_type token", with(confParams(), "response_type", "token"), "unsupported_response_type"},
		{"response_type missing", with(confParams(), "response_type", ""), "invalid_request"},
		{"scope twice", twice(confParams(), "scope", "trade"), "invalid_request"},
		{"response_type twice", twice(confParams(), "response_type", "code"), "invalid_request"},
		{"challenge twice", twice(pubParams(), "code_challenge", challenge), "invalid_request"},
		{"scope blank", with(confParams(), "scope", "   "), "invalid_scope"},
		{"unknown scope", with(confParams(), "scope", "trade superpowers"), "invalid_scope"},
		{"scope case differs", with(confParams(), "scope", "Order:Execution"), "invalid_scope"},
		{"scope not enabled", with(confParams(), "scope", "funds:withdrawal"), "invalid_scope"},
		{"bundle not enabled", with(confParams(), "scope", "withdraw"), "invalid_scope"},
		{"bundle partly enabled", with(pubParams(), "scope", "read"), "invalid_scope"},
		{"public without PKCE", with(pubParams(), "code_challenge", "", "code_challenge_method", ""), "invalid_request"},
		{"public with plain", with(pubParams(), "code_challenge_method", "plain"), "invalid_request"},
		{"public without method", with(pubParams(), "code_challenge_method", ""), "invalid_request"},
		{"confidential with plain", with(confParams(), "code_challenge", challenge, "code_challenge_method", "plain"), "invalid_request"},
		{"method without challenge", with(confParams(), "code_challenge_method", "S256"), "invalid_request"},
		{"challenge too short", with(pubParams(), "code_challenge", challenge[:42]), "invalid_request"},
		{"challenge too long", with(pubParams(), "code_challenge", challenge+"A"), "invalid_request"},
		{"challenge not base64url", with(pubParams(), "code_challenge", challenge[:42]+"="), "invalid_request"},
		{"unknown prompt", with(confParams(), "prompt", "popup"), "invalid_request"},
		{"prompt none and login", with(confParams(), "prompt", "none login"), "invalid_request"},
		{"prompt none, not signed in", with(confParams(), "prompt", "none"), "login_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.authorize(tt.params)
			if p.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302:\n%s", p.StatusCode, p.body)
			}
			loc := p.location()
			redirect := tt.params.Get("redirect_uri")
			if got := loc.Scheme + "://" + loc.Host + loc.Path; !strings.HasPrefix(redirect, got) || loc.Host == "" {
				t.Errorf("redirected to %s, want %s", loc, redirect)
			}
			q := loc.Query()
			want := url.Values{
				"error":             {tt.code},
				"error_description": q["error_description"],
				"state":             {tt.params.Get("state")},
				"iss":               {e.srv.URL},
			}
			if diff := cmp.Diff(want, q); diff != "" {
				t.Errorf("redirect query (-want +got):\n%s", diff)
			}
			if q.Get("error_description") == "" {
				t.Errorf("no error_description")
			}
			if q.Has("code") {
				t.Errorf("an error redirect carries a code")
			}
		})
	}
}

func TestRedirectKeepsRegisteredQuery(t *testing.T) {
	e := newEnv(t)
	p := e.authorize(with(confParams(), "redirect_uri", queryRedirect, "response_type", "token"))
	q := p.location().Query()
	if q.Get("tenant") != "7" || q.Get("error") != "unsupported_response_type" || q.Get("state") != "st-123" {
		t.Errorf("redirect query = %v, want tenant=7 kept next to error and state", q)
	}
}

func TestErrorWithoutStateOmitsIt(t *testing.T) {
	e := newEnv(t)
	p := e.authorize(with(confParams(), "state", "", "scope", "nope"))
	q := p.location().Query()
	if q.Has("state") {
		t.Errorf("state = %q, want none when the request had none", q.Get("state"))
	}
	if q.Get("iss") != e.srv.URL {
		t.Errorf("iss = %q, want %q", q.Get("iss"), e.srv.URL)
	}
}

// flowResult is a completed authorization: the code and the redirect it
// came in.
type flowResult struct {
	code     string
	redirect *url.URL
}

// completeFlow runs sign-in and consent for params and returns the code.
func (e *env) completeFlow(params url.Values) flowResult {
	e.t.Helper()
	p := e.authorize(params)
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `action="/login"`) {
		e.t.Fatalf("authorize without a session: status %d, want the sign-in page:\n%s", p.StatusCode, p.body)
	}
	p = e.submitSignIn(p, userEmail, userPassword)
	if p.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in: status %d, want 303:\n%s", p.StatusCode, p.body)
	}
	p = e.follow(p)
	if p.StatusCode != http.StatusOK {
		e.t.Fatalf("authorize after sign-in: status %d, want the consent page:\n%s", p.StatusCode, p.body)
	}
	p = e.decide(p, "approve")
	if p.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("approve: status %d, want 303:\n%s", p.StatusCode, p.body)
	}
	loc := p.location()
	return flowResult{code: loc.Query().Get("code"), redirect: loc}
}

func TestFullFlow(t *testing.T) {
	tests := []struct {
		name       string
		params     url.Values
		wantScopes []string
		challenge  string
		method     string
	}{
		{"confidential", confParams(), []string{"account:information", "order:execution"}, "", ""},
		{"confidential with PKCE", with(confParams(), "code_challenge", challenge, "code_challenge_method", "S256"),
			[]string{"account:information", "order:execution"}, challenge, "S256"},
		{"public loopback", pubParams(), []string{"user:information", "order:information"}, challenge, "S256"},
		{"public private-use scheme", with(pubParams(), "redirect_uri", nativeRedir), []string{"user:information", "order:information"}, challenge, "S256"},
		{"bundle read", with(confParams(), "scope", "read"), []string{
			"user:information", "account:information", "order:information", "position:information",
			"market:information", "calendar:information", "options:information", "analytics:information",
			"market:supplemental"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			start := e.clock.Now()
			res := e.completeFlow(tt.params)
			redirect := tt.params.Get("redirect_uri")
			if got := strings.SplitN(res.redirect.String(), "?", 2)[0]; got != redirect {
				t.Errorf("redirected to %s, want %s", got, redirect)
			}
			q := res.redirect.Query()
			if q.Get("state") != tt.params.Get("state") || q.Get("iss") != e.srv.URL {
				t.Errorf("state, iss = %q, %q; want %q, %q", q.Get("state"), q.Get("iss"), tt.params.Get("state"), e.srv.URL)
			}
			if !strings.HasPrefix(res.code, "aries_ac_") || len(res.code) != len("aries_ac_")+43 {
				t.Errorf("code = %q, want aries_ac_ and 43 base64url characters", res.code)
			}

			ac, err := e.store.RedeemAuthCode(context.Background(), e.h.Hasher.Hash(res.code), store.RefreshToken{Hash: "rt_test"}, e.clock.Now())
			if err != nil {
				t.Fatalf("RedeemAuthCode: %v", err)
			}
			want := store.AuthCode{
				Hash: ac.Hash, GrantID: ac.GrantID, UsedAt: ac.UsedAt,
				ClientID: tt.params.Get("client_id"), UserID: e.user.ID, RedirectURI: redirect,
				Scopes: tt.wantScopes, CodeChallenge: tt.challenge, CodeChallengeMethod: tt.method,
				AuthTime: start, AMR: []string{"pwd"}, CreatedAt: start, ExpiresAt: start.Add(DefaultCodeTTL),
				SessionID: ac.SessionID, // the browser session's sid, for ID tokens (oidc_test.go)
			}
			if ac.SessionID == "" {
				t.Error("the code carries no sid")
			}
			if diff := cmp.Diff(want, ac); diff != "" {
				t.Errorf("stored code (-want +got):\n%s", diff)
			}
			g, err := e.store.Grant(context.Background(), ac.GrantID)
			if err != nil {
				t.Fatalf("Grant: %v", err)
			}
			if g.UserID != e.user.ID || !g.ExpiresAt.Equal(start.Add(DefaultGrantTTL)) || !cmp.Equal(g.Scopes, tt.wantScopes) {
				t.Errorf("grant = %+v, want user %s, scopes %v, expiry %v", g, e.user.ID, tt.wantScopes, start.Add(DefaultGrantTTL))
			}
		})
	}
}

func TestCodeExpires(t *testing.T) {
	e := newEnv(t)
	res := e.completeFlow(confParams())
	_, err := e.store.RedeemAuthCode(context.Background(), e.h.Hasher.Hash(res.code), store.RefreshToken{Hash: "rt_test"}, e.clock.Now().Add(DefaultCodeTTL+time.Second))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("redeeming after %v: %v, want ErrNotFound", DefaultCodeTTL, err)
	}
}

func TestConsentPage(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.authorize(with(confParams(), "scope", "trade account:information"))
	if p.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want the consent page", p.StatusCode)
	}
	for _, want := range []string{
		confName,
		userEmail,
		"Place, modify, and cancel orders",
		"View account balances, positions, and transaction history",
		`name="decision" value="approve"`,
		`name="decision" value="deny"`,
		"app.example.com",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com;") {
		t.Errorf("CSP = %q, want form-action to allow https://app.example.com", csp)
	}
	checkSecurityHeaders(t, "consent", p)

	// The hidden fields carry the request, not more.
	got := hiddenFields(p.body)
	got.Del("csrf_token")
	if diff := cmp.Diff(with(confParams(), "scope", "trade account:information"), got); diff != "" {
		t.Errorf("hidden fields (-want +got):\n%s", diff)
	}
}

func TestFormActionPerRedirectURI(t *testing.T) {
	tests := []struct {
		params url.Values
		want   string
	}{
		{pubParams(), "http://127.0.0.1:9000"},
		{with(pubParams(), "redirect_uri", nativeRedir), "com.example.app:"},
	}
	for _, tt := range tests {
		e := newEnv(t)
		// The sign-in page: after sign-in with a remembered consent, the
		// redirects of its form end at the client.
		p := e.authorize(tt.params)
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+tt.want+";") {
			t.Errorf("%s sign-in page: CSP = %q, want form-action to allow %s", tt.params.Get("redirect_uri"), csp, tt.want)
		}
		p = e.follow(e.submitSignIn(p, userEmail, userPassword))
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+tt.want+";") {
			t.Errorf("%s consent page: CSP = %q, want form-action to allow %s", tt.params.Get("redirect_uri"), csp, tt.want)
		}
	}
}

func TestRememberedConsent(t *testing.T) {
	e := newEnv(t)
	e.completeFlow(confParams())

	// Same client, same or fewer scopes: straight back with a code.
	for _, scopes := range []string{"trade account:information", "order:execution"} {
		p := e.authorize(with(confParams(), "scope", scopes, "state", "again"))
		if p.StatusCode != http.StatusFound {
			t.Fatalf("scope %q: status %d, want 302 without a page:\n%s", scopes, p.StatusCode, p.body)
		}
		q := p.location().Query()
		if q.Get("code") == "" || q.Get("state") != "again" || q.Get("iss") != e.srv.URL {
			t.Errorf("scope %q: redirect query %v, want code, state=again, iss", scopes, q)
		}
	}

	// prompt=none works the same way now.
	p := e.authorize(with(confParams(), "prompt", "none"))
	if p.StatusCode != http.StatusFound || p.location().Query().Get("code") == "" {
		t.Errorf("prompt=none with consent: status %d, Location %q; want a code", p.StatusCode, p.Header.Get("Location"))
	}

	// prompt=consent asks again; so does a scope not yet approved.
	for _, params := range []url.Values{
		with(confParams(), "prompt", "consent"),
		with(confParams(), "scope", "trade market:information"),
	} {
		p := e.authorize(params)
		if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
			t.Errorf("%v: status %d, want the consent page", params, p.StatusCode)
		}
	}

	// A consent given to one client does not cover another.
	p = e.authorize(with(pubParams(), "scope", "order:execution"))
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
		t.Errorf("other client: status %d, want the consent page", p.StatusCode)
	}
}

func TestPromptNoneWithoutConsent(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.authorize(with(confParams(), "prompt", "none"))
	q := p.location().Query()
	if p.StatusCode != http.StatusFound || q.Get("error") != "consent_required" || q.Get("state") != "st-123" {
		t.Errorf("status %d, query %v; want 302 with error=consent_required and state", p.StatusCode, q)
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.decide(e.authorize(confParams()), "deny")
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", p.StatusCode)
	}
	q := p.location().Query()
	if q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("iss") != e.srv.URL || q.Has("code") {
		t.Errorf("redirect query %v, want error=access_denied, state, iss and no code", q)
	}
	// Denying remembers nothing.
	if p := e.authorize(confParams()); p.StatusCode != http.StatusOK {
		t.Errorf("after deny: status %d, want the consent page again", p.StatusCode)
	}
}

func TestAdminScope(t *testing.T) {
	e := newEnv(t)
	params := with(confParams(), "scope", "admin")
	e.signIn(userEmail, userPassword)
	p := e.authorize(params)
	if q := p.location().Query(); p.StatusCode != http.StatusFound || q.Get("error") != "access_denied" {
		t.Errorf("non-admin: status %d, Location %q; want error=access_denied", p.StatusCode, p.Header.Get("Location"))
	}

	e2 := newEnv(t)
	e2.signIn(adminEmail, userPassword)
	p = e2.authorize(params)
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, "Administer Aries") {
		t.Errorf("admin: status %d, want the consent page for admin", p.StatusCode)
	}
}

func TestConsentRevalidated(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	consent := e.authorize(confParams())

	submit := func(change func(url.Values)) page {
		form := hiddenFields(consent.body)
		form.Set("decision", "approve")
		change(form)
		return e.post("/oauth2/authorize", form)
	}
	// A widened scope goes back as an error, not as a code.
	p := submit(func(f url.Values) { f.Set("scope", "funds:withdrawal") })
	if q := p.location().Query(); p.StatusCode != http.StatusSeeOther || q.Get("error") != "invalid_scope" || q.Has("code") {
		t.Errorf("tampered scope: status %d, Location %q; want 303 with error=invalid_scope", p.StatusCode, p.Header.Get("Location"))
	}
	// A changed redirect URI is never followed.
	p = submit(func(f url.Values) { f.Set("redirect_uri", "https://evil.example/cb") })
	if p.StatusCode != http.StatusBadRequest || p.Header.Get("Location") != "" {
		t.Errorf("tampered redirect_uri: status %d, Location %q; want 400 and no redirect", p.StatusCode, p.Header.Get("Location"))
	}
	p = submit(func(f url.Values) { f.Set("decision", "maybe") })
	if q := p.location().Query(); q.Get("error") != "invalid_request" || q.Has("code") {
		t.Errorf("bad decision: Location %q, want error=invalid_request", p.Header.Get("Location"))
	}
}

func TestConsentAfterSessionEnds(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	consent := e.authorize(confParams())
	e.clock.Add(DefaultSessionTTL + time.Minute)
	p := e.decide(consent, "approve")
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `action="/login"`) || p.Header.Get("Location") != "" {
		t.Fatalf("approve with an expired session: status %d, want the sign-in page", p.StatusCode)
	}
	// Signing in again leads back to the consent page.
	p = e.follow(e.submitSignIn(p, userEmail, userPassword))
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
		t.Errorf("after signing in again: status %d, want the consent page", p.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	consent := e.authorize(confParams())
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"wrong token", strings.Repeat("x", 43)},
	}
	for _, tt := range tests {
		form := hiddenFields(consent.body)
		form.Set("decision", "approve")
		form.Set("csrf_token", tt.token)
		if tt.token == "" {
			form.Del("csrf_token")
		}
		p := e.post("/oauth2/authorize", form)
		if p.StatusCode != http.StatusForbidden || p.Header.Get("Location") != "" {
			t.Errorf("consent, %s: status %d, Location %q; want 403 and no redirect", tt.name, p.StatusCode, p.Header.Get("Location"))
		}
		checkSecurityHeaders(t, "403 page", p)

		p = e.post("/login", url.Values{"csrf_token": {tt.token}, "email": {userEmail}, "password": {userPassword}})
		if p.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in, %s: status %d, want 403", tt.name, p.StatusCode)
		}
		p = e.post("/logout", url.Values{"csrf_token": {tt.token}})
		if p.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out, %s: status %d, want 403", tt.name, p.StatusCode)
		}
	}
	// No consent was recorded and no code issued: the page comes again.
	if p := e.authorize(confParams()); p.StatusCode != http.StatusOK {
		t.Errorf("after refused posts: status %d, want the consent page", p.StatusCode)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	form := hiddenFields(e.authorize(confParams()).body)
	form.Set("decision", "approve")
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth2/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p := e.do(req)
	if p.StatusCode != http.StatusForbidden || p.Header.Get("Location") != "" {
		t.Errorf("cross-site POST: status %d, Location %q; want 403", p.StatusCode, p.Header.Get("Location"))
	}
}

func TestSignInFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	wrong := e.signIn(userEmail, "wrong password!")
	unknown := e.signIn("nobody@example.com", "wrong password!")
	if wrong.StatusCode != http.StatusUnauthorized || unknown.StatusCode != http.StatusUnauthorized {
		t.Errorf("statuses %d and %d, want 401 for both", wrong.StatusCode, unknown.StatusCode)
	}
	// The page echoes the typed email; apart from that, identical.
	a := strings.ReplaceAll(wrong.body, userEmail, "EMAIL")
	b := strings.ReplaceAll(unknown.body, "nobody@example.com", "EMAIL")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("bodies differ (-wrong password +unknown email):\n%s", diff)
	}
	if !strings.Contains(a, "Incorrect email or password.") {
		t.Errorf("no generic message on the page:\n%s", a)
	}
	if n := len(e.client.Jar.Cookies(mustURL(e.srv.URL))); n != 1 {
		t.Errorf("%d cookies after failed sign-ins, want 1 (CSRF only)", n)
	}
}

func TestSignInEmailCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	if p := e.signIn("  ADA@Example.com ", userPassword); p.StatusCode != http.StatusSeeOther {
		t.Errorf("status %d, want 303", p.StatusCode)
	}
}

func TestSignInMissingFields(t *testing.T) {
	e := newEnv(t)
	if p := e.signIn(userEmail, ""); p.StatusCode != http.StatusBadRequest {
		t.Errorf("no password: status %d, want 400", p.StatusCode)
	}
}

func TestLockout(t *testing.T) {
	for _, email := range []string{userEmail, "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			e := newEnv(t)
			for i := range lockout.PasswordThreshold {
				if p := e.signIn(email, "wrong password!"); p.StatusCode != http.StatusUnauthorized {
					t.Fatalf("failure %d: status %d, want 401", i+1, p.StatusCode)
				}
			}
			// Locked: even the right password (or any) is refused unchecked,
			// with the same answer whether the account exists or not.
			p := e.signIn(email, userPassword)
			if p.StatusCode != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many attempts. Try again in 30 seconds.") {
				t.Fatalf("while locked: status %d, want 429 with the wait:\n%s", p.StatusCode, p.body)
			}
			if got := p.Header.Get("Retry-After"); got != "30" {
				t.Errorf("Retry-After = %q, want 30", got)
			}
			e.clock.Add(20 * time.Second)
			if p := e.signIn(email, userPassword); !strings.Contains(p.body, "Try again in 10 seconds.") {
				t.Errorf("20 s later: want 10 seconds left:\n%s", p.body)
			}

			// After the lock, one more failure locks for twice as long.
			e.clock.Add(11 * time.Second)
			e.signIn(email, "wrong password!")
			if p := e.signIn(email, userPassword); !strings.Contains(p.body, "Try again in 60 seconds.") {
				t.Errorf("second lock: want 60 seconds:\n%s", p.body)
			}
		})
	}
}

func TestLockoutLiftsAndResets(t *testing.T) {
	e := newEnv(t)
	for range lockout.PasswordThreshold {
		e.signIn(userEmail, "wrong password!")
	}
	e.clock.Add(30*time.Second + time.Second)
	if p := e.signIn(userEmail, userPassword); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the lock: status %d, want 303", p.StatusCode)
	}
	// Success forgets the failures: four more do not lock.
	for range lockout.PasswordThreshold - 1 {
		e.signIn(userEmail, "wrong password!")
	}
	if p := e.signIn(userEmail, userPassword); p.StatusCode != http.StatusSeeOther {
		t.Errorf("4 failures after a success: status %d, want 303", p.StatusCode)
	}
}

func TestFailuresSpreadOutDoNotLock(t *testing.T) {
	e := newEnv(t)
	for range 2 * lockout.PasswordThreshold {
		e.signIn(userEmail, "wrong password!")
		e.clock.Add(lockout.PasswordWindow/4 + time.Second) // fewer than 5 in any window
	}
	if p := e.signIn(userEmail, userPassword); p.StatusCode != http.StatusSeeOther {
		t.Errorf("status %d, want 303", p.StatusCode)
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(userEmail, userPassword)
	var ck *http.Cookie
	for _, c := range p.Cookies() {
		if c.Name == "aries_session" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatalf("no aries_session cookie set; cookies %v", p.Cookies())
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Errorf("cookie %v, want HttpOnly, SameSite=Lax, Path=/, not Secure over http", ck)
	}
	if !strings.HasPrefix(ck.Value, "aries_ss_") {
		t.Errorf("session id %q, want the aries_ss_ prefix", ck.Value)
	}
	// Only the hash is stored.
	if _, err := e.store.Session(context.Background(), ck.Value, e.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session found by its clear id (%v); want it stored only as a hash", err)
	}
	if _, err := e.store.Session(context.Background(), e.h.Hasher.Hash(ck.Value), e.clock.Now()); err != nil {
		t.Errorf("session by hash: %v", err)
	}
}

func TestHTTPSIssuerCookies(t *testing.T) {
	e := newEnvWith(t, httptest.NewTLSServer)
	p := e.get("/login")
	names := map[string]bool{}
	for _, c := range p.Cookies() {
		names[c.Name] = c.Secure
	}
	if secure, ok := names["__Host-aries_csrf"]; !ok || !secure {
		t.Errorf("cookies %v, want a Secure __Host-aries_csrf", p.Cookies())
	}
	p = e.submitSignIn(p, userEmail, userPassword)
	var found bool
	for _, c := range p.Cookies() {
		if c.Name == "__Host-aries_session" && c.Secure && c.Path == "/" {
			found = true
		}
	}
	if !found || p.StatusCode != http.StatusSeeOther {
		t.Errorf("status %d, cookies %v; want 303 and a Secure __Host-aries_session", p.StatusCode, p.Cookies())
	}
	// The flow works end to end over https.
	res := e.completeFlowSignedIn(confParams())
	if res.code == "" {
		t.Errorf("no code over https")
	}
}

// completeFlowSignedIn approves params in a browser that is signed in.
func (e *env) completeFlowSignedIn(params url.Values) flowResult {
	e.t.Helper()
	p := e.decide(e.authorize(params), "approve")
	loc := p.location()
	if loc == nil {
		e.t.Fatalf("approve: status %d, no redirect", p.StatusCode)
	}
	return flowResult{code: loc.Query().Get("code"), redirect: loc}
}

func TestReturnTo(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		returnTo string
		want     string
	}{
		{"//evil.com", "/"},
		{"//evil.com/oauth2/authorize", "/"},
		{"/\\evil.com", "/"},
		{"https://evil.com/", "/"},
		{"/\t/evil.com", "/"},
		{"javascript:alert(1)", "/"},
		{"", "/"},
		{"/oauth2/authorize?client_id=x", "/oauth2/authorize?client_id=x"},
	}
	for _, tt := range tests {
		p := e.get("/login?return_to=" + url.QueryEscape(tt.returnTo))
		form := hiddenFields(p.body)
		form.Set("return_to", tt.returnTo) // as an attacker would post it
		form.Set("email", userEmail)
		form.Set("password", userPassword)
		p = e.post("/login", form)
		if got := p.Header.Get("Location"); p.StatusCode != http.StatusSeeOther || got != tt.want {
			t.Errorf("return_to %q: status %d, Location %q; want 303 to %q", tt.returnTo, p.StatusCode, got, tt.want)
		}
	}
}

func TestSignInPageCarriesReturnTo(t *testing.T) {
	e := newEnv(t)
	params := confParams()
	p := e.authorize(params)
	rt := hiddenFields(p.body).Get("return_to")
	u, err := url.Parse(rt)
	if err != nil || u.Path != "/oauth2/authorize" || u.Host != "" {
		t.Fatalf("return_to = %q, want /oauth2/authorize?...", rt)
	}
	if diff := cmp.Diff(params, u.Query()); diff != "" {
		t.Errorf("return_to query (-want +got):\n%s", diff)
	}
	if !strings.Contains(p.body, confName) {
		t.Errorf("sign-in page does not name the client %q", confName)
	}
	checkSecurityHeaders(t, "sign-in page", p)
}

func TestPromptLogin(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.authorize(with(confParams(), "prompt", "login consent"))
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `action="/login"`) {
		t.Fatalf("prompt=login while signed in: status %d, want the sign-in page", p.StatusCode)
	}
	// Signing in leads on to consent, not to the sign-in page forever.
	p = e.follow(e.submitSignIn(p, userEmail, userPassword))
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
		t.Errorf("after signing in: status %d, want the consent page:\n%s", p.StatusCode, p.body)
	}
}

func TestSignOut(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(userEmail, userPassword)
	var id string
	for _, c := range p.Cookies() {
		if c.Name == "aries_session" {
			id = c.Value
		}
	}
	csrf := hiddenFields(e.get("/login").body).Get("csrf_token")
	p = e.post("/logout", url.Values{"csrf_token": {csrf}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Errorf("sign-out: status %d, Location %q; want 303 to /login", p.StatusCode, p.Header.Get("Location"))
	}
	if _, err := e.store.Session(context.Background(), e.h.Hasher.Hash(id), e.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after sign-out: %v, want ErrNotFound", err)
	}
	if p := e.authorize(confParams()); !strings.Contains(p.body, `action="/login"`) {
		t.Errorf("authorize after sign-out: status %d, want the sign-in page", p.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	e.clock.Add(DefaultSessionTTL + time.Second)
	if p := e.authorize(confParams()); !strings.Contains(p.body, `action="/login"`) {
		t.Errorf("after %v: status %d, want the sign-in page", DefaultSessionTTL, p.StatusCode)
	}
}

func TestAssetsServed(t *testing.T) {
	e := newEnv(t)
	p := e.get("/login")
	// Every stylesheet and image the page names is served by Aries.
	for _, m := range assetRE.FindAllStringSubmatch(p.body, -1) {
		a := e.get(htmlUnescape(m[1]))
		if a.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", m[1], a.StatusCode)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
