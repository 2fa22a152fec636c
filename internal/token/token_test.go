package token_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

var (
	wantTokens = testenv.WantTokens
	wantError  = testenv.WantError
)

// Each row of the Aries guide's "What you send to the token endpoint".
func TestTokenEndpointShapesOfTheGuide(t *testing.T) {
	e := newEnv(t)

	t.Run("1 backend: grant_type=code with client_secret", func(t *testing.T) {
		got := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
		wantTokens(t, got, true)
		in := e.introspect(t, got.AccessToken)
		if !in.Active || in.Sub != e.User.ID || in.ClientID != e.conf.ID || in.AuthTime == 0 {
			t.Errorf("introspection %+v: want active, sub %s, client %s, auth_time", in, e.User.ID, e.conf.ID)
		}
		if got.Scope != "user:information account:information order:information position:information market:information calendar:information options:information analytics:information market:supplemental" {
			t.Errorf("scope %q: want the read bundle expanded", got.Scope)
		}
	})
	t.Run("2 browser or mobile: grant_type=code with code_verifier", func(t *testing.T) {
		verifier, challenge := pkcePair()
		code := e.code(t, e.public.ID, url.Values{"code_challenge": {challenge}})
		got := e.token(t, url.Values{"grant_type": {"code"}, "client_id": {e.public.ID},
			"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		wantTokens(t, got, true)
	})
	t.Run("3 refresh: grant_type=refresh_token with client_secret", func(t *testing.T) {
		first := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
		got := e.refresh(t, e.conf, first.RefreshToken, "")
		wantTokens(t, got, true)
		if got.RefreshToken == first.RefreshToken {
			t.Error("the refresh token was not rotated")
		}
	})
	t.Run("JSON body, Basic authentication, authorization_code spelling", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"grant_type": "authorization_code",
			"code": e.code(t, e.conf.ID, nil), "redirect_uri": redirectURI})
		got := e.post(t, "/v1/oauth2/token", "application/json", string(body), e.conf.ID, e.conf.Secret)
		wantTokens(t, got, true)
	})
	t.Run("client_credentials", func(t *testing.T) {
		got := e.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}},
			e.conf.ID, e.conf.Secret)
		wantTokens(t, got, false)
		if in := e.introspect(t, got.AccessToken); !in.Active || in.Sub != e.conf.ID || in.Scope != "market:information" {
			t.Errorf("introspection %+v: want the client as subject and the asked scope", in)
		}
		got = e.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.public.ID}})
		wantError(t, got, http.StatusBadRequest, "unauthorized_client")
		got = e.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"funds:withdrawal"}},
			e.conf.ID, e.conf.Secret)
		wantError(t, got, http.StatusBadRequest, "invalid_scope")
	})
}

