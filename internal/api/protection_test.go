package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// TestEveryRouteIsProtected walks the route table: without a token 401,
// with a token lacking the scope 403 insufficient_scope, with (each of) the
// right scope(s) 2xx, upstream routes (the WebSocket included) against a
// test upstream.
func TestEveryRouteIsProtected(t *testing.T) {
	up := testUpstream(t)
	e := newEnv(t, withUpstream("/v1", up.URL))
	tokens := map[string]string{}
	for _, s := range scope.All {
		if s.Name != scope.Admin {
			tokens[s.Name] = e.login(t, e.app, e.User, s.Name).Token
		}
	}
	account := e.accountID(t, tokens[scope.AccountInformation])
	openOrder := e.restingOrder(t, tokens[scope.OrderExecution])
	cancelOrder := e.restingOrder(t, tokens[scope.OrderExecution])

	for _, rt := range Routes {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			path, body := routeCall(rt, account, openOrder, cancelOrder)
			wrong := scope.MarketInformation
			if slices.Contains(rt.Scopes, wrong) {
				wrong = scope.UserInformation
			}
			if rt.WebSocket {
				if got := e.webSocket(t, path, ""); got != http.StatusUnauthorized {
					t.Errorf("WebSocket without a token: got %d, want 401", got)
				}
				if got := e.webSocket(t, path, tokens[wrong]); got != http.StatusForbidden {
					t.Errorf("WebSocket with %s only: got %d, want 403", wrong, got)
				}
				if got := e.webSocket(t, path, tokens[rt.Scopes[0]]); got != http.StatusSwitchingProtocols {
					t.Errorf("WebSocket with %s: got %d, want 101", rt.Scopes[0], got)
				}
				return
			}

			r := e.call(t, rt.Method, path, "", body)
			if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != `Bearer realm="aries"` {
				t.Errorf("no token: got %s with WWW-Authenticate %q, want 401 Bearer realm=\"aries\"", r, r.Header.Get("WWW-Authenticate"))
			}
			r = e.call(t, rt.Method, path, tokens[wrong], body)
			challenge := r.Header.Get("WWW-Authenticate")
			if r.Status != http.StatusForbidden || r.ErrorCode() != "insufficient_scope" ||
				!strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="`+strings.Join(rt.Scopes, " ")+`"`) {
				t.Errorf("token with %s only: got %s (WWW-Authenticate %q), want 403 insufficient_scope naming %v", wrong, r, challenge, rt.Scopes)
			}
			for _, s := range rt.Scopes {
				r = e.call(t, rt.Method, path, tokens[s], body)
				if r.Status < 200 || r.Status > 299 {
					t.Errorf("token with %s: got %s, want 2xx", s, r)
					continue
				}
				if r.Header.Get("X-RateLimit-Limit") == "" {
					t.Errorf("token with %s: no X-RateLimit-Limit on a limited route", s)
				}
				if rt.Upstream != "" {
					var echo map[string]string
					r.Decode(t, &echo)
					want := map[string]string{"path": rt.Path, "query": "q=AAPL", "user": e.User.ID, "client": e.app.ID,
						"scopes": s, "authorization": "", "cookie": "", "spoofed": ""}
					for k, v := range want {
						if echo[k] != v {
							t.Errorf("upstream saw %s %q, want %q", k, echo[k], v)
						}
					}
				}
			}
		})
	}
}

// TestBundlesOpenWhatDesignSays checks that the read, trade and withdraw
// bundles of the SDK documentation open exactly the routes of the scopes
// docs/scopes.md#bundles expands them to (internal/token's
// TestRefreshToABundle checks that a token for a bundle carries those
// scopes).
func TestBundlesOpenWhatDesignSays(t *testing.T) {
	e := newEnv(t)
	account := e.accountID(t, e.login(t, e.app, e.User, "read").Token)
	design := map[string][]string{
		"read": {"user:information", "account:information", "order:information", "position:information", "market:information",
			"calendar:information", "options:information", "analytics:information", "market:supplemental"},
		"trade":    {"order:execution"},
		"withdraw": {"funds:withdrawal"},
	}
	for bundle, scopes := range design {
		t.Run(bundle, func(t *testing.T) {
			tok := e.login(t, e.app, e.User, bundle)
			if got := tok.Claims.Scopes; !slices.Equal(got, scopes) {
				t.Fatalf("token for %q carries %q, want %q", bundle, got, scopes)
			}
			for _, rt := range Routes {
				path, body := routeCall(rt, account, "ord_none", "ord_none")
				got := e.call(t, rt.Method, path, tok.Token, body)
				opens := slices.ContainsFunc(rt.Scopes, func(s string) bool { return slices.Contains(scopes, s) })
				switch {
				case opens && (got.Status == http.StatusUnauthorized || got.Status == http.StatusForbidden):
					t.Errorf("%s %s with %q: got %s, want it let through", rt.Method, rt.Path, bundle, got)
				case !opens && (got.Status != http.StatusForbidden || got.ErrorCode() != "insufficient_scope"):
					t.Errorf("%s %s with %q: got %s, want 403 insufficient_scope", rt.Method, rt.Path, bundle, got)
				}
			}
		})
	}
}

// TestForgedTokensAreRefused: unknown key, alg none, expired, another
// audience, tampered: 401 invalid_token.
func TestForgedTokensAreRefused(t *testing.T) {
	e := newEnv(t)
	good := e.login(t, e.app, e.User, "read").Token
	if r := e.call(t, "GET", "/v1/users/me", good, nil); r.Status != http.StatusOK {
		t.Fatalf("genuine token: got %s, want 200", r)
	}
	claims := protocol.Claims{Subject: e.User.ID, ClientID: e.app.ID, Scopes: []string{"user:information"}, AuthTime: e.Now()}
	mint := func(audience string, now time.Time) string {
		tok, _, err := (&accesstoken.Minter{Keys: e.Keyring(), Issuer: testenv.Issuer, Audience: audience, TTL: time.Minute,
			Now: func() time.Time { return now }}).Mint(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if r := e.call(t, "GET", "/v1/users/me", mint(testenv.Issuer, e.Now()), nil); r.Status != http.StatusOK {
		t.Fatalf("token minted by the test with the server's key: got %s, want 200 (the forgeries below rely on it)", r)
	}

	parts := strings.Split(good, ".")
	var header map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(hb, &header)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	var body map[string]any
	json.Unmarshal(payload, &body)

	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signWith := func(kid string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: stranger, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(body).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tampered := func() string {
		c := maps.Clone(body)
		c["scope"] = "user:information funds:withdrawal"
		return parts[0] + "." + b64(c) + "." + parts[2]
	}

	tests := []struct {
		name, token string
	}{
		{"signed by an unknown key", signWith("unknown-kid")},
		{"signed by another key under the server's kid", signWith(header["kid"].(string))},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "at+jwt", "kid": header["kid"].(string)}) + "." + parts[1] + "."},
		{"expired", mint(testenv.Issuer, e.Now().Add(-10*time.Minute))},
		{"for another audience", mint("https://other-api.example", e.Now())},
		{"tampered", tampered()},
		{"not a JWT", "aries_rt_notanaccesstoken"},
	}
	for _, tt := range tests {
		r := e.call(t, "GET", "/v1/users/me", tt.token, nil)
		if r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_token" ||
			!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer realm="aries", error="invalid_token"`) {
			t.Errorf("%s: got %s (WWW-Authenticate %q), want 401 invalid_token", tt.name, r, r.Header.Get("WWW-Authenticate"))
		}
	}

	// The genuine token dies with its expiry, on the API's clock.
	e.Clock.Add(15*time.Minute + bearer.DefaultLeeway + time.Second)
	if r := e.call(t, "GET", "/v1/users/me", good, nil); r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_token" {
		t.Errorf("genuine token after its expiry: got %s, want 401 invalid_token", r)
	}
}

