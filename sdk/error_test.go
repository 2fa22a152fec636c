package aries_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/sdk"
)

// answer is an httptest server that answers every request the same way.
func answer(t *testing.T, status int, header map[string]string, body string) *httptest.Server {
	t.Helper()
	srv := answerOnce(status, header, body)
	t.Cleanup(srv.Close)
	return srv
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		header      map[string]string
		body        string
		wantCode    string
		wantMessage string
	}{
		{"401 with body and challenge", 401, map[string]string{"WWW-Authenticate": `Bearer realm="aries", error="invalid_token"`},
			`{"error":"invalid_token","error_description":"the token expired"}`, "invalid_token", "the token expired"},
		{"401 with only a challenge", 401, map[string]string{"WWW-Authenticate": `Bearer realm="aries", error="invalid_token", error_description="signed by an unknown key, or not"`},
			"", "invalid_token", "signed by an unknown key, or not"},
		{"403 insufficient scope", 403, map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope", scope="order:execution"`},
			`{"error":"insufficient_scope","error_description":"this route needs order:execution"}`, "insufficient_scope", "this route needs order:execution"},
		{"API message field", 409, nil, `{"error":"insufficient_funds","message":"cash does not cover the order"}`,
			"insufficient_funds", "cash does not cover the order"},
		{"malformed JSON error body", 502, map[string]string{"Content-Type": "application/json"}, `{"error":`, "", ""},
		{"HTML error page", 503, map[string]string{"Content-Type": "text/html"}, "<h1>Service Unavailable</h1>", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := answer(t, tt.status, tt.header, tt.body)
			c, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: srv.URL}, "at")
			err := c.Do(context.Background(), http.MethodGet, "/v1/users/me", nil, nil)
			var apiErr *aries.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("got %T %v, want *aries.Error", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Code != tt.wantCode || apiErr.Message != tt.wantMessage {
				t.Errorf("got %d %q %q, want %d %q %q", apiErr.StatusCode, apiErr.Code, apiErr.Message, tt.status, tt.wantCode, tt.wantMessage)
			}
			if string(apiErr.Body) != tt.body {
				t.Errorf("body %q, want %q", apiErr.Body, tt.body)
			}
			if tt.header != nil && apiErr.Header.Get("WWW-Authenticate") != tt.header["WWW-Authenticate"] {
				t.Errorf("headers %v: want the response's", apiErr.Header)
			}
		})
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	srv := answer(t, 200, map[string]string{"Content-Type": "application/json"}, `{"id": "usr_1", "email": `)
	c, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: srv.URL}, "at")
	var out struct{ ID string }
	err := c.Do(context.Background(), http.MethodGet, "/v1/users/me", nil, &out)
	if err == nil || !strings.Contains(err.Error(), "decoding") {
		t.Errorf("got %v, want a decoding error", err)
	}
	var apiErr *aries.Error
	if errors.As(err, &apiErr) {
		t.Errorf("got *aries.Error %v for a 200, want a plain decoding error", apiErr)
	}
}

func TestMalformedTokenResponse(t *testing.T) {
	srv := answer(t, 200, map[string]string{"Content-Type": "application/json"}, `{"access_token": 42`)
	c, _ := aries.NewClient(aries.Config{ClientID: "app", ClientSecret: "s", APIURL: srv.URL})
	if _, err := c.ExchangeCode(context.Background(), "code"); err == nil {
		t.Error("got no error for a malformed token response")
	}
	srv = answer(t, 400, map[string]string{"Content-Type": "text/plain"}, `error=invalid_grant&error_description=spent`)
	c, _ = aries.NewClient(aries.Config{ClientID: "app", ClientSecret: "s", APIURL: srv.URL})
	_, err := c.RefreshToken(context.Background(), "rt")
	if !errors.Is(err, aries.ErrRefreshTokenRevoked) {
		t.Errorf("got %v, want ErrRefreshTokenRevoked", err)
	}
}

func TestErrorRetryAfter(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		header http.Header
		min    time.Duration
		max    time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, 7 * time.Second},
		{"HTTP date", http.Header{"Retry-After": {now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, 85 * time.Second, 90 * time.Second},
		{"X-RateLimit-Reset", http.Header{"X-Ratelimit-Reset": {itoa(now.Add(20 * time.Second).Unix())}}, 18 * time.Second, 20 * time.Second},
		{"Retry-After wins", http.Header{"Retry-After": {"3"}, "X-Ratelimit-Reset": {itoa(now.Add(time.Hour).Unix())}}, 3 * time.Second, 3 * time.Second},
		{"reset in the past", http.Header{"X-Ratelimit-Reset": {itoa(now.Add(-time.Minute).Unix())}}, 0, 0},
		{"nothing", http.Header{}, 0, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, 0},
	}
	for _, tt := range tests {
		e := &aries.Error{StatusCode: 429, Header: tt.header}
		if got := e.RetryAfter(); got < tt.min || got > tt.max {
			t.Errorf("%s: RetryAfter %v, want between %v and %v", tt.name, got, tt.min, tt.max)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := &aries.Error{StatusCode: 403, Code: "insufficient_scope", Message: "this route needs order:execution"}
	if got, want := e.Error(), "aries: 403 Forbidden: insufficient_scope: this route needs order:execution"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
