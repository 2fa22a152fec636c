package aries_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	aries "github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/dpop"
)

// assertionRecorder plays the Aries endpoints that authenticate clients
// and checks the private_key_jwt assertion of every request to them
// against pub (RFC 7523 section 3): signature, alg, kid, iss, sub, aud,
// a 60-second life, a jti never seen before, and no secret beside it.
type assertionRecorder struct {
	*httptest.Server
	t        *testing.T
	pub      crypto.PublicKey
	alg, kid string
	// nonceFirst answers the first token request 400 use_dpop_nonce.
	nonceFirst bool

	mu    sync.Mutex
	jtis  map[string]bool
	paths []string
}

func newAssertionRecorder(t *testing.T, pub crypto.PublicKey, alg, kid string) *assertionRecorder {
	a := &assertionRecorder{t: t, pub: pub, alg: alg, kid: kid, jtis: map[string]bool{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *assertionRecorder) serve(w http.ResponseWriter, r *http.Request) {
	params := map[string]string{}
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			a.t.Errorf("%s: body %s is not JSON", r.URL.Path, body)
		}
		for k, v := range m {
			s, _ := v.(string)
			params[k] = s
		}
	} else {
		form, _ := url.ParseQuery(string(body))
		for k := range form {
			params[k] = form.Get(k)
		}
	}
	a.check(r, params)
	a.mu.Lock()
	first := len(a.paths) == 0
	a.paths = append(a.paths, r.URL.Path)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/oauth2/token":
		if a.nonceFirst && first {
			w.Header().Set(dpop.NonceHeader, "nonce-1")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"use_dpop_nonce"}`)
			return
		}
		io.WriteString(w, `{"access_token":"at","token_type":"Bearer","expires_in":900,"refresh_token":"rt"}`)
	case "/v1/oauth2/par":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":60}`)
	case "/v1/oauth2/authorize", "/v1/oauth2/mfa/verify":
		io.WriteString(w, `{"authorization_code":"code"}`)
	default:
		io.WriteString(w, `{}`)
	}
}

func (a *assertionRecorder) check(r *http.Request, p map[string]string) {
	t := a.t
	if p["client_secret"] != "" || r.Header.Get("Authorization") != "" {
		t.Errorf("%s: a secret was sent beside the assertion", r.URL.Path)
	}
	if p["client_assertion_type"] != aries.ClientAssertionType || p["client_id"] != testClientID {
		t.Errorf("%s: client_assertion_type %q client_id %q", r.URL.Path, p["client_assertion_type"], p["client_id"])
	}
	jws, err := jose.ParseSignedCompact(p["client_assertion"], []jose.SignatureAlgorithm{jose.SignatureAlgorithm(a.alg)})
	if err != nil {
		t.Errorf("%s: assertion: %v", r.URL.Path, err)
		return
	}
	if kid := jws.Signatures[0].Protected.KeyID; kid != a.kid {
		t.Errorf("%s: kid %q, want %q", r.URL.Path, kid, a.kid)
	}
	payload, err := jws.Verify(a.pub)
	if err != nil {
		t.Errorf("%s: signature: %v", r.URL.Path, err)
		return
	}
	var c struct {
		Iss, Sub, Aud, Jti string
		Iat, Exp           int64
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Errorf("%s: claims: %v", r.URL.Path, err)
	}
	if c.Iss != testClientID || c.Sub != testClientID || c.Aud != a.URL || c.Exp-c.Iat != 60 || c.Jti == "" {
		t.Errorf("%s: claims %+v: want iss = sub = the client, aud %s, 60 s", r.URL.Path, c, a.URL)
	}
	if d := time.Since(time.Unix(c.Iat, 0)); d < -time.Second || d > 5*time.Second {
		t.Errorf("%s: iat %d is not now", r.URL.Path, c.Iat)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.jtis[c.Jti] {
		t.Errorf("%s: jti %s sent twice", r.URL.Path, c.Jti)
	}
	a.jtis[c.Jti] = true
}

// TestClientKey: a client configured with ClientKey authenticates with a
// fresh private_key_jwt assertion at every endpoint that authenticates
// clients, for each key type, through x/oauth2's token requests and the
// SDK's own.
func TestClientKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, k := range []struct {
		alg string
		key crypto.Signer
	}{{"ES256", ec}, {"EdDSA", ed}, {"PS256", rs}} {
		t.Run(k.alg, func(t *testing.T) {
			srv := newAssertionRecorder(t, k.key.Public(), k.alg, "key-1")
			c, err := aries.NewClient(aries.Config{ClientID: testClientID, ClientKey: k.key, ClientKeyID: "key-1",
				RedirectURL: "https://app.example/cb", APIURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			steps := []func() error{
				func() error { _, err := c.ExchangeCode(ctx, "code"); return err },
				func() error { _, err := c.RefreshToken(ctx, "rt"); return err },
				func() error { _, err := c.Token(ctx); return err }, // client credentials
				func() error { return c.Revoke(ctx, "rt") },
				func() error { _, err := c.PushAuthorizationRequest(ctx, "state"); return err },
				func() error {
					_, err := c.SignIn(ctx, aries.SignInRequest{Email: "ada@example.com", Password: testPassword})
					return err
				},
				func() error { _, err := c.VerifyMFA(ctx, "session", "123456"); return err },
			}
			for i, step := range steps {
				if err := step(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			want := []string{"/v1/oauth2/token", "/v1/oauth2/token", "/v1/oauth2/token", "/v1/oauth2/revoke",
				"/v1/oauth2/par", "/v1/oauth2/authorize", "/v1/oauth2/mfa/verify"}
			if strings.Join(srv.paths, " ") != strings.Join(want, " ") {
				t.Errorf("requests %v, want %v", srv.paths, want)
			}
		})
	}
}

// TestClientKeyDPoPNonceRetry: a token request sent again for a DPoP
// nonce carries a new assertion, since Aries accepts a jti once.
func TestClientKeyDPoPNonceRetry(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := newAssertionRecorder(t, key.Public(), "ES256", "")
	srv.nonceFirst = true
	c, err := aries.NewClient(aries.Config{ClientID: testClientID, ClientKey: key, APIURL: srv.URL, DPoP: &aries.DPoP{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExchangeCode(context.Background(), "code"); err != nil {
		t.Fatal(err)
	}
	if len(srv.paths) != 2 || len(srv.jtis) != 2 {
		t.Errorf("requests %v with %d assertions: want the retry with a new one", srv.paths, len(srv.jtis))
	}
}

// TestClientKeyConfig: configurations the SDK refuses before any call.
func TestClientKeyConfig(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, cfg := range map[string]aries.Config{
		"secret and key": {ClientID: testClientID, ClientSecret: testSecret, ClientKey: ec},
		"no client id":   {ClientKey: ec},
		"P-384":          {ClientID: testClientID, ClientKey: p384},
	} {
		if _, err := aries.NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient accepted it", name)
		}
	}
}
