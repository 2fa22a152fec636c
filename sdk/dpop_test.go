package aries_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// dpopServer plays an Aries token endpoint and GET /v1/users/me that
// check DPoP proofs with package dpop, as the real server does, and bind
// tokens to the proofs' keys. The end-to-end tests in cmd/aries run the
// SDK against the real server.
type dpopServer struct {
	*httptest.Server
	proofs *dpop.Verifier

	mu       sync.Mutex
	bound    map[string]string // access or refresh token -> jkt
	codes    map[string]string // code -> dpop_jkt ("" for none)
	requests []seen            // what reached the endpoints
	// demandNonce: the number of requests to answer with a nonce
	// challenge before the nonce they carry is looked at.
	demandNonce int
	nonce       string
}

// seen is one request as the server saw it.
type seen struct {
	path, authorization, proof string
	status                     int
}

func newDPoPServer(t *testing.T) *dpopServer {
	t.Helper()
	s := startDPoPServer()
	t.Cleanup(s.Close)
	return s
}

// startDPoPServer starts a dpopServer; the caller closes it.
func startDPoPServer() *dpopServer {
	s := &dpopServer{bound: map[string]string{}, codes: map[string]string{}}
	v, err := dpop.NewVerifier(dpop.Config{})
	if err != nil {
		panic(err)
	}
	s.proofs = v
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", s.token)
	mux.HandleFunc("GET /v1/users/me", s.me)
	s.Server = httptest.NewServer(mux)
	return s
}

// decodeSegment decodes part i of a compact JWS into v, unverified.
func decodeSegment(jws string, i int, v any) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		return
	}
	json.Unmarshal(b, v)
}

func (s *dpopServer) record(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, seen{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("DPoP"), status})
}

// challenge answers a nonce challenge while demandNonce says so, or when a
// nonce is set and the proof lacks it; it reports whether it answered.
func (s *dpopServer) challenge(w http.ResponseWriter, r *http.Request, resource bool) bool {
	s.mu.Lock()
	demand := s.demandNonce > 0
	if demand {
		s.demandNonce--
		s.nonce = rand.Text()
	}
	nonce := s.nonce
	s.mu.Unlock()
	if !demand {
		return false
	}
	w.Header().Set("DPoP-Nonce", nonce)
	if resource {
		w.Header().Set("WWW-Authenticate", `DPoP algs="ES256", error="use_dpop_nonce", error_description="a nonce is required"`)
		oauthError(w, http.StatusUnauthorized, protocol.ErrUseDPoPNonce, "a nonce is required")
	} else {
		oauthError(w, http.StatusBadRequest, protocol.ErrUseDPoPNonce, "a nonce is required")
	}
	s.record(r, 0)
	return true
}

// checkNonce checks that the proof carries the nonce last handed out.
func (s *dpopServer) checkNonce(proof string) bool {
	s.mu.Lock()
	nonce := s.nonce
	s.mu.Unlock()
	return nonce == "" || proofNonce(proof) == nonce
}

func (s *dpopServer) token(w http.ResponseWriter, r *http.Request) {
	if s.challenge(w, r, false) {
		return
	}
	r.ParseForm()
	p, err := s.proofs.Verify(r.Context(), dpop.Request{Proofs: r.Header.Values("DPoP"), Method: r.Method, URL: s.URL + r.URL.Path})
	if err != nil || !s.checkNonce(r.Header.Get("DPoP")) {
		oauthError(w, http.StatusBadRequest, protocol.ErrInvalidDPoPProof, fmt.Sprint(err))
		s.record(r, 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		jkt, ok := s.codes[r.PostForm.Get("code")]
		if !ok || (jkt != "" && jkt != p.JKT) {
			oauthError(w, http.StatusBadRequest, protocol.ErrInvalidGrant, "bad code")
			return
		}
	case "refresh_token":
		if s.bound[r.PostForm.Get("refresh_token")] != p.JKT {
			oauthError(w, http.StatusBadRequest, protocol.ErrInvalidGrant, "refresh token bound to another key")
			return
		}
	}
	access, refresh := "at_"+rand.Text(), "rt_"+rand.Text()
	s.bound[access], s.bound[refresh] = p.JKT, p.JKT
	s.requests = append(s.requests, seen{r.URL.Path, "", r.Header.Get("DPoP"), 200})
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "DPoP", "expires_in": 900,
		"refresh_token": refresh, "scope": "read"})
}

