package par_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/authorize"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/par"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

const (
	redirect  = "https://app.example/cb"
	challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
)

// fixture is a PAR endpoint over a real store, with a confidential client
// (secret) and a FAPI 2.0 one (registered here with a secret too: this
// package calls clientauth, which decides the method).
type fixture struct {
	*testenv.Env
	url           string
	conf, confSec string
	fapi, fapiSec string
}

func newFixture(t testing.TB, limits *ratelimit.Policy) *fixture {
	t.Helper()
	e := testenv.New(t)
	f := &fixture{Env: e}
	c, sec := e.NewClient(store.Client{Scopes: []string{"account:information", "user:information"}})
	f.conf, f.confSec = c.ID, sec
	c, sec = e.NewClient(store.Client{Scopes: []string{"account:information"}, Profile: store.ProfileFAPI2})
	f.fapi, f.fapiSec = c.ID, sec

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL + protocol.PARPath
	cache := dpop.NewMemoryReplayCache(0)
	cache.Now = e.Clock.Now
	proofs, err := dpop.NewVerifier(dpop.Config{Replay: cache, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fapiProofs, err := dpop.NewVerifier(dpop.Config{Algorithms: []string{"ES256", "PS256", "EdDSA"}, MaxFuture: 10 * time.Second, Replay: cache, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	az := &authorize.Handler{Store: e.Store, Hasher: e.Hasher, Issuer: srv.URL, Now: e.Clock.Now}
	mux.Handle("POST "+protocol.PARPath, &par.Handler{
		Store: e.Store, Hasher: e.Hasher, Validator: az,
		Clients:   &clientauth.Authenticator{Store: e.Store, Hasher: e.Hasher, Issuer: srv.URL, Now: e.Clock.Now},
		RateLimit: limits, DPoP: proofs, DPoPFAPI2: fapiProofs, URL: f.url, Now: e.Clock.Now,
	})
	return f
}

func (f *fixture) params() url.Values {
	return url.Values{
		"client_id": {f.conf}, "client_secret": {f.confSec},
		"response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"account:information"}, "state": {"s1"},
	}
}

func (f *fixture) fapiParams() url.Values {
	return url.Values{
		"client_id": {f.fapi}, "client_secret": {f.fapiSec},
		"response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"account:information"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

// push posts form, with a DPoP header when proof is not "".
func (f *fixture) push(t testing.TB, form url.Values, proof string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", f.url, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("status %d: body is not JSON: %v", resp.StatusCode, err)
	}
	return resp, body
}

// take takes the pushed request uri names from the store.
func (f *fixture) take(t *testing.T, clientID, uri string) store.PushedRequest {
	t.Helper()
	random, ok := par.Random(uri)
	if !ok {
		t.Fatalf("request_uri %q is not one of this server's", uri)
	}
	pr, err := f.Store.TakePushedRequest(context.Background(), f.Hasher.Hash(random), clientID, f.Now())
	if err != nil {
		t.Fatalf("TakePushedRequest: %v", err)
	}
	return pr
}

func (f *fixture) proof(t *testing.T, s *dpop.Signer) string {
	t.Helper()
	p, err := s.Proof("POST", f.url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func signer(t *testing.T, alg string, now func() time.Time) *dpop.Signer {
	t.Helper()
	var s *dpop.Signer
	var err error
	if alg == "RS256" {
		k, kerr := rsa.GenerateKey(rand.Reader, 2048)
		if kerr != nil {
			t.Fatal(kerr)
		}
		s, err = dpop.NewSigner(k, "RS256")
	} else {
		k, kerr := dpop.GenerateKey()
		if kerr != nil {
			t.Fatal(kerr)
		}
		s, err = dpop.NewSigner(k, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Now = now
	return s
}

// TestPush: a valid push is 201 with a fresh request_uri that lives 60 s,
// never cached; the store keeps the authorization parameters only (no
// client credentials) under the hash of its random part.
func TestPush(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := f.push(t, f.params(), "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d %v, want 201", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	uri, _ := body["request_uri"].(string)
	if !strings.HasPrefix(uri, protocol.RequestURIPrefix) || body["expires_in"] != float64(60) {
		t.Fatalf("body %v: want a urn:ietf:params:oauth:request_uri: and expires_in 60", body)
	}
	_, again := f.push(t, f.params(), "")
	if again["request_uri"] == uri {
		t.Error("two pushes got the same request_uri")
	}
	pr := f.take(t, f.conf, uri)
	want := url.Values{"response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"account:information"}, "state": {"s1"}}
	if pr.Params.Encode() != want.Encode() {
		t.Errorf("stored params %v, want %v", pr.Params, want)
	}
	if got := pr.ExpiresAt.Sub(pr.CreatedAt); got != par.TTL {
		t.Errorf("stored request lives %v, want %v", got, par.TTL)
	}
}

// TestPushErrors: every error is a JSON answer, never a redirect.
func TestPushErrors(t *testing.T) {
	f := newFixture(t, nil)
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				out.Del(kv[i])
			} else {
				out.Set(kv[i], kv[i+1])
			}
		}
		return out
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"wrong secret", with(f.params(), "client_secret", "aries_cs_wrong"), 401, oauth.InvalidClient},
		{"no client", with(f.params(), "client_id", "", "client_secret", ""), 401, oauth.InvalidClient},
		{"request_uri inside", with(f.params(), "request_uri", protocol.RequestURIPrefix+"aries_ru_x"), 400, oauth.InvalidRequest},
		{"unregistered redirect_uri", with(f.params(), "redirect_uri", "https://evil.example/cb"), 400, oauth.InvalidRequest},
		{"unknown scope", with(f.params(), "scope", "everything"), 400, oauth.InvalidScope},
		{"plain PKCE", with(f.params(), "code_challenge", challenge, "code_challenge_method", "plain"), 400, oauth.InvalidRequest},
		{"fapi2 without PKCE", with(f.fapiParams(), "code_challenge", "", "code_challenge_method", ""), 400, oauth.InvalidRequest},
		{"response_type token", with(f.params(), "response_type", "token"), 400, oauth.UnsupportedResponseType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.push(t, tt.form, "")
			if resp.StatusCode != tt.status || body["error"] != tt.code {
				t.Errorf("got %d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("Location %q, want none", loc)
			}
		})
	}
}

// TestPushBindsDPoPKey: a DPoP proof at the push binds the code to its key
// like dpop_jkt (RFC 9449 section 10.1); a dpop_jkt of another key is
// refused; FAPI 2.0 clients' proofs follow their rules.
func TestPushBindsDPoPKey(t *testing.T) {
	f := newFixture(t, nil)
	s := signer(t, "ES256", f.Now)

	resp, body := f.push(t, f.params(), f.proof(t, s))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push with a proof: %d %v", resp.StatusCode, body)
	}
	if got := f.take(t, f.conf, body["request_uri"].(string)).Params.Get("dpop_jkt"); got != s.JKT() {
		t.Errorf("stored dpop_jkt %q, want the proof's key %q", got, s.JKT())
	}

	other := signer(t, "ES256", f.Now)
	form := f.params()
	form.Set("dpop_jkt", other.JKT())
	if resp, body := f.push(t, form, f.proof(t, s)); resp.StatusCode != 400 || body["error"] != oauth.InvalidRequest {
		t.Errorf("dpop_jkt of another key: %d %v, want 400 invalid_request", resp.StatusCode, body)
	}
	if resp, body := f.push(t, f.params(), "not.a.proof"); resp.StatusCode != 400 || body["error"] != protocol.ErrInvalidDPoPProof {
		t.Errorf("bad proof: %d %v, want 400 invalid_dpop_proof", resp.StatusCode, body)
	}

	for _, tt := range []struct {
		name   string
		alg    string
		ahead  time.Duration
		client string // "fapi" or "conf"
		want   int
	}{
		{"fapi2 ES256 10 s ahead", "ES256", 10 * time.Second, "fapi", 201},
		{"fapi2 ES256 11 s ahead", "ES256", 11 * time.Second, "fapi", 400},
		{"fapi2 RS256", "RS256", 0, "fapi", 400},
		{"other client RS256", "RS256", 0, "conf", 201},
		{"other client 11 s ahead", "ES256", 11 * time.Second, "conf", 201},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := signer(t, tt.alg, func() time.Time { return f.Now().Add(tt.ahead) })
			form := f.params()
			if tt.client == "fapi" {
				form = f.fapiParams()
			}
			resp, body := f.push(t, form, f.proof(t, s))
			if resp.StatusCode != tt.want || (tt.want == 400 && body["error"] != protocol.ErrInvalidDPoPProof) {
				t.Errorf("got %d %v, want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// TestPushRateLimited: pushes are charged to the authentication category
// per client and source address, failed authentications included.
func TestPushRateLimited(t *testing.T) {
	limits := ratelimit.DefaultLimits()
	if err := limits.Set("authentication=3/1m"); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, &ratelimit.Policy{Limiter: ratelimit.NewMemory(), Limits: limits})
	bad := f.params()
	bad.Set("client_secret", "aries_cs_wrong")
	for i := range 3 {
		if resp, body := f.push(t, bad, ""); resp.StatusCode != 401 {
			t.Fatalf("push %d: %d %v, want 401", i, resp.StatusCode, body)
		}
	}
	resp, body := f.push(t, f.params(), "")
	if resp.StatusCode != http.StatusTooManyRequests || body["error"] != oauth.RateLimited || resp.Header.Get("Retry-After") == "" {
		t.Errorf("fourth push: %d %v, want 429 rate_limited with Retry-After", resp.StatusCode, body)
	}
}

// TestRequestURI: Random accepts the request_uris NewRequestURI makes and
// nothing else.
func TestRequestURI(t *testing.T) {
	uri, random := par.NewRequestURI()
	if got, ok := par.Random(uri); !ok || got != random {
		t.Errorf("Random(%q) = %q, %t; want %q, true", uri, got, ok, random)
	}
	if again, _ := par.NewRequestURI(); again == uri {
		t.Error("NewRequestURI made the same request_uri twice")
	}
	for _, bad := range []string{"", random, protocol.RequestURIPrefix, protocol.RequestURIPrefix + "aries_ru_",
		protocol.RequestURIPrefix + "other_" + random, uri + "!", uri + "%00", "https://aries.test/r?" + uri,
		protocol.RequestURIPrefix + "aries_ru_" + strings.Repeat("a", 300)} {
		if got, ok := par.Random(bad); ok {
			t.Errorf("Random(%q) = %q, true; want false", bad, got)
		}
	}
}

// BenchmarkPush: one pushed authorization request over HTTP on loopback:
// client secret authentication, validation, and the store's insert
// (SQLite).
func BenchmarkPush(b *testing.B) {
	f := newFixture(b, nil)
	form := f.params()
	for b.Loop() {
		if resp, body := f.push(b, form, ""); resp.StatusCode != http.StatusCreated {
			b.Fatalf("push: %d %v", resp.StatusCode, body)
		}
	}
}
