package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Each row of the Aries guide's "What you send to the token endpoint".
func TestTokenEndpointShapesOfTheGuide(t *testing.T) {
	f := newFixture(t)

	t.Run("1 backend: grant_type=code with client_secret", func(t *testing.T) {
		got := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID},
			"client_secret": {f.conf.ClientSecret}, "code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
		wantTokens(t, got, true)
		in := f.introspect(t, got.AccessToken)
		if !in.Active || in.Sub != f.userID || in.ClientID != f.conf.ClientID || in.AuthTime == 0 {
			t.Errorf("introspection %+v: want active, sub %s, client %s, auth_time", in, f.userID, f.conf.ClientID)
		}
		if got.Scope != "user:information account:information order:information position:information market:information calendar:information options:information analytics:information market:supplemental" {
			t.Errorf("scope %q: want the read bundle expanded", got.Scope)
		}
	})
	t.Run("2 browser or mobile: grant_type=code with code_verifier", func(t *testing.T) {
		verifier, challenge := pkcePair()
		code := f.code(t, f.public.ClientID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		got := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.public.ClientID},
			"code": {code}, "redirect_uri": {f.redirectURI}, "code_verifier": {verifier}})
		wantTokens(t, got, true)
	})
	t.Run("3 refresh: grant_type=refresh_token with client_secret", func(t *testing.T) {
		first := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID},
			"client_secret": {f.conf.ClientSecret}, "code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
		got := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
			"client_secret": {f.conf.ClientSecret}, "refresh_token": {first.RefreshToken}})
		wantTokens(t, got, true)
		if got.RefreshToken == first.RefreshToken {
			t.Error("the refresh token was not rotated")
		}
	})
	t.Run("JSON body, Basic authentication, authorization_code spelling", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"grant_type": "authorization_code",
			"code": f.code(t, f.conf.ClientID, nil), "redirect_uri": f.redirectURI})
		got := f.post(t, "/v1/oauth2/token", "application/json", string(body), f.conf.ClientID, f.conf.ClientSecret)
		wantTokens(t, got, true)
	})
	t.Run("client_credentials", func(t *testing.T) {
		got := f.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}},
			f.conf.ClientID, f.conf.ClientSecret)
		wantTokens(t, got, false)
		if in := f.introspect(t, got.AccessToken); !in.Active || in.Sub != f.conf.ClientID || in.Scope != "market:information" {
			t.Errorf("introspection %+v: want the client as subject and the asked scope", in)
		}
		got = f.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {f.public.ClientID}})
		wantError(t, got, http.StatusBadRequest, "unauthorized_client")
		got = f.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"funds:withdrawal"}},
			f.conf.ClientID, f.conf.ClientSecret)
		wantError(t, got, http.StatusBadRequest, "invalid_scope")
	})
}

func TestCodeIsSingleUseAndReuseRevokes(t *testing.T) {
	f := newFixture(t)
	code := f.code(t, f.conf.ClientID, nil)
	exchange := url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID},
		"client_secret": {f.conf.ClientSecret}, "code": {code}, "redirect_uri": {f.redirectURI}}
	first := f.token(t, exchange)
	wantTokens(t, first, true)

	wantError(t, f.token(t, exchange), http.StatusBadRequest, "invalid_grant")
	if in := f.introspect(t, first.AccessToken); in.Active {
		t.Error("the access token of the first exchange is still active after the code was reused")
	}
	refreshed := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
		"client_secret": {f.conf.ClientSecret}, "refresh_token": {first.RefreshToken}})
	wantError(t, refreshed, http.StatusBadRequest, "invalid_grant")
}