func (s *dpopServer) me(w http.ResponseWriter, r *http.Request) {
	if s.challenge(w, r, true) {
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	jkt, ok := s.bound[tok]
	s.mu.Unlock()
	_, err := s.proofs.Verify(r.Context(), dpop.Request{Proofs: r.Header.Values("DPoP"), Method: r.Method,
		URL: s.URL + r.URL.Path, AccessToken: tok, BoundKey: jkt})
	if scheme != "DPoP" || !ok || err != nil || !s.checkNonce(r.Header.Get("DPoP")) {
		w.Header().Set("WWW-Authenticate", `DPoP algs="ES256", error="invalid_token", error_description="refused"`)
		oauthError(w, http.StatusUnauthorized, protocol.ErrInvalidToken, fmt.Sprint(err))
		s.record(r, 401)
		return
	}
	s.record(r, 200)
	writeJSON(w, http.StatusOK, protocol.User{ID: "usr_1", Email: "trader@example.com"})
}

func (s *dpopServer) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.requests...)
}

// proofNonce reads the nonce claim of a proof, unverified.
func proofNonce(proof string) string {
	var c struct {
		Nonce string `json:"nonce"`
	}
	decodeSegment(proof, 1, &c)
	return c.Nonce
}

// TestDPoPClient: with Config.DPoP a client credentials client gets DPoP
// tokens, sends them with the DPoP scheme and a proof with ath, and one
// key signs everything.
func TestDPoPClient(t *testing.T) {
	srv := newDPoPServer(t)
	c, err := aries.NewClient(aries.Config{ClientID: testClientID, ClientSecret: testSecret, APIURL: srv.URL, DPoP: &aries.DPoP{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Users.Current(context.Background()); err != nil {
		t.Fatalf("Users.Current: %v", err)
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Errorf("token type %q, want DPoP", tok.TokenType)
	}
	got := srv.seen()
	if len(got) != 2 || got[0].path != "/v1/oauth2/token" || got[1].path != "/v1/users/me" {
		t.Fatalf("requests %+v, want the token request then the API call", got)
	}
	if got[1].authorization != "DPoP "+tok.AccessToken {
		t.Errorf("API Authorization %q, want the DPoP scheme", got[1].authorization)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	decodeSegment(got[1].proof, 0, &h)
	if h.Alg != "ES256" {
		t.Errorf("proof alg %q, want ES256 for the key the SDK makes", h.Alg)
	}
	if c.DPoPThumbprint() == "" || srv.bound[tok.AccessToken] != c.DPoPThumbprint() {
		t.Errorf("the token is bound to %q, the client's key is %q", srv.bound[tok.AccessToken], c.DPoPThumbprint())
	}
}

// TestDPoPNonceRetry: a nonce challenge, at the token endpoint (400) or
// the API (401), is answered by one retry with the nonce; the nonce is
// kept for the next requests, and a server that keeps asking gets its
// error back after one retry.
func TestDPoPNonceRetry(t *testing.T) {
	tests := []struct {
		name      string
		demand    int // challenges the server answers first
		wantCalls int // requests the server sees for token + API call
		wantErr   string
	}{
		{name: "no challenge", demand: 0, wantCalls: 2},
		{name: "the token endpoint asks once", demand: 1, wantCalls: 3},
		{name: "the token endpoint asks twice", demand: 2, wantCalls: 2, wantErr: protocol.ErrUseDPoPNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDPoPServer(t)
			srv.demandNonce = tt.demand
			c, err := aries.NewClient(aries.Config{ClientID: testClientID, ClientSecret: testSecret, APIURL: srv.URL, DPoP: &aries.DPoP{}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Users.Current(context.Background())
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Users.Current: %v", err)
			}
			if tt.wantErr != "" {
				var e *aries.Error
				if !errors.As(err, &e) || e.Code != tt.wantErr {
					t.Fatalf("Users.Current: %v, want %s", err, tt.wantErr)
				}
			}
			if got := len(srv.seen()); got != tt.wantCalls {
				t.Errorf("%d requests reached the server, want %d: %+v", got, tt.wantCalls, srv.seen())
			}
		})
	}

	t.Run("the API asks, then the nonce is kept", func(t *testing.T) {
		srv := newDPoPServer(t)
		c, err := aries.NewClient(aries.Config{ClientID: testClientID, ClientSecret: testSecret, APIURL: srv.URL, DPoP: &aries.DPoP{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.mu.Lock()
		srv.demandNonce = 1
		srv.mu.Unlock()
		for i := range 3 {
			if _, err := c.Users.Current(context.Background()); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		got := srv.seen()
		// token, challenge, retry, then two calls carrying the nonce at once.
		if len(got) != 5 || got[1].status != 0 || got[2].status != 200 {
			t.Fatalf("requests %+v", got)
		}
		srv.mu.Lock()
		nonce := srv.nonce
		srv.mu.Unlock()
		for _, r := range got[2:] {
			if proofNonce(r.proof) != nonce {
				t.Errorf("a proof after the challenge carries nonce %q, want %q", proofNonce(r.proof), nonce)
			}
		}
	})
}

// TestDPoPBindsCodeAndRefresh: the authorization URL carries dpop_jkt, the
// code exchange and every refresh are signed by the same key, so a public
// client's refresh tokens stay usable.
func TestDPoPBindsCodeAndRefresh(t *testing.T) {
	srv := newDPoPServer(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	c, err := aries.NewClient(aries.Config{ClientID: testClientID, RedirectURL: "http://127.0.0.1:9/cb", APIURL: srv.URL,
		DPoP: &aries.DPoP{Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.AuthorizationURL("st", aries.WithPKCE(aries.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	jkt := u.Query().Get("dpop_jkt")
	if jkt == "" || jkt != c.DPoPThumbprint() {
		t.Fatalf("dpop_jkt %q, want the client's thumbprint %q", jkt, c.DPoPThumbprint())
	}
	srv.mu.Lock()
	srv.codes["code_1"] = jkt
	srv.mu.Unlock()
	tok, err := c.ExchangeCode(context.Background(), "code_1", aries.WithPKCE(aries.GenerateVerifier()))
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if tok.TokenType != "DPoP" {
		t.Errorf("token type %q", tok.TokenType)
	}
	next, err := c.RefreshToken(context.Background(), tok.RefreshToken)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	// A client with another key cannot use the refresh token.
	other, _ := aries.NewClient(aries.Config{ClientID: testClientID, APIURL: srv.URL, DPoP: &aries.DPoP{}})
	if _, err := other.RefreshToken(context.Background(), next.RefreshToken); !errors.Is(err, aries.ErrRefreshTokenRevoked) {
		t.Errorf("refresh with another key: %v, want ErrRefreshTokenRevoked", err)
	}
	for _, r := range srv.seen() {
		var h struct {
			Alg string `json:"alg"`
		}
		decodeSegment(r.proof, 0, &h)
		if r.status == 200 && h.Alg != "EdDSA" {
			t.Errorf("a proof of the Ed25519 key has alg %q", h.Alg)
		}
	}
}

// TestDPoPWithoutConfig: without Config.DPoP nothing changes: no proof,
// no dpop_jkt.
func TestDPoPWithoutConfig(t *testing.T) {
	c, err := aries.NewClient(aries.Config{ClientID: testClientID, RedirectURL: "http://127.0.0.1:9/cb"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.AuthorizationURL("st"), "dpop_jkt") || c.DPoPThumbprint() != "" {
		t.Error("a client without DPoP sends dpop_jkt")
	}
	if _, err := aries.NewClient(aries.Config{DPoP: &aries.DPoP{Key: ed25519.PrivateKey(make([]byte, 3))}}); err == nil {
		t.Error("a broken key was accepted")
	}
}

// An app that sets Config.DPoP gets tokens bound to its key; its code
// does not change otherwise.
func ExampleDPoP() {
	srv := startDPoPServer()
	defer srv.Close()

	client, err := aries.NewClient(aries.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		APIURL:       srv.URL,
		// A key the SDK makes (ES256); pass Key to use your own.
		DPoP: &aries.DPoP{},
	})
	if err != nil {
		log.Fatal(err)
	}
	me, err := client.Users.Current(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	tok, _ := client.Token(context.Background())
	fmt.Println("user:", me.ID)
	fmt.Println("token type:", tok.TokenType)
	// Output:
	// user: usr_1
	// token type: DPoP
}