func TestCodeIsSingleUseAndReuseRevokes(t *testing.T) {
	e := newEnv(t)
	code := e.code(t, e.conf.ID, nil)
	first := e.exchange(t, e.conf, code)
	wantTokens(t, first, true)

	wantError(t, e.exchange(t, e.conf, code), http.StatusBadRequest, "invalid_grant")
	if in := e.introspect(t, first.AccessToken); in.Active {
		t.Error("the access token of the first exchange is still active after the code was reused")
	}
	wantError(t, e.refresh(t, e.conf, first.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
}

// A code lives a minute (the authorization endpoint's default), and a
// refresh token dies after RefreshTTL unused: both read the handler's
// clock.
func TestCodesAndRefreshTokensExpire(t *testing.T) {
	e := newEnv(t)
	code := e.code(t, e.conf.ID, nil)
	e.Clock.Add(time.Minute + time.Second)
	wantError(t, e.exchange(t, e.conf, code), http.StatusBadRequest, "invalid_grant")

	first := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
	wantTokens(t, first, true)
	e.Clock.Add(e.h.RefreshTTL - time.Second)
	second := e.refresh(t, e.conf, first.RefreshToken, "")
	wantTokens(t, second, true)
	e.Clock.Add(e.h.RefreshTTL + time.Second)
	wantError(t, e.refresh(t, e.conf, second.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
}

func TestConcurrentRedemptionHasOneWinner(t *testing.T) {
	// 20 requests for one user and client exceed the authentication rate
	// limit (10/min); this test is about single use, not limits.
	e := newEnv(t, rateLimitsOff)
	race := func(t *testing.T, form url.Values) {
		const n = 20
		results := make([]testenv.TokenAnswer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i] = e.token(t, form) })
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
		race(t, url.Values{"grant_type": {"code"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
			"code": {e.code(t, e.conf.ID, nil)}, "redirect_uri": {redirectURI}})
	})
	t.Run("one refresh token", func(t *testing.T) {
		first := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
		wantTokens(t, first, true)
		race(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {e.conf.ID},
			"client_secret": {e.conf.Secret}, "refresh_token": {first.RefreshToken}})
	})
}

func TestRefreshReplayRevokesTheFamily(t *testing.T) {
	e := newEnv(t)
	first := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
	second := e.refresh(t, e.conf, first.RefreshToken, "")
	wantTokens(t, second, true)

	wantError(t, e.refresh(t, e.conf, first.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
	wantError(t, e.refresh(t, e.conf, second.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
	if in := e.introspect(t, second.AccessToken); in.Active {
		t.Error("the newest access token is still active after the replay")
	}
}

func TestNarrowerScopeOnRefresh(t *testing.T) {
	e := newEnv(t)
	first := e.exchange(t, e.conf, e.code(t, e.conf.ID, nil))
	wider := e.refresh(t, e.conf, first.RefreshToken, "order:execution")
	wantError(t, wider, http.StatusBadRequest, "invalid_scope")
	// The refused request left the token usable.
	narrow := e.refresh(t, e.conf, first.RefreshToken, "market:information")
	wantTokens(t, narrow, true)
	if narrow.Scope != "market:information" {
		t.Errorf("scope %q, want market:information", narrow.Scope)
	}
}

// TestRefreshToABundle: a refresh naming a bundle of the SDK documentation
// gets the scopes docs/scopes.md#bundles expands it to (internal/api's
// TestBundlesOpenWhatDesignSays checks the routes they open).
func TestRefreshToABundle(t *testing.T) {
	e := newEnv(t)
	app := e.client(t, store.Client{Name: "Trading app", Scopes: testenv.Scopes(t, "read trade withdraw")})
	refresh := e.exchange(t, app, e.code(t, app.ID, url.Values{"scope": {"read trade withdraw"}})).RefreshToken
	design := map[string][]string{
		"read": {"user:information", "account:information", "order:information", "position:information", "market:information",
			"calendar:information", "options:information", "analytics:information", "market:supplemental"},
		"trade":    {"order:execution"},
		"withdraw": {"funds:withdrawal"},
	}
	for bundle, scopes := range design {
		r := e.refresh(t, app, refresh, bundle)
		wantTokens(t, r, true)
		refresh = r.RefreshToken
		if got := strings.Fields(r.Scope); !slices.Equal(got, scopes) {
			t.Errorf("token for %q carries %q, want %q", bundle, got, scopes)
		}
	}
}

func TestClientAuthenticationFailures(t *testing.T) {
	e := newEnv(t)
	code := e.code(t, e.conf.ID, nil)
	exchange := func(id, sec string) url.Values {
		return url.Values{"grant_type": {"code"}, "client_id": {id}, "client_secret": {sec},
			"code": {code}, "redirect_uri": {redirectURI}}
	}
	tests := []struct {
		name   string
		form   url.Values
		basic  []string
		header bool
	}{
		{"wrong secret", exchange(e.conf.ID, e.conf.Secret+"x"), nil, false},
		{"unknown client", exchange("aries_ci_nosuchclient", e.conf.Secret), nil, false},
		{"no secret", url.Values{"grant_type": {"code"}, "client_id": {e.conf.ID}, "code": {code}, "redirect_uri": {redirectURI}}, nil, false},
		{"wrong Basic secret", url.Values{"grant_type": {"code"}, "code": {code}, "redirect_uri": {redirectURI}}, []string{e.conf.ID, "aries_cs_wrong"}, true},
		{"unknown Basic client", url.Values{"grant_type": {"code"}, "code": {code}, "redirect_uri": {redirectURI}}, []string{"aries_ci_nosuch", "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.token(t, tt.form, tt.basic...)
			wantError(t, got, http.StatusUnauthorized, "invalid_client")
			if h := got.Header.Get("WWW-Authenticate"); tt.header != strings.HasPrefix(h, "Basic") {
				t.Errorf("WWW-Authenticate %q; want a Basic challenge: %t", h, tt.header)
			}
		})
	}
	// Failed client authentication must not burn the code.
	wantTokens(t, e.token(t, exchange(e.conf.ID, e.conf.Secret)), true)
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	code := e.code(t, e.conf.ID, nil)
	good := url.Values{"grant_type": {"code"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
		"code": {code}, "redirect_uri": {redirectURI}}
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
			got := e.post(t, "/v1/oauth2/token", tt.contentType, tt.body)
			wantError(t, got, tt.status, "invalid_request")
		})
	}
	wantTokens(t, e.token(t, good), true)
}

func TestPKCERules(t *testing.T) {
	e := newEnv(t)
	verifier, challenge := pkcePair()
	withChallenge := url.Values{"code_challenge": {challenge}}
	exchange := func(code string, extra url.Values) testenv.TokenAnswer {
		v := url.Values{"grant_type": {"code"}, "client_id": {e.conf.ID}, "client_secret": {e.conf.Secret},
			"code": {code}, "redirect_uri": {redirectURI}}
		for k, vs := range extra {
			v[k] = vs
		}
		return e.token(t, v)
	}
	t.Run("confidential client with a challenge must send the verifier", func(t *testing.T) {
		wantError(t, exchange(e.code(t, e.conf.ID, withChallenge), nil), http.StatusBadRequest, "invalid_grant")
		wantTokens(t, exchange(e.code(t, e.conf.ID, withChallenge), url.Values{"code_verifier": {verifier}}), true)
	})
	t.Run("wrong verifier", func(t *testing.T) {
		other := strings.Repeat("b", 43)
		wantError(t, exchange(e.code(t, e.conf.ID, withChallenge), url.Values{"code_verifier": {other}}), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("verifier for a code without challenge is a downgrade", func(t *testing.T) {
		wantError(t, exchange(e.code(t, e.conf.ID, nil), url.Values{"code_verifier": {verifier}}), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("redirect_uri must equal the authorized one", func(t *testing.T) {
		wantError(t, exchange(e.code(t, e.conf.ID, nil), url.Values{"redirect_uri": {redirectURI + "/"}}), http.StatusBadRequest, "invalid_grant")
		wantError(t, exchange(e.code(t, e.conf.ID, nil), url.Values{"redirect_uri": nil}), http.StatusBadRequest, "invalid_grant")
	})
}

// TestAuthenticationRateLimit: the 11th authentication request within a
// minute is refused with 429, Retry-After and X-RateLimit-Reset; other
// users and other clients are not affected, and guessing codes is counted
// per client and address.
func TestAuthenticationRateLimit(t *testing.T) {
	e := newEnv(t)
	app := e.client(t, store.Client{Name: "Trading app", Scopes: testenv.Scopes(t, "read trade withdraw")})
	other := e.client(t, store.Client{Name: "Other app", Scopes: testenv.Scopes(t, "read trade")})
	bob := e.NewUser(store.User{Email: "bob@example.com"}, "another long passphrase")

	wantLimited := func(t *testing.T, r testenv.TokenAnswer, limit string) {
		t.Helper()
		if r.Status != http.StatusTooManyRequests || r.Error != "rate_limited" {
			t.Fatalf("got %d %s, want 429 rate_limited", r.Status, r.Error)
		}
		retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 60 {
			t.Errorf("Retry-After %q: want whole seconds between 1 and 60", r.Header.Get("Retry-After"))
		}
		reset, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
		if now := e.Now().Unix(); err != nil || reset < now || reset > now+61 {
			t.Errorf("X-RateLimit-Reset %q: want unix seconds within the next minute", r.Header.Get("X-RateLimit-Reset"))
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != limit {
			t.Errorf("X-RateLimit-Limit: got %q, want %q", got, limit)
		}
		if got := r.Header.Get("X-RateLimit-Remaining"); got != "0" {
			t.Errorf("X-RateLimit-Remaining: got %q, want 0", got)
		}
	}

	t.Run("authentication", func(t *testing.T) {
		// Request 1 is the code exchange, 2 to 10 refreshes.
		first := e.exchange(t, app, e.code(t, app.ID, url.Values{"scope": {"read trade"}}))
		wantTokens(t, first, true)
		refresh := first.RefreshToken
		for i := 2; i <= 10; i++ {
			r := e.refresh(t, app, refresh, "")
			if r.Status != http.StatusOK {
				t.Fatalf("request %d: got %d %s, want 200", i, r.Status, r.Error)
			}
			if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(10-i); got != want {
				t.Errorf("request %d: X-RateLimit-Remaining %q, want %q", i, got, want)
			}
			refresh = r.RefreshToken
		}
		wantLimited(t, e.refresh(t, app, refresh, ""), "10")
		// The refused request did not spend the refresh token.
		if in := e.introspect(t, refresh); !in.Active {
			t.Error("the refresh token of a refused request was spent")
		}

		// Another user of the same client, and the same user on another
		// client, are not affected.
		wantTokens(t, e.exchange(t, app, e.codeFor(t, app.ID, bob.ID, nil)), true)
		wantTokens(t, e.exchange(t, other, e.code(t, other.ID, nil)), true)
	})

	t.Run("guessing codes from one address", func(t *testing.T) {
		for i := 1; i <= 11; i++ {
			r := e.exchange(t, other, "aries_ac_guess"+strconv.Itoa(i))
			if i <= 10 && (r.Status != http.StatusBadRequest || r.Error != "invalid_grant") {
				t.Fatalf("guess %d: got %d %s, want 400 invalid_grant", i, r.Status, r.Error)
			}
			if i == 11 {
				wantLimited(t, r, "10")
			}
		}
	})

	t.Run("a minute later", func(t *testing.T) {
		e.Clock.Add(time.Minute)
		wantError(t, e.exchange(t, other, "aries_ac_guess12"), http.StatusBadRequest, "invalid_grant")
	})
}
