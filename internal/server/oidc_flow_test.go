package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	sdk "github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// OpenID Connect against the whole server (docs/oidc.md), at the fixture's
// clock: ID tokens, the authorization parameters, UserInfo, RP-initiated
// logout and key rotation. cmd/aries/oidc_test.go runs a third-party
// relying party (go-oidc) against `aries serve`.

// signedOutURI is the post-logout redirect URI the relying party registers.
const signedOutURI = "http://127.0.0.1:9/signed-out"

// oidcFixture is a running server whose user has a name, with a relying
// party that may ask for openid, profile, email and read.
func oidcFixture(t *testing.T) (*fixture, client) {
	t.Helper()
	f := newFixture(t, generous)
	if err := f.Store.SaveProfile(context.Background(), ledger.Profile{UserID: f.userID, DisplayName: "Ada Trader", UpdatedAt: f.Now()}); err != nil {
		t.Fatal(err)
	}
	rp := f.newClient(t, store.Client{Name: "Relying party", PostLogoutRedirectURIs: []string{signedOutURI}}, "openid profile email read")
	return f, rp
}

// oidcRequest is an authorization request of c for scope, with extra
// parameters as name, value pairs.
func (f *fixture) oidcRequest(c client, scope string, extra ...string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {c.ClientID}, "redirect_uri": {f.redirectURI},
		"scope": {scope}, "state": {"st-oidc"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// oidcSignIn runs the flow in browser b (signing in and approving as
// needed) and exchanges the code for c's tokens.
func (f *fixture) oidcSignIn(t *testing.T, b *http.Client, c client, q url.Values) testenv.TokenAnswer {
	t.Helper()
	back := f.authorize(t, b, q).Query()
	if back.Get("code") == "" || back.Get("state") != q.Get("state") || back.Get("iss") != f.URL {
		t.Fatalf("redirect %v: want a code, state %s and iss %s", back, q.Get("state"), f.URL)
	}
	res := f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {f.redirectURI}},
		c.ClientID, c.ClientSecret)
	wantTokens(t, res, true)
	return res
}

// step1 opens the authorization request in b and returns the first answer,
// before any page is filled in.
func (f *fixture) step1(t *testing.T, b *http.Client, q url.Values) step {
	t.Helper()
	return f.getStep(t, b, f.URL+"/oauth2/authorize?"+q.Encode())
}

// toClientQuery returns the query of a redirect to the client, failing
// unless s is one.
func (f *fixture) toClientQuery(t *testing.T, s step) url.Values {
	t.Helper()
	loc, err := s.Location()
	if err != nil || !strings.HasPrefix(loc.String(), f.redirectURI) {
		t.Fatalf("status %d, Location %v; want a redirect to %s:\n%s", s.StatusCode, loc, f.redirectURI, s.Body)
	}
	return loc.Query()
}

// rp is the SDK as the relying party's backend uses it.
func (f *fixture) rp(t *testing.T, c client) *sdk.Client {
	t.Helper()
	app, err := sdk.NewClient(sdk.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: f.redirectURI, APIURL: f.URL})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func isSignInPage(s step) bool {
	return s.StatusCode == http.StatusOK && strings.Contains(s.Body, `name="password"`)
}

