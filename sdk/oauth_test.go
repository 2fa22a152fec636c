package aries_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/ariesexchange/aries/sdk"
)

func TestAuthorizationURL(t *testing.T) {
	c, _ := aries.NewClient(aries.Config{ClientID: "app", RedirectURL: "https://app.example/cb", Scopes: []string{"read", "trade"}})
	tests := []struct {
		name string
		opts []aries.AuthOption
		want url.Values
	}{
		{"defaults", nil, url.Values{"response_type": {"code"}, "client_id": {"app"},
			"redirect_uri": {"https://app.example/cb"}, "scope": {"read trade"}, "state": {"st"}}},
		{"scopes, redirect, prompt", []aries.AuthOption{aries.WithScopes("read"), aries.WithRedirectURL("http://127.0.0.1:5000/cb"), aries.WithPrompt("consent")},
			url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5000/cb"},
				"scope": {"read"}, "state": {"st"}, "prompt": {"consent"}}},
		// RFC 7636 appendix B.
		{"PKCE", []aries.AuthOption{aries.WithPKCE("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")},
			url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/cb"},
				"scope": {"read trade"}, "state": {"st"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
				"code_challenge_method": {"S256"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(c.AuthorizationURL("st", tt.opts...))
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != "https://app.aries.com/oauth2/authorize" {
				t.Errorf("endpoint %s, want the public authorization endpoint", got)
			}
			if got := u.Query(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query\ngot  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestBaseURLs(t *testing.T) {
	tests := []struct {
		cfg      aries.Config
		wantAuth string
	}{
		{aries.Config{}, "https://app.aries.com/oauth2/authorize"},
		{aries.Config{APIURL: "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080/oauth2/authorize"},
		{aries.Config{APIURL: "https://api.example", AuthURL: "https://login.example"}, "https://login.example/oauth2/authorize"},
	}
	for _, tt := range tests {
		c, err := aries.NewClient(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(c.AuthorizationURL(""))
		if got := u.Scheme + "://" + u.Host + u.Path; got != tt.wantAuth {
			t.Errorf("%+v: authorization endpoint %s, want %s", tt.cfg, got, tt.wantAuth)
		}
	}
	for _, bad := range []string{"api.aries.com", "ftp://x", "https://x/?a=b"} {
		if _, err := aries.NewClient(aries.Config{APIURL: bad}); err == nil {
			t.Errorf("APIURL %q: got no error, want one", bad)
		}
	}
}

func TestPKCEHelpers(t *testing.T) {
	v := aries.GenerateVerifier()
	if len(v) != 43 {
		t.Errorf("verifier %q has %d characters, want 43 (32 bytes base64url)", v, len(v))
	}
	if v == aries.GenerateVerifier() {
		t.Error("two verifiers are equal")
	}
	if got := aries.S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("challenge %s, want RFC 7636 appendix B's", got)
	}
}

func TestExchangeCode(t *testing.T) {
	f := newFakeAries(t)
	ctx := context.Background()

	t.Run("confidential client sends its secret in the body", func(t *testing.T) {
		c, _ := aries.NewClient(aries.Config{ClientID: testClientID, ClientSecret: testSecret, APIURL: f.URL, RedirectURL: "https://app.example/cb"})
		tok, err := c.ExchangeCode(ctx, f.newCode(""))
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 900 || tok.Expiry.IsZero() {
			t.Errorf("token %+v: want access and refresh tokens, expires_in 900 and an expiry", tok)
		}
		form, header := f.form()
		want := map[string][]string{"grant_type": {"authorization_code"}, "code": form["code"], "client_id": {testClientID},
			"client_secret": {testSecret}, "redirect_uri": {"https://app.example/cb"}}
		if !reflect.DeepEqual(form, want) {
			t.Errorf("token request\ngot  %v\nwant %v", form, want)
		}
		if header.Get("Authorization") != "" {
			t.Error("the secret was also sent in an Authorization header")
		}
	})
	t.Run("public client sends the verifier", func(t *testing.T) {
		c, _ := aries.NewClient(aries.Config{ClientID: testClientID, APIURL: f.URL})
		v := aries.GenerateVerifier()
		if _, err := c.ExchangeCode(ctx, f.newCode(aries.S256Challenge(v)), aries.WithPKCE(v)); err != nil {
			t.Fatal(err)
		}
		form, _ := f.form()
		if form["code_verifier"][0] != v || form["client_secret"] != nil {
			t.Errorf("token request %v: want code_verifier and no client_secret", form)
		}
		_, err := c.ExchangeCode(ctx, f.newCode(aries.S256Challenge(v)), aries.WithPKCE(aries.GenerateVerifier()))
		var apiErr *aries.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "invalid_grant" {
			t.Errorf("wrong verifier: got %v, want 400 invalid_grant", err)
		}
	})
	t.Run("token endpoint errors are *aries.Error", func(t *testing.T) {
		c, _ := aries.NewClient(aries.Config{ClientID: testClientID, ClientSecret: "wrong", APIURL: f.URL})
		before := f.tokenHits.Load()
		_, err := c.ExchangeCode(ctx, f.newCode(""))
		var apiErr *aries.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_client" ||
			apiErr.Message != "client authentication failed" {
			t.Errorf("got %#v, want 401 invalid_client with its description", err)
		}
		if got := f.tokenHits.Load() - before; got != 1 {
			// x/oauth2's auth-style probing would have sent the refused
			// request a second time.
			t.Errorf("token endpoint hit %d times, want 1", got)
		}
	})
}

func TestSignInWithMFA(t *testing.T) {
	f := newFakeAries(t)
	ctx := context.Background()
	c, _ := aries.NewClient(config(f))

	res, err := c.SignIn(ctx, aries.SignInRequest{Email: "trader@example.com", Password: testPassword})
	if err != nil || res.AuthorizationCode == "" || res.MFARequired {
		t.Fatalf("user without MFA: got %+v, %v; want a code", res, err)
	}

	res, err = c.SignIn(ctx, aries.SignInRequest{Email: "mfa@example.com", Password: testPassword})
	if err != nil || !res.MFARequired || res.SessionToken == "" || res.SessionExpiresIn.Seconds() != 300 || res.AuthorizationCode != "" {
		t.Fatalf("user with MFA: got %+v, %v; want MFARequired with a session token", res, err)
	}
	_, err = c.VerifyMFA(ctx, res.SessionToken, "000000")
	var apiErr *aries.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "invalid_mfa_code" {
		t.Errorf("wrong code: got %v, want invalid_mfa_code", err)
	}
	verified, err := c.VerifyMFA(ctx, res.SessionToken, testMFACode)
	if err != nil || verified.AuthorizationCode == "" {
		t.Fatalf("right code: got %+v, %v; want a code", verified, err)
	}
	if _, err := c.ExchangeCode(ctx, verified.AuthorizationCode); err != nil {
		t.Errorf("exchanging the MFA code: %v", err)
	}

	_, err = c.SignIn(ctx, aries.SignInRequest{Email: "trader@example.com", Password: "wrong"})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "access_denied" {
		t.Errorf("wrong password: got %v, want 401 access_denied", err)
	}
}

func TestRevoke(t *testing.T) {
	f := newFakeAries(t)
	ctx := context.Background()
	c, _ := aries.NewClient(config(f))
	rt := f.issueRefresh()
	if err := c.Revoke(ctx, rt); err != nil {
		t.Fatal(err)
	}
	form, _ := f.form()
	if form["token"][0] != rt || form["client_id"][0] != testClientID || form["client_secret"][0] != testSecret {
		t.Errorf("revocation request %v: want token and client credentials", form)
	}
	if _, err := c.RefreshToken(ctx, rt); !errors.Is(err, aries.ErrRefreshTokenRevoked) {
		t.Errorf("refresh after revocation: got %v, want ErrRefreshTokenRevoked", err)
	}
}
