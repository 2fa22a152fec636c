package server

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// fapiClient is a FAPI 2.0 client as `aries clients create --profile
// fapi2 --jwks FILE` registers it: private_key_jwt with its own key, PAR,
// DPoP-bound tokens.
type fapiClient struct {
	ID          string
	key         *ecdsa.PrivateKey
	redirectURI string
}

func (f *fixture) newFAPIClient(t *testing.T, name string) fapiClient {
	t.Helper()
	key, err := dpop.GenerateKey() // a P-256 key, for ES256 assertions
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.newClient(t, store.Client{Name: name, Profile: store.ProfileFAPI2, RequirePAR: true, DPoPBoundAccessTokens: true,
		TokenEndpointAuthMethod: store.AuthPrivateKeyJWT, JWKS: string(jwks), RefreshTokenRotation: store.RotationNone}, "read")
	return fapiClient{ID: c.ClientID, key: key, redirectURI: f.redirectURI}
}

// assertion is a client assertion of c for aud issued at iat (RFC 7523
// section 2.2).
func (c fapiClient) assertion(t *testing.T, aud string, iat time.Time) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: c.key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(jwt.Claims{
		Issuer: c.ID, Subject: c.ID, Audience: jwt.Audience{aud}, ID: rand.Text(),
		IssuedAt: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(iat.Add(time.Minute)),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// auth adds c's private_key_jwt authentication to form.
func (f *fixture) auth(t *testing.T, c fapiClient, form url.Values) url.Values {
	t.Helper()
	form.Set("client_id", c.ID)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", c.assertion(t, f.URL, f.Now()))
	return form
}

// pushParams is a valid FAPI 2.0 authorization request of c.
func (c fapiClient) pushParams() url.Values {
	return url.Values{"response_type": {"code"}, "redirect_uri": {c.redirectURI}, "scope": {"read"}, "state": {"fapi-state"},
		"code_challenge": {fapiChallenge}, "code_challenge_method": {"S256"}}
}

// A PKCE verifier and its S256 challenge (RFC 7636 appendix B).
const (
	fapiVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	fapiChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// post sends form to path with a DPoP proof header when proof is not "".
func (f *fixture) post(t *testing.T, path string, form url.Values, proof string) testenv.Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set(dpop.Header, proof)
	}
	return testenv.Do(t, nil, req)
}

// push pushes params for c and returns the request_uri.
func (f *fixture) push(t *testing.T, c fapiClient, params url.Values) string {
	t.Helper()
	a := f.post(t, protocol.PARPath, f.auth(t, c, params), "")
	var out protocol.PARResponse
	a.Decode(t, &out)
	if a.Status != http.StatusCreated || out.RequestURI == "" {
		t.Fatalf("push: %s, want 201 with a request_uri", a)
	}
	return out.RequestURI
}

// authorizePushed opens the pushed request in a browser signed in as the
// fixture's user and returns the redirect back to the client.
func (f *fixture) authorizePushed(t *testing.T, browser *http.Client, clientID, requestURI string) *url.URL {
	t.Helper()
	return f.authorize(t, browser, url.Values{"client_id": {clientID}, "request_uri": {requestURI}})
}

// fapiCode runs the pushed flow of c to a code.
func (f *fixture) fapiCode(t *testing.T, c fapiClient) string {
	t.Helper()
	loc := f.authorizePushed(t, testenv.Browser(t), c.ID, f.push(t, c, c.pushParams()))
	q := loc.Query()
	if q.Get("code") == "" || q.Get("iss") != f.URL || q.Get("state") != "fapi-state" {
		t.Fatalf("redirect %s: want code, iss=%s and state", loc, f.URL)
	}
	return q.Get("code")
}

// redeem exchanges code for c with a proof from s (none when s is nil).
func (f *fixture) redeem(t *testing.T, c fapiClient, code string, s *dpop.Signer) testenv.TokenAnswer {
	t.Helper()
	form := f.auth(t, c, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {c.redirectURI}, "code_verifier": {fapiVerifier}})
	proof := ""
	if s != nil {
		var err error
		if proof, err = s.Proof(http.MethodPost, f.URL+protocol.TokenPath, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	a := f.post(t, protocol.TokenPath, form, proof)
	out := testenv.TokenAnswer{Status: a.Status, Header: a.Header}
	a.Decode(t, &out)
	return out
}

func newSigner(t *testing.T, alg string, now func() time.Time) *dpop.Signer {
	t.Helper()
	var s *dpop.Signer
	var err error
	if alg == "RS256" {
		k, kerr := rsa.GenerateKey(rand.Reader, 2048)
		if kerr != nil {
			t.Fatal(kerr)
		}
		s, err = dpop.NewSigner(k, alg)
	} else {
		k, kerr := dpop.GenerateKey()
		if kerr != nil {
			t.Fatal(kerr)
		}
		s, err = dpop.NewSigner(k, alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Now = now
	return s
}

// TestFAPI2NegativeCases: the server-side negative tests of the FAPI 2.0
// Security Profile conformance plan that apply to Aries, each against a
// fresh FAPI 2.0 client, with the server's code lifetime set above 60 s
// so that the profile's own cap is what refuses an old code.
func TestFAPI2NegativeCases(t *testing.T) {
	wantRedirectError := func(t *testing.T, f *fixture, loc *url.URL, code string) {
		t.Helper()
		q := loc.Query()
		if q.Get("error") != code || q.Get("code") != "" || q.Get("iss") != f.URL {
			t.Errorf("redirect %s: want error=%s, iss=%s and no code", loc, code, f.URL)
		}
	}
	wantJSON := func(t *testing.T, a testenv.Answer, status int, code string) {
		t.Helper()
		if a.Status != status || a.ErrorCode() != code || a.Header.Get("Location") != "" {
			t.Errorf("got %s (Location %q), want %d %s and no redirect", a, a.Header.Get("Location"), status, code)
		}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture, c fapiClient)
	}{
		{"PAR required: a plain authorization request is refused", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Set("client_id", c.ID)
			wantRedirectError(t, f, f.authorize(t, testenv.Browser(t), q), oauth.InvalidRequest)
		}},
		{"request_uri reuse", func(t *testing.T, f *fixture, c fapiClient) {
			browser := testenv.Browser(t)
			uri := f.push(t, c, c.pushParams())
			if loc := f.authorizePushed(t, browser, c.ID, uri); loc.Query().Get("code") == "" {
				t.Fatalf("first use: %s, want a code", loc)
			}
			wantRedirectError(t, f, f.authorizePushed(t, browser, c.ID, uri), oauth.InvalidRequestURI)
		}},
		{"expired request_uri", func(t *testing.T, f *fixture, c fapiClient) {
			uri := f.push(t, c, c.pushParams())
			f.Clock.Add(61 * time.Second)
			wantRedirectError(t, f, f.authorizePushed(t, testenv.Browser(t), c.ID, uri), oauth.InvalidRequestURI)
		}},
		{"request_uri of another client", func(t *testing.T, f *fixture, c fapiClient) {
			other := f.newFAPIClient(t, "Other partner")
			uri := f.push(t, c, c.pushParams())
			wantRedirectError(t, f, f.authorizePushed(t, testenv.Browser(t), other.ID, uri), oauth.InvalidRequestURI)
			// Still usable by its own client.
			if loc := f.authorizePushed(t, testenv.Browser(t), c.ID, uri); loc.Query().Get("code") == "" {
				t.Errorf("own client after another's attempt: %s, want a code", loc)
			}
		}},
		{"missing PKCE", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Del("code_challenge")
			q.Del("code_challenge_method")
			wantJSON(t, f.post(t, protocol.PARPath, f.auth(t, c, q), ""), 400, oauth.InvalidRequest)
		}},
		{"plain PKCE", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Set("code_challenge_method", "plain")
			wantJSON(t, f.post(t, protocol.PARPath, f.auth(t, c, q), ""), 400, oauth.InvalidRequest)
		}},
		{"pushed request containing request_uri", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Set("request_uri", protocol.RequestURIPrefix+"aries_ru_x")
			wantJSON(t, f.post(t, protocol.PARPath, f.auth(t, c, q), ""), 400, oauth.InvalidRequest)
		}},
		{"invalid redirect_uri at push time is a JSON error", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Set("redirect_uri", "https://attacker.example/cb")
			wantJSON(t, f.post(t, protocol.PARPath, f.auth(t, c, q), ""), 400, oauth.InvalidRequest)
		}},
		{"response_type other than code", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Set("response_type", "code id_token")
			wantJSON(t, f.post(t, protocol.PARPath, f.auth(t, c, q), ""), 400, oauth.UnsupportedResponseType)
		}},
		{"client assertion with the wrong aud", func(t *testing.T, f *fixture, c fapiClient) {
			q := f.auth(t, c, c.pushParams())
			q.Set("client_assertion", c.assertion(t, "https://other-server.example", f.Now()))
			wantJSON(t, f.post(t, protocol.PARPath, q, ""), 401, oauth.InvalidClient)
		}},
		{"client assertion reused", func(t *testing.T, f *fixture, c fapiClient) {
			q := f.auth(t, c, c.pushParams())
			if a := f.post(t, protocol.PARPath, q, ""); a.Status != http.StatusCreated {
				t.Fatalf("first push: %s", a)
			}
			wantJSON(t, f.post(t, protocol.PARPath, q, ""), 401, oauth.InvalidClient)
		}},
		{"client secret instead of private_key_jwt", func(t *testing.T, f *fixture, c fapiClient) {
			q := c.pushParams()
			q.Set("client_id", c.ID)
			q.Set("client_secret", "aries_cs_guess")
			wantJSON(t, f.post(t, protocol.PARPath, q, ""), 401, oauth.InvalidClient)
		}},
		{"token request without DPoP", func(t *testing.T, f *fixture, c fapiClient) {
			code := f.fapiCode(t, c)
			if got := f.redeem(t, c, code, nil); got.Status != 400 || got.Error != protocol.ErrInvalidDPoPProof {
				t.Errorf("without a proof: %d %s, want 400 invalid_dpop_proof", got.Status, got.Error)
			}
			// The refusal left the code usable.
			if got := f.redeem(t, c, code, newSigner(t, "", f.Now)); got.Status != 200 || got.TokenType != protocol.TokenTypeDPoP {
				t.Errorf("then with a proof: %d %s %s, want 200 DPoP", got.Status, got.TokenType, got.Error)
			}
		}},
		{"DPoP proof 11 s in the future", func(t *testing.T, f *fixture, c fapiClient) {
			code := f.fapiCode(t, c)
			ahead := func(d time.Duration) func() time.Time { return func() time.Time { return f.Now().Add(d) } }
			if got := f.redeem(t, c, code, newSigner(t, "", ahead(11*time.Second))); got.Status != 400 || got.Error != protocol.ErrInvalidDPoPProof {
				t.Errorf("11 s ahead: %d %s, want 400 invalid_dpop_proof", got.Status, got.Error)
			}
			if got := f.redeem(t, c, code, newSigner(t, "", ahead(10*time.Second))); got.Status != 200 {
				t.Errorf("10 s ahead: %d %s, want 200", got.Status, got.Error)
			}
		}},
		{"DPoP proof signed RS256", func(t *testing.T, f *fixture, c fapiClient) {
			code := f.fapiCode(t, c)
			if got := f.redeem(t, c, code, newSigner(t, "RS256", f.Now)); got.Status != 400 || got.Error != protocol.ErrInvalidDPoPProof {
				t.Errorf("RS256: %d %s, want 400 invalid_dpop_proof", got.Status, got.Error)
			}
		}},
		{"code older than 60 s", func(t *testing.T, f *fixture, c fapiClient) {
			code := f.fapiCode(t, c)
			f.Clock.Add(61 * time.Second)
			if got := f.redeem(t, c, code, newSigner(t, "", f.Now)); got.Status != 400 || got.Error != oauth.InvalidGrant {
				t.Errorf("after 61 s: %d %s, want 400 invalid_grant", got.Status, got.Error)
			}
		}},
		{"bearer use of a bound token at the API", func(t *testing.T, f *fixture, c fapiClient) {
			s := newSigner(t, "", f.Now)
			tok := f.redeem(t, c, f.fapiCode(t, c), s)
			if tok.Status != 200 || tok.TokenType != protocol.TokenTypeDPoP {
				t.Fatalf("token: %d %s %s, want a DPoP token", tok.Status, tok.TokenType, tok.Error)
			}
			if a := testenv.Call(t, f.URL, "GET", "/v1/users/me", tok.AccessToken, nil); a.Status != 401 || a.ErrorCode() != oauth.InvalidToken {
				t.Errorf("as Bearer: %s, want 401 invalid_token", a)
			}
			proof, err := s.Proof("GET", f.URL+"/v1/users/me", tok.AccessToken, "")
			if err != nil {
				t.Fatal(err)
			}
			a := testenv.Call(t, f.URL, "GET", "/v1/users/me", "", nil, "Authorization", "DPoP "+tok.AccessToken, "DPoP", proof)
			if a.Status != 200 {
				t.Errorf("as DPoP with a proof: %s, want 200", a)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, generous, func(c *Config) { c.CodeTTL = 5 * time.Minute })
			tt.run(t, f, f.newFAPIClient(t, "Partner"))
		})
	}
}