// TestOIDCNonceEchoedAndRequiredToMatch: the nonce of the authorization
// request comes back in the ID token, and a relying party checking it
// (the Go SDK here) refuses the ID token for any other nonce: it cannot be
// replayed into another sign-in.
func TestOIDCNonceEchoedAndRequiredToMatch(t *testing.T) {
	f, rp := oidcFixture(t)
	ctx := context.Background()
	app := f.rp(t, rp)
	nonce := sdk.GenerateNonce()
	res := f.oidcSignIn(t, testenv.Browser(t), rp, f.oidcRequest(rp, "openid", "nonce", nonce))
	if _, c := f.IDToken(t, res.IDToken); c.Nonce != nonce {
		t.Errorf("ID token nonce %q, want %q", c.Nonce, nonce)
	}
	if _, err := app.VerifyIDToken(ctx, res.IDToken, nonce); err != nil {
		t.Errorf("the RP's check with its nonce: %v", err)
	}
	for _, other := range []string{sdk.GenerateNonce(), ""} {
		if _, err := app.VerifyIDToken(ctx, res.IDToken, other); !errors.Is(err, sdk.ErrInvalidIDToken) {
			t.Errorf("the RP's check with nonce %q: got %v, want ErrInvalidIDToken", other, err)
		}
	}

	without := f.oidcSignIn(t, testenv.Browser(t), rp, f.oidcRequest(rp, "openid"))
	if _, c := f.IDToken(t, without.IDToken); c.Nonce != "" {
		t.Errorf("a request without nonce got an ID token with nonce %q", c.Nonce)
	}
}

// TestOIDCMaxAge: max_age=0 makes a signed-in user sign in again, and the
// ID token's auth_time is then the new sign-in's; a max_age the session
// satisfies asks nothing. The clock moves; nothing sleeps.
func TestOIDCMaxAge(t *testing.T) {
	f, rp := oidcFixture(t)
	b := testenv.Browser(t)
	first := f.oidcSignIn(t, b, rp, f.oidcRequest(rp, "openid"))
	_, c1 := f.IDToken(t, first.IDToken)
	if !c1.AuthTime.Equal(f.Now()) {
		t.Errorf("auth_time %v, want the sign-in's %v", c1.AuthTime, f.Now())
	}

	f.Clock.Add(5 * time.Minute)
	q := f.oidcRequest(rp, "openid", "max_age", "600")
	res := f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {f.toClientQuery(t, f.step1(t, b, q)).Get("code")},
		"redirect_uri": {f.redirectURI}}, rp.ClientID, rp.ClientSecret)
	if _, c := f.IDToken(t, res.IDToken); !c.AuthTime.Equal(c1.AuthTime) {
		t.Errorf("max_age=600 with a 5-minute-old sign-in: auth_time %v, want the first sign-in's %v", c.AuthTime, c1.AuthTime)
	}

	q = f.oidcRequest(rp, "openid", "max_age", "0")
	if s := f.step1(t, b, q); !isSignInPage(s) || !strings.Contains(s.Body, f.email) {
		t.Fatalf("max_age=0: status %d, want the sign-in page with the email filled in:\n%s", s.StatusCode, s.Body)
	}
	again := f.oidcSignIn(t, b, rp, q)
	_, c2 := f.IDToken(t, again.IDToken)
	if !c2.AuthTime.Equal(f.Now()) || !c2.AuthTime.After(c1.AuthTime) {
		t.Errorf("max_age=0: auth_time %v, want the new sign-in's %v, later than %v", c2.AuthTime, f.Now(), c1.AuthTime)
	}

	f.Clock.Add(2 * time.Minute)
	if s := f.step1(t, b, f.oidcRequest(rp, "openid", "max_age", "60")); !isSignInPage(s) {
		t.Errorf("max_age=60 with a 2-minute-old sign-in: status %d, want the sign-in page", s.StatusCode)
	}
}

