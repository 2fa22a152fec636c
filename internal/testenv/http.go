package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Answer is an endpoint's answer, its body read.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a Answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.Body) }

// Decode decodes the JSON body into v.
func (a Answer) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("status %d: body %q is not the JSON expected: %v", a.Status, a.Body, err)
	}
}

// ErrorCode returns the "error" of a JSON error body, "" if none.
func (a Answer) ErrorCode() string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(a.Body, &e)
	return e.Error
}

// Do sends req with client (http.DefaultClient when nil) and reads the
// answer.
func Do(t testing.TB, client *http.Client, req *http.Request) Answer {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Post sends body with contentType to u, with HTTP Basic client
// authentication when basic is an id and a secret.
func Post(t testing.TB, u, contentType, body string, basic ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if len(basic) == 2 {
		// RFC 6749 section 2.3.1: the id and secret are form-encoded first.
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return Do(t, nil, req)
}

// Call sends method path to base with the bearer token (none when "") and
// body (JSON-encoded unless nil); extra is header name, value pairs.
func Call(t testing.TB, base, method, path, token string, body any, extra ...string) Answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Add(extra[i], extra[i+1])
	}
	return Do(t, nil, req)
}

// TokenAnswer is any answer of the token endpoint (RFC 6749 sections 5.1
// and 5.2).
type TokenAnswer struct {
	Status       int
	Header       http.Header
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// PostToken posts body to the token endpoint path of base and decodes the
// answer.
func PostToken(t testing.TB, base, path, contentType, body string, basic ...string) TokenAnswer {
	t.Helper()
	a := Post(t, base+path, contentType, body, basic...)
	r := TokenAnswer{Status: a.Status, Header: a.Header}
	if len(a.Body) > 0 {
		if err := json.Unmarshal(a.Body, &r); err != nil {
			t.Fatalf("POST %s: %d, body is not JSON: %s", path, a.Status, a.Body)
		}
	}
	return r
}

// Token posts a form to base's /v1/oauth2/token.
func Token(t testing.TB, base string, form url.Values, basic ...string) TokenAnswer {
	t.Helper()
	return PostToken(t, base, "/v1/oauth2/token", "application/x-www-form-urlencoded", form.Encode(), basic...)
}

// WantError checks an error answer's status and code.
func WantError(t testing.TB, got TokenAnswer, status int, code string) {
	t.Helper()
	if got.Status != status || got.Error != code {
		t.Errorf("got %d %q (%s), want %d %q", got.Status, got.Error, got.Description, status, code)
	}
}

// WantTokens checks a successful token response, with a refresh token
// or without.
func WantTokens(t testing.TB, got TokenAnswer, refresh bool) {
	t.Helper()
	if got.Status != http.StatusOK {
		t.Fatalf("got %d %s: %s, want 200", got.Status, got.Error, got.Description)
	}
	if got.AccessToken == "" || got.TokenType != "Bearer" || got.ExpiresIn <= 0 || got.Scope == "" {
		t.Errorf("incomplete token response: %+v", got)
	}
	if refresh != (got.RefreshToken != "") {
		t.Errorf("refresh_token present = %t, want %t", got.RefreshToken != "", refresh)
	}
	if cc := got.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

// Introspection is the RFC 7662 answer.
type Introspection struct {
	Active   bool     `json:"active"`
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	Sub      string   `json:"sub"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

// Introspect asks base's /v1/oauth2/introspect about tok as the client
// clientID with its secret (HTTP Basic), and fails the test unless the
// answer is 200.
func Introspect(t testing.TB, base, clientID, secret, tok string) Introspection {
	t.Helper()
	a := Post(t, base+"/v1/oauth2/introspect", "application/x-www-form-urlencoded",
		url.Values{"token": {tok}}.Encode(), clientID, secret)
	if a.Status != http.StatusOK {
		t.Fatalf("introspect: %s", a)
	}
	var in Introspection
	a.Decode(t, &in)
	return in
}