func TestConcurrentRedemptionHasOneWinner(t *testing.T) {
	// 20 requests for one user and client exceed the authentication rate
	// limit (10/min); this test is about single use, not limits.
	f := newFixture(t, "--rate-limits-off")
	race := func(t *testing.T, form url.Values) {
		const n = 20
		results := make([]tokenResult, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i] = f.token(t, form) })
		}
		wg.Wait()
		wins := 0
		for _, r := range results {
			switch {
			case r.Status == http.StatusOK:
				wins++
			case r.Status == http.StatusBadRequest && r.Error == "invalid_grant":
			default:
				t.Errorf("unexpected answer %d %s: %s", r.Status, r.Error, r.Description)
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d concurrent requests succeeded, want exactly 1", wins, n)
		}
	}
	t.Run("one code", func(t *testing.T) {
		race(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
			"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	})
	t.Run("one refresh token", func(t *testing.T) {
		first := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
			"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
		wantTokens(t, first, true)
		race(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
			"client_secret": {f.conf.ClientSecret}, "refresh_token": {first.RefreshToken}})
	})
}

func TestRefreshReplayRevokesTheFamily(t *testing.T) {
	f := newFixture(t)
	first := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
		"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	refresh := func(tok string) tokenResult {
		return f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
			"client_secret": {f.conf.ClientSecret}, "refresh_token": {tok}})
	}
	second := refresh(first.RefreshToken)
	wantTokens(t, second, true)

	wantError(t, refresh(first.RefreshToken), http.StatusBadRequest, "invalid_grant")
	wantError(t, refresh(second.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if in := f.introspect(t, second.AccessToken); in.Active {
		t.Error("the newest access token is still active after the replay")
	}
}

func TestNarrowerScopeOnRefresh(t *testing.T) {
	f := newFixture(t)
	first := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
		"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	wider := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
		"client_secret": {f.conf.ClientSecret}, "refresh_token": {first.RefreshToken}, "scope": {"order:execution"}})
	wantError(t, wider, http.StatusBadRequest, "invalid_scope")
	// The refused request left the token usable.
	narrow := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
		"client_secret": {f.conf.ClientSecret}, "refresh_token": {first.RefreshToken}, "scope": {"market:information"}})
	wantTokens(t, narrow, true)
	if narrow.Scope != "market:information" {
		t.Errorf("scope %q, want market:information", narrow.Scope)
	}
}

func TestClientAuthenticationFailures(t *testing.T) {
	f := newFixture(t)
	code := f.code(t, f.conf.ClientID, nil)
	exchange := func(id, sec string) url.Values {
		return url.Values{"grant_type": {"code"}, "client_id": {id}, "client_secret": {sec},
			"code": {code}, "redirect_uri": {f.redirectURI}}
	}
	tests := []struct {
		name   string
		form   url.Values
		basic  []string
		header bool
	}{
		{"wrong secret", exchange(f.conf.ClientID, f.conf.ClientSecret+"x"), nil, false},
		{"unknown client", exchange("aries_ci_nosuchclient", f.conf.ClientSecret), nil, false},
		{"no secret", url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "code": {code}, "redirect_uri": {f.redirectURI}}, nil, false},
		{"wrong Basic secret", url.Values{"grant_type": {"code"}, "code": {code}, "redirect_uri": {f.redirectURI}}, []string{f.conf.ClientID, "aries_cs_wrong"}, true},
		{"unknown Basic client", url.Values{"grant_type": {"code"}, "code": {code}, "redirect_uri": {f.redirectURI}}, []string{"aries_ci_nosuch", "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.token(t, tt.form, tt.basic...)
			wantError(t, got, http.StatusUnauthorized, "invalid_client")
			if h := got.Header.Get("WWW-Authenticate"); tt.header != strings.HasPrefix(h, "Basic") {
				t.Errorf("WWW-Authenticate %q; want a Basic challenge: %t", h, tt.header)
			}
		})
	}
	// Failed client authentication must not burn the code.
	wantTokens(t, f.token(t, exchange(f.conf.ClientID, f.conf.ClientSecret)), true)
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	code := f.code(t, f.conf.ClientID, nil)
	good := url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
		"code": {code}, "redirect_uri": {f.redirectURI}}
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"body over 64 KiB", "application/x-www-form-urlencoded", good.Encode() + "&pad=" + strings.Repeat("a", 65<<10), 413},
		{"parameter twice", "application/x-www-form-urlencoded", good.Encode() + "&code=" + url.QueryEscape(code), 400},
		{"malformed JSON", "application/json", `{"grant_type":"code","code":`, 400},
		{"JSON with a key twice", "application/json", `{"grant_type":"code","grant_type":"code"}`, 400},
		{"wrong content type", "text/plain", good.Encode(), 400},
		{"invalid UTF-8", "application/x-www-form-urlencoded", good.Encode() + "&state=%C3%28", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.post(t, "/v1/oauth2/token", tt.contentType, tt.body)
			wantError(t, got, tt.status, "invalid_request")
		})
	}
	wantTokens(t, f.token(t, good), true)
}