// TestOIDCPromptNone: prompt=none never shows a page. Without a session it
// is login_required, without consent consent_required, with a sign-in too
// old for max_age login_required, with another account than login_hint's
// interaction_required; each goes back with state and iss.
func TestOIDCPromptNone(t *testing.T) {
	f, rp := oidcFixture(t)
	other := f.newClient(t, store.Client{Name: "Other RP"}, "openid")
	b := testenv.Browser(t)
	wantError := func(name string, s step, code string) {
		t.Helper()
		q := f.toClientQuery(t, s)
		if q.Get("error") != code || q.Get("state") != "st-oidc" || q.Get("iss") != f.URL || q.Has("code") {
			t.Errorf("%s: redirect %v, want error=%s with state and iss and no code", name, q, code)
		}
	}
	wantError("no session", f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none")), "login_required")

	f.oidcSignIn(t, b, rp, f.oidcRequest(rp, "openid email"))
	if q := f.toClientQuery(t, f.step1(t, b, f.oidcRequest(rp, "openid email", "prompt", "none"))); q.Get("code") == "" {
		t.Errorf("signed in and consented: redirect %v, want a code without any page", q)
	}
	wantError("no consent for this client", f.step1(t, b, f.oidcRequest(other, "openid", "prompt", "none")), "consent_required")
	wantError("consent to fewer scopes", f.step1(t, b, f.oidcRequest(rp, "openid profile", "prompt", "none")), "consent_required")
	wantError("another account named", f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none", "login_hint", "someone.else@example.com")), "interaction_required")
	f.Clock.Add(time.Minute)
	wantError("sign-in older than max_age", f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none", "max_age", "30")), "login_required")
	wantError("max_age=0", f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none", "max_age", "0")), "login_required")
}

// TestOIDCClaimsPerScope: the ID token names the client as aud and azp and
// the user as sub; email and email_verified come only with the email
// scope, name only with profile; UserInfo says the same.
func TestOIDCClaimsPerScope(t *testing.T) {
	f, rp := oidcFixture(t)
	tests := []struct {
		scope               string
		wantEmail, wantName bool
	}{
		{"openid", false, false},
		{"openid email", true, false},
		{"openid profile", false, true},
		{"openid profile email read", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			res := f.oidcSignIn(t, testenv.Browser(t), rp, f.oidcRequest(rp, tt.scope))
			alg, c := f.IDToken(t, res.IDToken)
			if alg != "RS256" || c.Issuer != f.URL || c.Subject != f.userID || !slices.Equal(c.Audience, []string{rp.ClientID}) || c.AuthorizedParty != rp.ClientID {
				t.Errorf("alg %s iss %s sub %s aud %v azp %s; want RS256, the issuer, the user, the client as aud and azp",
					alg, c.Issuer, c.Subject, c.Audience, c.AuthorizedParty)
			}
			if c.SessionID == "" || len(c.AMR) == 0 || c.AuthTime.IsZero() || c.AccessTokenHash == "" {
				t.Errorf("sid %q amr %v auth_time %v at_hash %q: want them all", c.SessionID, c.AMR, c.AuthTime, c.AccessTokenHash)
			}
			if got := c.Email != ""; got != tt.wantEmail {
				t.Errorf("email present %t, want %t", got, tt.wantEmail)
			}
			if got := c.Name != ""; got != tt.wantName {
				t.Errorf("name present %t, want %t", got, tt.wantName)
			}
			var info map[string]any
			testenv.Call(t, f.URL, "GET", "/v1/oauth2/userinfo", res.AccessToken, nil).Decode(t, &info)
			_, hasEmail := info["email"]
			_, hasVerified := info["email_verified"]
			_, hasName := info["name"]
			if info["sub"] != f.userID || hasEmail != tt.wantEmail || hasVerified != tt.wantEmail || hasName != tt.wantName {
				t.Errorf("userinfo %v: want sub, email and email_verified %t, name %t", info, tt.wantEmail, tt.wantName)
			}
		})
	}
}

// TestOIDCUserInfo: GET and POST with an access token carrying openid;
// refusals as RFC 6750 section 3.1 has them.
func TestOIDCUserInfo(t *testing.T) {
	f, rp := oidcFixture(t)
	res := f.oidcSignIn(t, testenv.Browser(t), rp, f.oidcRequest(rp, "openid email"))
	for _, method := range []string{"GET", "POST"} {
		a := testenv.Call(t, f.URL, method, "/v1/oauth2/userinfo", res.AccessToken, nil)
		var info protocol.UserInfo
		a.Decode(t, &info)
		if a.Status != http.StatusOK || info.Subject != f.userID || info.Email != f.email || info.EmailVerified ||
			a.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %s; want 200 no-store with sub, email and email_verified false", method, a)
		}
	}

	noOpenID := f.oidcSignIn(t, testenv.Browser(t), rp, f.oidcRequest(rp, "read"))
	tests := []struct {
		name, token string
		status      int
		code        string
	}{
		{"no token", "", http.StatusUnauthorized, ""},
		{"not a token", "aries_at_nonsense", http.StatusUnauthorized, "invalid_token"},
		{"without openid", noOpenID.AccessToken, http.StatusForbidden, "insufficient_scope"},
	}
	for _, tt := range tests {
		a := testenv.Call(t, f.URL, "GET", "/v1/oauth2/userinfo", tt.token, nil)
		challenge := a.Header.Get("WWW-Authenticate")
		if a.Status != tt.status || !strings.HasPrefix(challenge, "Bearer") || (tt.code != "" && !strings.Contains(challenge, tt.code)) {
			t.Errorf("%s: %d, WWW-Authenticate %q; want %d Bearer %s", tt.name, a.Status, challenge, tt.status, tt.code)
		}
	}

	// Revoking the refresh token revokes the grant, and UserInfo knows.
	testenv.Post(t, f.URL+"/v1/oauth2/revoke", "application/x-www-form-urlencoded",
		url.Values{"token": {res.RefreshToken}}.Encode(), rp.ClientID, rp.ClientSecret)
	if a := testenv.Call(t, f.URL, "GET", "/v1/oauth2/userinfo", res.AccessToken, nil); a.Status != http.StatusUnauthorized {
		t.Errorf("revoked: %s, want 401", a)
	}
}

// TestOIDCRefreshReturnsAnIDToken: a refresh of an openid grant gets a new
// ID token the relying party verifies, with the sign-in's auth_time and
// sid and no nonce (Core 1.0 section 12.2).
func TestOIDCRefreshReturnsAnIDToken(t *testing.T) {
	f, rp := oidcFixture(t)
	app := f.rp(t, rp)
	nonce := sdk.GenerateNonce()
	first := f.oidcSignIn(t, testenv.Browser(t), rp, f.oidcRequest(rp, "openid email", "nonce", nonce))
	c1, err := app.VerifyIDToken(context.Background(), first.IDToken, nonce)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK checks iat against the real clock, with a minute of leeway.
	f.Clock.Add(30 * time.Second)
	tok, err := app.RefreshToken(context.Background(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := app.VerifyIDToken(context.Background(), tok.IDToken, "")
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if c2.Subject != c1.Subject || !c2.AuthTime.Equal(c1.AuthTime) || c2.SessionID != c1.SessionID || !c2.IssuedAt.After(c1.IssuedAt) || c2.Email != f.email {
		t.Errorf("refreshed claims %+v, want the sign-in's sub, auth_time, sid and email with a later iat than %+v", c2, c1)
	}
}

// TestRPInitiatedLogout: a valid id_token_hint and a registered
// post_logout_redirect_uri end the session and send the browser back with
// state; anything else shows a page, ends nothing and sends it nowhere.
func TestRPInitiatedLogout(t *testing.T) {
	f, rp := oidcFixture(t)
	b := testenv.Browser(t)
	hint := f.oidcSignIn(t, b, rp, f.oidcRequest(rp, "openid")).IDToken
	logout := func(params ...string) step {
		q := url.Values{}
		for i := 0; i+1 < len(params); i += 2 {
			q.Set(params[i], params[i+1])
		}
		return f.getStep(t, b, f.URL+"/oauth2/logout?"+q.Encode())
	}
	stillSignedIn := func(name string) {
		t.Helper()
		if q := f.toClientQuery(t, f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none"))); q.Get("code") == "" {
			t.Errorf("%s: the session ended (prompt=none gave %v)", name, q)
		}
	}

	refused := []struct {
		name   string
		params []string
		says   string
	}{
		{"wrong post_logout_redirect_uri", []string{"id_token_hint", hint, "post_logout_redirect_uri", "http://127.0.0.1:9/elsewhere", "state", "s1"}, "not registered"},
		{"registered URI with a changed case", []string{"id_token_hint", hint, "post_logout_redirect_uri", strings.ToUpper(signedOutURI), "state", "s1"}, "not registered"},
		{"a redirect URI, not a post-logout one", []string{"id_token_hint", hint, "post_logout_redirect_uri", f.redirectURI}, "not registered"},
		{"no id_token_hint", []string{"post_logout_redirect_uri", signedOutURI, "state", "s1"}, "no id_token_hint"},
		{"hint signed by another key", []string{"id_token_hint", foreignIDToken(t, f.URL, f.userID, rp.ClientID), "post_logout_redirect_uri", signedOutURI}, "did not issue"},
		{"client_id of another client", []string{"id_token_hint", hint, "client_id", f.conf.ClientID, "post_logout_redirect_uri", signedOutURI}, "another app"},
	}
	for _, tt := range refused {
		s := logout(tt.params...)
		if s.StatusCode != http.StatusBadRequest || s.Header.Get("Location") != "" || !strings.Contains(s.Body, tt.says) ||
			!strings.Contains(s.Body, `action="/oauth2/logout"`) {
			t.Errorf("%s: %d, Location %q; want 400, a page saying %q with a sign-out button, no redirect:\n%s",
				tt.name, s.StatusCode, s.Header.Get("Location"), tt.says, s.Body)
		}
		stillSignedIn(tt.name)
	}

	// Without a hint Aries asks; the button signs out and stays on Aries.
	page := logout()
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Sign out of Aries?") {
		t.Fatalf("no parameters: %d, want the confirmation page:\n%s", page.StatusCode, page.Body)
	}
	stillSignedIn("the confirmation page")

	s := logout("id_token_hint", hint, "post_logout_redirect_uri", signedOutURI, "state", "st&=1")
	loc, err := s.Location()
	if s.StatusCode != http.StatusFound || err != nil || loc.String() != signedOutURI+"?state=st%26%3D1" {
		t.Fatalf("valid logout: %d to %v, want 302 to %s with state", s.StatusCode, loc, signedOutURI)
	}
	if q := f.toClientQuery(t, f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none"))); q.Get("error") != "login_required" {
		t.Errorf("after logout: %v, want login_required", q)
	}

	// The confirmation button, from a fresh session.
	b2 := testenv.Browser(t)
	f.oidcSignIn(t, b2, rp, f.oidcRequest(rp, "openid"))
	confirm := f.submit(t, b2, f.getStep(t, b2, f.URL+"/oauth2/logout"))
	if confirm.StatusCode != http.StatusOK || confirm.Header.Get("Location") != "" || !strings.Contains(confirm.Body, "You have signed out") {
		t.Errorf("confirmed sign-out: %d, want the signed-out page:\n%s", confirm.StatusCode, confirm.Body)
	}
	if q := f.toClientQuery(t, f.step1(t, b2, f.oidcRequest(rp, "openid", "prompt", "none"))); q.Get("error") != "login_required" {
		t.Errorf("after the confirmed sign-out: %v, want login_required", q)
	}
}

// TestOIDCKeyRotation: `aries keys rotate` (keys.RotateAll) while tokens
// are out. The ID token and access token issued before still verify and
// work, the old ID token still serves as id_token_hint, and the next ID
// token is signed with the new RS256 key.
func TestOIDCKeyRotation(t *testing.T) {
	f, rp := oidcFixture(t)
	ctx := context.Background()
	app := f.rp(t, rp)
	b := testenv.Browser(t)
	nonce := sdk.GenerateNonce()
	before := f.oidcSignIn(t, b, rp, f.oidcRequest(rp, "openid email", "nonce", nonce))
	oldKID := f.server.keys.ActiveKeyIDOf(keys.RS256)

	// Within the SDK's minute of leeway: it checks iat on the real clock.
	f.Clock.Add(30 * time.Second)
	if _, err := keys.RotateAll(ctx, f.Store, f.Master.Keys().KeyEncryption, f.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.server.keys.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	newKID := f.server.keys.ActiveKeyIDOf(keys.RS256)
	if newKID == oldKID {
		t.Fatal("the RS256 key did not rotate")
	}

	if _, err := app.VerifyIDToken(ctx, before.IDToken, nonce); err != nil {
		t.Errorf("ID token issued before the rotation: %v", err)
	}
	if a := testenv.Call(t, f.URL, "GET", "/v1/oauth2/userinfo", before.AccessToken, nil); a.Status != http.StatusOK {
		t.Errorf("access token issued before the rotation at UserInfo: %s", a)
	}
	hinted := f.oidcRequest(rp, "openid", "prompt", "none", "id_token_hint", before.IDToken)
	if q := f.toClientQuery(t, f.step1(t, b, hinted)); q.Get("code") == "" {
		t.Errorf("the old ID token as id_token_hint: %v, want a code", q)
	}

	tok, err := app.RefreshToken(ctx, before.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.VerifyIDToken(ctx, tok.IDToken, ""); err != nil {
		t.Errorf("ID token of the refresh after the rotation: %v", err)
	}
	if kid := kidOf(t, tok.IDToken); kid != newKID {
		t.Errorf("the refresh's ID token is signed by %s, want the new key %s", kid, newKID)
	}
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// TestOIDCBadInputChangesNothing: a nonce over 512 bytes, a max_age that is
// not a number, an id_token_hint this server did not sign (or an access
// token, or one of another client) each go back as invalid_request saying
// what is wrong, with state and iss; no code is issued and the session and
// consent are as they were.
func TestOIDCBadInputChangesNothing(t *testing.T) {
	f, rp := oidcFixture(t)
	ctx := context.Background()
	b := testenv.Browser(t)
	signedIn := f.oidcSignIn(t, b, rp, f.oidcRequest(rp, "openid"))
	otherRP := f.newClient(t, store.Client{Name: "Other RP"}, "openid")
	otherHint := f.oidcSignIn(t, testenv.Browser(t), otherRP, f.oidcRequest(otherRP, "openid")).IDToken
	before, err := f.Store.Consent(ctx, f.userID, rp.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(time.Minute)

	tests := []struct {
		name   string
		params []string
		says   string
	}{
		{"nonce over 512 bytes", []string{"nonce", strings.Repeat("n", 513)}, "nonce must be at most 512 bytes"},
		{"nonce with a control character", []string{"nonce", "n\x01"}, "nonce must be printable"},
		{"max_age a word", []string{"max_age", "soon"}, "max_age must be a whole number"},
		{"max_age negative", []string{"max_age", "-5"}, "max_age must be a whole number"},
		{"max_age a fraction", []string{"max_age", "1.5"}, "max_age must be a whole number"},
		{"id_token_hint signed by another key", []string{"id_token_hint", foreignIDToken(t, f.URL, f.userID, rp.ClientID)}, "id_token_hint"},
		{"id_token_hint an access token", []string{"id_token_hint", signedIn.AccessToken}, "not an ID token"},
		{"id_token_hint of another client", []string{"id_token_hint", otherHint}, "another client"},
		{"id_token_hint garbage", []string{"id_token_hint", "garbage"}, "id_token_hint"},
	}
	for _, tt := range tests {
		q := f.toClientQuery(t, f.step1(t, b, f.oidcRequest(rp, "openid", tt.params...)))
		if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), tt.says) ||
			q.Get("state") != "st-oidc" || q.Get("iss") != f.URL || q.Has("code") {
			t.Errorf("%s: redirect %v, want invalid_request saying %q, with state and iss, no code", tt.name, q, tt.says)
		}
	}
	after, err := f.Store.Consent(ctx, f.userID, rp.ClientID)
	if err != nil || !after.LastUsedAt.Equal(before.LastUsedAt) || !slices.Equal(after.Scopes, before.Scopes) {
		t.Errorf("consent after the refused requests: %+v, %v; want it unchanged: %+v", after, err, before)
	}
	// The session is the one signed in before: prompt=none still works.
	if q := f.toClientQuery(t, f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none", "nonce", strings.Repeat("n", 512)))); q.Get("code") == "" {
		t.Errorf("a 512-byte nonce after the refusals: %v, want a code", q)
	}
}

// foreignIDToken is an ID token with every claim an Aries one would have,
// signed by a key Aries does not have.
func foreignIDToken(t *testing.T, issuer, sub, clientID string) string {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "aries-key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	payload, _ := json.Marshal(protocol.IDTokenClaims{Issuer: issuer, Subject: sub, Audience: []string{clientID},
		AuthorizedParty: clientID, IssuedAt: now, Expiry: now.Add(time.Hour)})
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

// TestOIDCAccountHints: prompt=select_account offers to continue or switch;
// login_hint fills in the sign-in page; an id_token_hint of another user
// than the signed-in one asks for a sign-in.
func TestOIDCAccountHints(t *testing.T) {
	f, rp := oidcFixture(t)
	bob := f.NewUser(store.User{Email: "bob@example.com"}, testenv.Password)
	b := testenv.Browser(t)

	if s := f.step1(t, b, f.oidcRequest(rp, "openid", "login_hint", "bob@example.com")); !isSignInPage(s) || !strings.Contains(s.Body, `value="bob@example.com"`) {
		t.Errorf("login_hint without a session: want the sign-in page with bob's email:\n%s", s.Body)
	}
	f.oidcSignIn(t, b, rp, f.oidcRequest(rp, "openid"))

	page := f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "select_account"))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Continue as "+f.email) || !strings.Contains(page.Body, "Use another account") {
		t.Fatalf("prompt=select_account: %d, want the account chooser:\n%s", page.StatusCode, page.Body)
	}
	links := hrefs(page.Body)
	if len(links) < 2 {
		t.Fatalf("the chooser has links %v", links)
	}
	var cont, other string
	for _, l := range links {
		switch {
		case strings.Contains(l, "prompt=login"):
			other = l
		case strings.HasPrefix(l, "/oauth2/authorize?"):
			cont = l
		}
	}
	if q := f.toClientQuery(t, f.getStep(t, b, f.URL+cont)); q.Get("code") == "" {
		t.Errorf("continue as the signed-in user: %v, want a code", q)
	}
	if s := f.getStep(t, b, f.URL+other); !isSignInPage(s) {
		t.Errorf("use another account: status %d, want the sign-in page", s.StatusCode)
	}

	// bob's ID token as the hint while ada is signed in: sign in as bob,
	// or login_required without pages.
	bobs := testenv.Person{Email: bob.Email, Password: testenv.Password}
	bb := testenv.Browser(t)
	back := testenv.Authorize(t, bb, f.URL, bobs, f.oidcRequest(rp, "openid")).Query()
	bobTok := f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {f.redirectURI}}, rp.ClientID, rp.ClientSecret)
	if s := f.step1(t, b, f.oidcRequest(rp, "openid", "id_token_hint", bobTok.IDToken)); !isSignInPage(s) {
		t.Errorf("id_token_hint of bob while ada is signed in: status %d, want the sign-in page", s.StatusCode)
	}
	if q := f.toClientQuery(t, f.step1(t, b, f.oidcRequest(rp, "openid", "prompt", "none", "id_token_hint", bobTok.IDToken))); q.Get("error") != "login_required" {
		t.Errorf("the same with prompt=none: %v, want login_required", q)
	}
}

// hrefs returns the local links of a page, unescaped.
func hrefs(page string) []string {
	var out []string
	for _, part := range strings.Split(page, `href="`)[1:] {
		link, _, _ := strings.Cut(part, `"`)
		if strings.HasPrefix(link, "/oauth2/") {
			out = append(out, strings.ReplaceAll(link, "&amp;", "&"))
		}
	}
	return out
}