// TestRevocationReachesTheAPI: a revoked access token, the tokens of a
// revoked refresh token's grant, and every token of a disabled client work
// until the API's next poll of the revocations (one Interval, Run) and are
// refused from then on. The revocations are stored as the revocation
// endpoint and `aries clients disable` store them.
func TestRevocationReachesTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	works := func(t *testing.T, token string) {
		t.Helper()
		if r := e.call(t, "GET", "/v1/users/me", token, nil); r.Status != http.StatusOK {
			t.Fatalf("before the next poll: got %s, want 200", r)
		}
	}
	refusedAfterPoll := func(t *testing.T, token string) {
		t.Helper()
		if err := e.api.revocations.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		r := e.call(t, "GET", "/v1/users/me", token, nil)
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), "token revoked") {
			t.Errorf("after the next poll: got %s (WWW-Authenticate %q), want 401 token revoked", r, r.Header.Get("WWW-Authenticate"))
		}
	}

	t.Run("access token", func(t *testing.T) {
		tok := e.login(t, e.app, e.User, "read")
		if err := e.Store.RevokeAccessToken(ctx, tok.Claims.JTI, tok.Claims.Expiry); err != nil {
			t.Fatal(err)
		}
		works(t, tok.Token)
		refusedAfterPoll(t, tok.Token)
	})
	t.Run("refresh token revokes its grant", func(t *testing.T) {
		tok := e.login(t, e.app, e.User, "read")
		if err := e.Store.RevokeGrant(ctx, tok.Claims.GrantID, e.Now()); err != nil {
			t.Fatal(err)
		}
		works(t, tok.Token)
		refusedAfterPoll(t, tok.Token)
	})
	t.Run("disabled client", func(t *testing.T) {
		user := e.login(t, e.app, e.User, "read")
		own := e.clientToken(t, e.app, "market:information")
		if err := e.Store.SetClientDisabled(ctx, e.app.ID, true, e.Now()); err != nil {
			t.Fatal(err)
		}
		works(t, user.Token)
		refusedAfterPoll(t, user.Token)
		r := e.call(t, "GET", "/v1/marketdata/search", own.Token, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("client_credentials token of the disabled client: got %s, want 401", r)
		}
	})
}

// TestRunPollsEveryInterval: Run, which Server.Maintain starts, polls the
// store every Interval until its context ends.
func TestRunPollsEveryInterval(t *testing.T) {
	st := &countingRevocations{polled: make(chan struct{}, 100)}
	r := &Revocations{Store: st, Interval: 5 * time.Millisecond, TokenLifetime: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	for i := range 3 {
		select {
		case <-st.polled:
		case <-time.After(10 * time.Second):
			t.Fatalf("Run polled %d times in 10s with a 5ms interval, want at least 3", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// countingRevocations answers no revocations and reports each poll.
type countingRevocations struct {
	store.RevocationStore
	polled chan struct{}
}

func (s *countingRevocations) RevocationsSince(context.Context, time.Time) (store.Revocations, error) {
	select {
	case s.polled <- struct{}{}:
	default:
	}
	return store.Revocations{}, nil
}
