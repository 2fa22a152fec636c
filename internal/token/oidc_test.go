package token_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

// TestIDTokenFromTheCodeGrant: a code whose scope holds openid is answered
// with an ID token (OpenID Connect Core 1.0 section 3.1.3.3) about the
// code's user, for the client, echoing the code's nonce and sid, bound to
// the access token by at_hash; a code without openid gets none.
func TestIDTokenFromTheCodeGrant(t *testing.T) {
	e := newEnv(t)
	rp := e.client(t, store.Client{Name: "Relying party", Scopes: testenv.Scopes(t, "openid email read")})
	signIn := e.Now().Add(-3 * time.Minute)
	code, _ := e.IssueCode(testenv.Code{ClientID: rp.ID, UserID: e.User.ID, RedirectURI: redirectURI,
		Scopes: testenv.Scopes(t, "openid email"), Nonce: "n-0S6_WzA2Mj", SessionID: "sid-browser",
		AuthTime: signIn, AMR: []string{"pwd", "otp"}})
	got := e.exchange(t, rp, code)
	wantTokens(t, got, true)
	if got.IDToken == "" {
		t.Fatal("no id_token for a code with openid")
	}
	alg, c := e.IDToken(t, got.IDToken)
	sum := sha256.Sum256([]byte(got.AccessToken))
	want := map[string]any{
		"alg": "RS256", "iss": testenv.Issuer, "sub": e.User.ID, "aud": []string{rp.ID}, "azp": rp.ID,
		"nonce": "n-0S6_WzA2Mj", "sid": "sid-browser", "auth_time": signIn.Unix(), "amr": []string{"pwd", "otp"},
		"iat": e.Now().Unix(), "exp": e.Now().Add(15 * time.Minute).Unix(),
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]), "email": e.User.Email,
	}
	gotClaims := map[string]any{
		"alg": alg, "iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "azp": c.AuthorizedParty,
		"nonce": c.Nonce, "sid": c.SessionID, "auth_time": c.AuthTime.Unix(), "amr": c.AMR,
		"iat": c.IssuedAt.Unix(), "exp": c.Expiry.Unix(), "at_hash": c.AccessTokenHash, "email": c.Email,
	}
	for k, w := range want {
		if g := gotClaims[k]; !equal(g, w) {
			t.Errorf("%s: got %v, want %v", k, g, w)
		}
	}

	plain := e.exchange(t, rp, e.code(t, rp.ID, url.Values{"scope": {"read"}}))
	wantTokens(t, plain, true)
	if plain.IDToken != "" {
		t.Error("an ID token for a code without openid")
	}
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

// TestIDTokenOnRefresh: OpenID Connect Core 1.0 section 12.2. A refresh
// of an openid grant gets a new ID token with the same sub, aud, azp,
// auth_time and sid, a new iat, and no nonce; a refresh narrowed to
// scopes without openid gets none.
func TestIDTokenOnRefresh(t *testing.T) {
	e := newEnv(t)
	rp := e.client(t, store.Client{Name: "Relying party", Scopes: testenv.Scopes(t, "openid profile read")})
	signIn := e.Now()
	code, _ := e.IssueCode(testenv.Code{ClientID: rp.ID, UserID: e.User.ID, RedirectURI: redirectURI,
		Scopes: testenv.Scopes(t, "openid read"), Nonce: "once", SessionID: "sid-1", AuthTime: signIn})
	first := e.exchange(t, rp, code)
	_, c1 := e.IDToken(t, first.IDToken)

	e.Clock.Add(10 * time.Minute)
	second := e.refresh(t, rp, first.RefreshToken, "")
	wantTokens(t, second, true)
	if second.IDToken == "" {
		t.Fatal("no id_token on refresh")
	}
	_, c2 := e.IDToken(t, second.IDToken)
	switch {
	case c2.Subject != c1.Subject || !slices.Equal(c2.Audience, c1.Audience) || c2.AuthorizedParty != c1.AuthorizedParty:
		t.Errorf("refresh: sub/aud/azp %s %v %s, want %s %v %s", c2.Subject, c2.Audience, c2.AuthorizedParty, c1.Subject, c1.Audience, c1.AuthorizedParty)
	case !c2.AuthTime.Equal(c1.AuthTime) || c2.SessionID != "sid-1":
		t.Errorf("refresh: auth_time %v sid %q, want the sign-in's %v and sid-1", c2.AuthTime, c2.SessionID, c1.AuthTime)
	case !c2.IssuedAt.After(c1.IssuedAt):
		t.Errorf("refresh: iat %v, want later than %v", c2.IssuedAt, c1.IssuedAt)
	case c2.Nonce != "":
		t.Errorf("refresh: nonce %q, want none", c2.Nonce)
	}

	narrowed := e.refresh(t, rp, second.RefreshToken, "account:information")
	wantTokens(t, narrowed, true)
	if narrowed.IDToken != "" {
		t.Error("an ID token for a refresh narrowed to scopes without openid")
	}
}

// TestClientCredentialsHaveNoUser: an app acting as itself has no user to
// sign in, so openid, profile and email are never among its scopes.
func TestClientCredentialsHaveNoUser(t *testing.T) {
	e := newEnv(t)
	rp := e.client(t, store.Client{Name: "Relying party", Scopes: testenv.Scopes(t, "openid email market:information")})
	cc := url.Values{"grant_type": {"client_credentials"}}
	got := e.token(t, cc, rp.ID, rp.Secret)
	wantTokens(t, got, false)
	if got.Scope != "market:information" || got.IDToken != "" {
		t.Errorf("scope %q, id_token %t; want market:information only and no ID token", got.Scope, got.IDToken != "")
	}
	cc.Set("scope", "openid")
	wantError(t, e.token(t, cc, rp.ID, rp.Secret), http.StatusBadRequest, "invalid_scope")
}
