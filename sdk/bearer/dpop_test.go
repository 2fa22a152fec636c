package bearer

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/sdk/dpop"
)

// resource is https://api.aries.test/v1/orders behind a verifier with
// DPoP configured by cfg, as a resource server team would mount it.
const resourceURL = audience + "/v1/orders"

func dpopVerifier(t *testing.T, a *authority, cfg DPoPConfig) *Verifier {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = audience
	}
	v, err := NewVerifier(Config{JWKSURL: a.srv.URL, Issuer: issuer, Audience: audience,
		Now: func() time.Time { return now }, Logger: quiet, DPoP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// holder is a client key and the tokens bound to it.
type holder struct {
	signer *dpop.Signer
}

func newHolder(t *testing.T) holder {
	t.Helper()
	k, err := dpop.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(k, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return now }
	return holder{s}
}

// boundToken is a valid access token bound to h's key.
func (h holder) boundToken(t *testing.T, a *authority) string {
	return sign(t, a.key("k1"), "k1", "at+jwt", with(func(c map[string]any) {
		c["cnf"] = map[string]string{"jkt": h.signer.JKT()}
	}))
}

func (h holder) proof(t *testing.T, method, u, token, nonce string) string {
	t.Helper()
	p, err := h.signer.Proof(method, u, token, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// send calls h (serving target) with an Authorization header and DPoP
// proofs.
func send(h http.Handler, method, target, authorization string, proofs ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestRequireDPoP: a DPoP-bound token works only with the DPoP scheme and
// a proof of its key for this request (RFC 9449 section 7.1); the
// challenge names the scheme the request used.
func TestRequireDPoP(t *testing.T) {
	a := newAuthority(t)
	alice, mallory := newHolder(t), newHolder(t)
	bound := alice.boundToken(t, a)
	bearerToken := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
	const algs = `algs="ES256 EdDSA Ed25519 PS256 RS256"`
	tests := []struct {
		name          string
		method        string // GET when empty
		authorization string
		proofs        func() []string
		wantStatus    int
		wantError     string
		wantChallenge []string // WWW-Authenticate values, a value ending in `description="` a prefix
	}{
		{
			name: "bound token with its proof", authorization: "DPoP " + bound,
			proofs:     func() []string { return []string{alice.proof(t, "GET", resourceURL, bound, "")} },
			wantStatus: 200,
		},
		{
			name: "scheme in any case", authorization: "dpop " + bound,
			proofs:     func() []string { return []string{alice.proof(t, "GET", resourceURL, bound, "")} },
			wantStatus: 200,
		},
		{
			name: "bound token as Bearer", authorization: "Bearer " + bound,
			wantStatus: 401, wantError: "invalid_token",
			wantChallenge: []string{`Bearer realm="aries", error="invalid_token", error_description="`, `DPoP realm="aries", ` + algs},
		},
		{
			name: "bound token as Bearer, with a proof", authorization: "Bearer " + bound,
			proofs:     func() []string { return []string{alice.proof(t, "GET", resourceURL, bound, "")} },
			wantStatus: 401, wantError: "invalid_token",
		},
		{
			name: "proof by another key", authorization: "DPoP " + bound,
			proofs:     func() []string { return []string{mallory.proof(t, "GET", resourceURL, bound, "")} },
			wantStatus: 401, wantError: "invalid_token",
			wantChallenge: []string{`DPoP realm="aries", ` + algs + `, error="invalid_token", error_description="`, `Bearer realm="aries"`},
		},
		{
			name: "no proof", authorization: "DPoP " + bound,
			wantStatus: 401, wantError: "invalid_dpop_proof",
			wantChallenge: []string{`DPoP realm="aries", ` + algs + `, error="invalid_dpop_proof", error_description="`, `Bearer realm="aries"`},
		},
		{
			name: "two proofs", authorization: "DPoP " + bound,
			proofs: func() []string {
				return []string{alice.proof(t, "GET", resourceURL, bound, ""), alice.proof(t, "GET", resourceURL, bound, "")}
			},
			wantStatus: 401, wantError: "invalid_dpop_proof",
		},
		{
			name: "proof for another token", authorization: "DPoP " + bound,
			proofs:     func() []string { return []string{alice.proof(t, "GET", resourceURL, alice.boundToken(t, a)+"x", "")} },
			wantStatus: 401, wantError: "invalid_dpop_proof",
		},
		{
			name: "proof for another URL", authorization: "DPoP " + bound,
			proofs:     func() []string { return []string{alice.proof(t, "GET", audience+"/v1/accounts", bound, "")} },
			wantStatus: 401, wantError: "invalid_dpop_proof",
		},
		{
			name: "proof for another method", authorization: "DPoP " + bound,
			proofs:     func() []string { return []string{alice.proof(t, "POST", resourceURL, bound, "")} },
			wantStatus: 401, wantError: "invalid_dpop_proof",
		},
		{
			name: "bearer token with the DPoP scheme", authorization: "DPoP " + bearerToken,
			proofs:     func() []string { return []string{alice.proof(t, "GET", resourceURL, bearerToken, "")} },
			wantStatus: 401, wantError: "invalid_token",
		},
		{
			name: "bearer token as Bearer", authorization: "Bearer " + bearerToken,
			wantStatus: 200,
		},
		{
			name: "no token: both schemes challenged", wantStatus: 401, wantError: "invalid_token",
			wantChallenge: []string{`Bearer realm="aries"`, `DPoP realm="aries", ` + algs},
		},
		{
			name: "empty DPoP token", authorization: "DPoP ",
			wantStatus: 400, wantError: "invalid_request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := dpopVerifier(t, a, DPoPConfig{})
			var got *Claims
			var proofs []string
			if tt.proofs != nil {
				proofs = tt.proofs()
			}
			w := send(protected(v, "order:information", &got), "GET", resourceURL, tt.authorization, proofs...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tt.wantStatus)
			}
			if tt.wantError != "" {
				if got := bodyError(t, w); got != tt.wantError {
					t.Errorf("error %q, want %q", got, tt.wantError)
				}
			}
			challenges := w.Header().Values("WWW-Authenticate")
			if tt.wantChallenge != nil {
				if len(challenges) != len(tt.wantChallenge) {
					t.Fatalf("WWW-Authenticate %q, want %q", challenges, tt.wantChallenge)
				}
				for i, want := range tt.wantChallenge {
					if p, ok := strings.CutSuffix(want, `description="`); ok && strings.HasPrefix(challenges[i], p) {
						continue
					}
					if challenges[i] != want {
						t.Errorf("WWW-Authenticate[%d] %q, want %q", i, challenges[i], want)
					}
				}
			}
			if tt.wantStatus == 200 && (got == nil || got.Subject != "usr_1") {
				t.Errorf("claims %+v reached the handler", got)
			}
		})
	}
}

// TestRequireDPoPReplay: a proof is accepted once, on every route.
func TestRequireDPoPReplay(t *testing.T) {
	a := newAuthority(t)
	alice := newHolder(t)
	bound := alice.boundToken(t, a)
	v := dpopVerifier(t, a, DPoPConfig{})
	var got *Claims
	h := protected(v, "", &got)
	proof := alice.proof(t, "GET", resourceURL, bound, "")
	if w := send(h, "GET", resourceURL, "DPoP "+bound, proof); w.Code != 200 {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	w := send(h, "GET", resourceURL, "DPoP "+bound, proof)
	if w.Code != 401 || bodyError(t, w) != "invalid_dpop_proof" {
		t.Errorf("replay: %d %s, want 401 invalid_dpop_proof", w.Code, w.Body)
	}
	// A fresh proof works again.
	if w := send(h, "GET", resourceURL, "DPoP "+bound, alice.proof(t, "GET", resourceURL, bound, "")); w.Code != 200 {
		t.Errorf("a fresh proof: %d %s", w.Code, w.Body)
	}
}

// TestRequireDPoPNonce: with server nonces a proof without the current one
// is answered 401 use_dpop_nonce with the nonce (RFC 9449 section 9); the
// retry with it passes, and its answer carries the nonce too.
func TestRequireDPoPNonce(t *testing.T) {
	a := newAuthority(t)
	alice := newHolder(t)
	bound := alice.boundToken(t, a)
	nonces, err := dpop.NewRotatingNonces([]byte(strings.Repeat("n", 32)), time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	v := dpopVerifier(t, a, DPoPConfig{Nonces: nonces})
	var got *Claims
	h := protected(v, "", &got)

	w := send(h, "GET", resourceURL, "DPoP "+bound, alice.proof(t, "GET", resourceURL, bound, ""))
	nonce := w.Header().Get("DPoP-Nonce")
	if w.Code != 401 || bodyError(t, w) != "use_dpop_nonce" || nonce != nonces.Nonce() {
		t.Fatalf("without a nonce: %d %s, DPoP-Nonce %q; want 401 use_dpop_nonce and the nonce", w.Code, w.Body, nonce)
	}
	if c := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(c, `DPoP realm="aries", algs="ES256 EdDSA Ed25519 PS256 RS256", error="use_dpop_nonce"`) {
		t.Errorf("WWW-Authenticate %q, want the DPoP challenge with use_dpop_nonce", c)
	}
	w = send(h, "GET", resourceURL, "DPoP "+bound, alice.proof(t, "GET", resourceURL, bound, nonce))
	if w.Code != 200 || w.Header().Get("DPoP-Nonce") != nonce {
		t.Errorf("with the nonce: %d %s, DPoP-Nonce %q", w.Code, w.Body, w.Header().Get("DPoP-Nonce"))
	}
	// Bearer requests are not asked for a nonce.
	w = send(h, "GET", resourceURL, "Bearer "+sign(t, a.key("k1"), "k1", "at+jwt", validClaims()))
	if w.Code != 200 || w.Header().Get("DPoP-Nonce") != "" {
		t.Errorf("bearer request: %d, DPoP-Nonce %q", w.Code, w.Header().Get("DPoP-Nonce"))
	}
}

// TestRequireDPoPURL: the htu a proof must name is BaseURL plus the path
// when set, else the URL the request names.
func TestRequireDPoPURL(t *testing.T) {
	a := newAuthority(t)
	alice := newHolder(t)
	bound := alice.boundToken(t, a)
	tests := []struct {
		name, base, target, htu string
		ok                      bool
	}{
		{"base URL", "https://api.example.com", "http://10.0.0.7:8080/v1/orders", "https://api.example.com/v1/orders", true},
		{"base URL with a slash", "https://api.example.com/", "http://10.0.0.7:8080/v1/orders", "https://api.example.com/v1/orders", true},
		{"base URL, proof names the inner address", "https://api.example.com", "http://10.0.0.7:8080/v1/orders", "http://10.0.0.7:8080/v1/orders", false},
		{"from the request", "", "http://svc.example:8080/v1/orders?x=1", "http://svc.example:8080/v1/orders", true},
		{"from a TLS request", "", "https://svc.example/v1/orders", "https://svc.example/v1/orders", true},
		{"from the request, another host", "", "http://svc.example:8080/v1/orders", "http://evil.example:8080/v1/orders", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(Config{JWKSURL: a.srv.URL, Issuer: issuer, Audience: audience,
				Now: func() time.Time { return now }, Logger: quiet, DPoP: DPoPConfig{BaseURL: tt.base}})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Header.Set("Authorization", "DPoP "+bound)
			r.Header.Set("DPoP", alice.proof(t, "GET", tt.htu, bound, ""))
			_, err = v.VerifyRequest(context.Background(), r)
			if (err == nil) != tt.ok {
				t.Errorf("VerifyRequest: %v, want ok %t", err, tt.ok)
			}
		})
	}
}

// TestRequireDPoPScope: a DPoP token without the route's scope gets the
// 403 on the DPoP challenge.
func TestRequireDPoPScope(t *testing.T) {
	a := newAuthority(t)
	alice := newHolder(t)
	bound := alice.boundToken(t, a)
	v := dpopVerifier(t, a, DPoPConfig{})
	var got *Claims
	w := send(protected(v, "order:execution", &got), "GET", resourceURL, "DPoP "+bound, alice.proof(t, "GET", resourceURL, bound, ""))
	if w.Code != 403 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `DPoP realm="aries", algs="ES256 EdDSA Ed25519 PS256 RS256", error="insufficient_scope"`) {
		t.Errorf("got %d, WWW-Authenticate %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if !strings.Contains(w.Header().Get("WWW-Authenticate"), `scope="order:execution"`) {
		t.Errorf("the challenge does not name the scope: %q", w.Header().Get("WWW-Authenticate"))
	}
}

// TestRequireDPoPReplayCacheDown: a replay cache that cannot answer makes
// DPoP requests 503, never accepted unchecked.
func TestRequireDPoPReplayCacheDown(t *testing.T) {
	a := newAuthority(t)
	alice := newHolder(t)
	bound := alice.boundToken(t, a)
	v := dpopVerifier(t, a, DPoPConfig{Replay: downCache{}})
	var got *Claims
	w := send(protected(v, "", &got), "GET", resourceURL, "DPoP "+bound, alice.proof(t, "GET", resourceURL, bound, ""))
	if w.Code != 503 || got != nil {
		t.Errorf("got %d, claims %v; want 503", w.Code, got)
	}
}

type downCache struct{}

func (downCache) Use(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("down")
}

func TestCredentialsFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    Credentials
		wantErr bool
	}{
		{name: "bearer", headers: []string{"Bearer abc"}, want: Credentials{SchemeBearer, "abc"}},
		{name: "dpop", headers: []string{"DPoP abc"}, want: Credentials{SchemeDPoP, "abc"}},
		{name: "dpop in any case", headers: []string{"dPoP  abc "}, want: Credentials{SchemeDPoP, "abc"}},
		{name: "basic", headers: []string{"Basic YTpi"}},
		{name: "none"},
		{name: "empty dpop", headers: []string{"DPoP"}, wantErr: true},
		{name: "two", headers: []string{"DPoP a", "Bearer b"}, wantErr: true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range tt.headers {
			r.Header.Add("Authorization", h)
		}
		got, err := CredentialsFromRequest(r)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: got %+v, %v; want %+v, error %t", tt.name, got, err, tt.want, tt.wantErr)
		}
		// TokenFromRequest is its bearer-only view.
		tok, _ := TokenFromRequest(r)
		if wantTok := map[bool]string{true: tt.want.Token}[tt.want.Scheme == SchemeBearer]; tok != wantTok {
			t.Errorf("%s: TokenFromRequest %q, want %q", tt.name, tok, wantTok)
		}
	}
}

// TestRequireDPoPLogsCopies: a copy of a bound token or of a proof is a
// security event, logged at WARN with whose token it is, never the token.
func TestRequireDPoPLogsCopies(t *testing.T) {
	a := newAuthority(t)
	alice, mallory := newHolder(t), newHolder(t)
	bound := alice.boundToken(t, a)
	var log strings.Builder
	v, err := NewVerifier(Config{JWKSURL: a.srv.URL, Issuer: issuer, Audience: audience, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&log, nil)), DPoP: DPoPConfig{BaseURL: audience}})
	if err != nil {
		t.Fatal(err)
	}
	var got *Claims
	h := protected(v, "", &got)
	proof := alice.proof(t, "GET", resourceURL, bound, "")
	send(h, "GET", resourceURL, "DPoP "+bound, proof)
	for _, r := range []struct{ authorization, proof, want string }{
		{"Bearer " + bound, "", "presented as Bearer"},
		{"DPoP " + bound, mallory.proof(t, "GET", resourceURL, bound, ""), "a proof of another key"},
		{"DPoP " + bound, proof, "a DPoP proof replayed"},
	} {
		log.Reset()
		var proofs []string
		if r.proof != "" {
			proofs = []string{r.proof}
		}
		send(h, "GET", resourceURL, r.authorization, proofs...)
		line := log.String()
		if !strings.Contains(line, "level=WARN") || !strings.Contains(line, r.want) || !strings.Contains(line, "client_id=aries_ci_app") {
			t.Errorf("%s: logged %q", r.want, line)
		}
		if strings.Contains(line, bound) {
			t.Errorf("%s: the token was logged", r.want)
		}
	}
}
