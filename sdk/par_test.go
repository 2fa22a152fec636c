package aries_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// parServer plays Aries' pushed authorization request endpoint (RFC
// 9126): it records what the client pushed and answers 201, or 400 when
// the redirect URI is not the registered one. cmd/aries runs the SDK
// against the real server.
type parServer struct {
	*httptest.Server
	pushed []url.Values
	proofs []string
}

func newPARServer(t *testing.T) *parServer {
	t.Helper()
	s := &parServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != protocol.PARPath {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		s.pushed = append(s.pushed, r.PostForm)
		s.proofs = append(s.proofs, r.Header.Get(dpop.Header))
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("redirect_uri") != "https://app.example/cb" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(protocol.ErrorResponse{Error: protocol.ErrInvalidRequest, ErrorDescription: "redirect_uri is not one registered for this client"})
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(protocol.PARResponse{RequestURI: protocol.RequestURIPrefix + "aries_ru_abc", ExpiresIn: 60})
	}))
	t.Cleanup(s.Close)
	return s
}

func TestAuthorizationURLContextPushes(t *testing.T) {
	s := newPARServer(t)
	ctx := context.Background()
	cfg := aries.Config{ClientID: "aries_ci_partner", ClientSecret: "aries_cs_s3cret", RedirectURL: "https://app.example/cb",
		Scopes: []string{"read"}, APIURL: s.URL, DPoP: &aries.DPoP{}, PushAuthorizationRequests: true}
	c, err := aries.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	verifier := aries.GenerateVerifier()
	got, err := c.AuthorizationURLContext(ctx, "st", aries.WithPKCE(verifier))
	if err != nil {
		t.Fatal(err)
	}
	want := s.URL + "/oauth2/authorize?client_id=aries_ci_partner&request_uri=" + url.QueryEscape(protocol.RequestURIPrefix+"aries_ru_abc")
	if got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
	if len(s.pushed) != 1 {
		t.Fatalf("%d pushes, want 1", len(s.pushed))
	}
	p := s.pushed[0]
	for k, v := range map[string]string{
		"response_type": "code", "client_id": "aries_ci_partner", "client_secret": "aries_cs_s3cret",
		"redirect_uri": "https://app.example/cb", "scope": "read", "state": "st",
		"code_challenge": aries.S256Challenge(verifier), "code_challenge_method": "S256", "dpop_jkt": c.DPoPThumbprint(),
	} {
		if p.Get(k) != v {
			t.Errorf("pushed %s = %q, want %q", k, p.Get(k), v)
		}
	}
	if s.proofs[0] == "" {
		t.Error("the push carried no DPoP proof; with Config.DPoP it binds the code (RFC 9449 section 10.1)")
	}

	// An error at push time is the server's *Error, with no URL.
	_, err = c.AuthorizationURLContext(ctx, "st", aries.WithRedirectURL("https://evil.example/cb"))
	if e, ok := errors.AsType[*aries.Error](err); !ok || e.StatusCode != http.StatusBadRequest || e.Code != protocol.ErrInvalidRequest {
		t.Errorf("bad redirect URL: %v, want a 400 *Error invalid_request", err)
	}

	// Without PushAuthorizationRequests nothing is pushed.
	cfg.PushAuthorizationRequests = false
	plain, err := aries.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := plain.AuthorizationURLContext(ctx, "st")
	if err != nil || !strings.Contains(u, "redirect_uri=") || len(s.pushed) != 2 {
		t.Errorf("without pushing: %s, %v, %d pushes; want the full URL and no new push", u, err, len(s.pushed))
	}
}