func TestPKCERules(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkcePair()
	withChallenge := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	exchange := func(code string, extra url.Values) tokenResult {
		v := url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
			"code": {code}, "redirect_uri": {f.redirectURI}}
		for k, vs := range extra {
			v[k] = vs
		}
		return f.token(t, v)
	}
	t.Run("confidential client with a challenge must send the verifier", func(t *testing.T) {
		wantError(t, exchange(f.code(t, f.conf.ClientID, withChallenge), nil), http.StatusBadRequest, "invalid_grant")
		wantTokens(t, exchange(f.code(t, f.conf.ClientID, withChallenge), url.Values{"code_verifier": {verifier}}), true)
	})
	t.Run("wrong verifier", func(t *testing.T) {
		other := strings.Repeat("b", 43)
		wantError(t, exchange(f.code(t, f.conf.ClientID, withChallenge), url.Values{"code_verifier": {other}}), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("verifier for a code without challenge is a downgrade", func(t *testing.T) {
		wantError(t, exchange(f.code(t, f.conf.ClientID, nil), url.Values{"code_verifier": {verifier}}), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("redirect_uri must equal the authorized one", func(t *testing.T) {
		wantError(t, exchange(f.code(t, f.conf.ClientID, nil), url.Values{"redirect_uri": {f.redirectURI + "/"}}), http.StatusBadRequest, "invalid_grant")
		wantError(t, exchange(f.code(t, f.conf.ClientID, nil), url.Values{"redirect_uri": nil}), http.StatusBadRequest, "invalid_grant")
	})
}

func TestRevocation(t *testing.T) {
	f := newFixture(t)
	tokens := func() tokenResult {
		return f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
			"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	}
	revoke := func(tok string) int {
		return f.post(t, "/v1/oauth2/revoke", "application/x-www-form-urlencoded",
			url.Values{"token": {tok}}.Encode(), f.conf.ClientID, f.conf.ClientSecret).Status
	}
	t.Run("access token by jti", func(t *testing.T) {
		tr := tokens()
		if got := revoke(tr.AccessToken); got != http.StatusOK {
			t.Fatalf("revoke: %d", got)
		}
		if f.introspect(t, tr.AccessToken).Active {
			t.Error("revoked access token is still active")
		}
		if !f.introspect(t, tr.RefreshToken).Active {
			t.Error("revoking the access token killed the refresh token too")
		}
	})
	t.Run("refresh token revokes its grant", func(t *testing.T) {
		tr := tokens()
		revoke(tr.RefreshToken)
		if f.introspect(t, tr.RefreshToken).Active || f.introspect(t, tr.AccessToken).Active {
			t.Error("tokens of the revoked grant are still active")
		}
	})
	t.Run("unknown token is 200", func(t *testing.T) {
		if got := revoke("not-a-token"); got != http.StatusOK {
			t.Errorf("revoke unknown token: %d, want 200 (RFC 7009 section 2.2)", got)
		}
	})
}
