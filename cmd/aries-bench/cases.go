package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Pseudo statuses for answers that are wrong although the HTTP status is
// fine, and for requests the bench could not make.
const (
	statusBadAnswer = 1 // 200 without the expected content
	statusNoToken   = 2 // no live refresh token or code left to send
)

func statusLabel(s int) string {
	switch s {
	case 0:
		return "conn"
	case statusBadAnswer:
		return "bad-answer"
	case statusNoToken:
		return "no-token"
	}
	return fmt.Sprint(s)
}

// errSkip marks a case this build of Aries cannot run; the report says why.
type errSkip struct{ why string }

func (e errSkip) Error() string { return e.why }

// benchCase is one kind of request the bench measures.
type benchCase struct {
	name  string
	alias string // a short name for -cases
	// counted cases spend one prepared item (a code) per request, so each
	// measurement is bounded by the items prepared for it.
	counted bool
	// prepare returns the sender for one measurement of at most n
	// requests (n is only used by counted cases).
	prepare func(ctx context.Context, t *target, n int) (sender, error)
	// ariesOnly cases have no floor to compare with (dpop.go).
	ariesOnly bool
	// logged cases run against a second Aries that writes its access log
	// (aries serve --access-log at --log-level info), to be compared with
	// the same requests to the first, which writes none (accessLogPairs).
	logged bool
}

var allCases = []benchCase{
	{name: "client_credentials", alias: "cc", prepare: clientCredentials},
	{name: "refresh_token", alias: "refresh", prepare: refreshToken},
	{name: "code_exchange", alias: "code", counted: true, prepare: codeExchange},
	{name: "api_users_me", alias: "api", prepare: usersMe},
	{name: "introspection", alias: "introspect", prepare: introspection},
	{name: "client_credentials_dpop", alias: "cc-dpop", prepare: clientCredentialsDPoP, ariesOnly: true},
	{name: "refresh_token_dpop", alias: "refresh-dpop", prepare: refreshTokenDPoP, ariesOnly: true},
	{name: "api_users_me_dpop", alias: "api-dpop", prepare: usersMeDPoP, ariesOnly: true},
	{name: "client_credentials_access_log", alias: "cc-log", prepare: clientCredentials, ariesOnly: true, logged: true},
	{name: "client_credentials_private_key_jwt", alias: "cc-pkjwt", prepare: clientCredentialsKeyJWTES256, ariesOnly: true},
	{name: "client_credentials_private_key_jwt_eddsa", alias: "cc-pkjwt-eddsa", prepare: clientCredentialsKeyJWTEdDSA, ariesOnly: true},
	{name: "fapi2_flow", alias: "par", prepare: fapi2Flow, ariesOnly: true},
}

// accessLogPairs names each access-log case with the case it repeats
// against the Aries that logs nothing per request.
var accessLogPairs = [][2]string{
	{"client_credentials", "client_credentials_access_log"},
}

func caseByName(name string) (benchCase, bool) {
	for _, c := range allCases {
		if name == c.name || name == c.alias {
			return c, true
		}
	}
	return benchCase{}, false
}

// clientCredentials: an app acting as itself (RFC 6749 section 4.4), with
// its secret in HTTP Basic.
func clientCredentials(ctx context.Context, t *target, _ int) (sender, error) {
	body := []byte("grant_type=client_credentials&scope=market%3Ainformation")
	return func(ctx context.Context, w int) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/oauth2/token", bytes.NewReader(body))
		if err != nil {
			return 0
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.clientSecret))
		resp, err := t.client.Do(req)
		if err != nil {
			return 0
		}
		drain(resp)
		return resp.StatusCode
	}, nil
}

// refreshToken: each worker rotates its own token, as each signed-in user
// of an app does; the next request needs the previous answer.
func refreshToken(ctx context.Context, t *target, _ int) (sender, error) {
	return func(ctx context.Context, w int) int {
		status, _ := t.rotate(ctx, w)
		return status
	}, nil
}

// codeExchange redeems codes made beforehand (Aries: first-party sign-in;
// the floor: written to its database), with the secret in the body.
func codeExchange(ctx context.Context, t *target, n int) (sender, error) {
	codes, err := t.codes(ctx, n)
	if errors.Is(err, errNoFirstParty) {
		return nil, errSkip{err.Error()}
	}
	if err != nil {
		return nil, err
	}
	queue := make(chan string, len(codes))
	for _, c := range codes {
		queue <- c
	}
	return func(ctx context.Context, w int) int {
		var code string
		select {
		case code = <-queue:
		default:
			return statusNoToken
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"client_id": {t.clientID}, "client_secret": {t.clientSecret}}
		resp, err := t.postForm(ctx, "/v1/oauth2/token", form, false)
		if err != nil {
			return 0
		}
		defer drain(resp)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode
		}
		var tr tokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.RefreshToken == "" || tr.AccessToken == "" {
			return statusBadAnswer
		}
		// A fresh family: a spare for the refresh workers.
		t.mu.Lock()
		t.pool = append(t.pool, tr.RefreshToken)
		t.mu.Unlock()
		return http.StatusOK
	}, nil
}

// accessTokens gives every worker a user access token, by one refresh each.
func accessTokens(ctx context.Context, t *target) error {
	for w := range t.access {
		if t.access[w] != "" {
			continue
		}
		status, tok := t.rotate(ctx, w)
		if status != http.StatusOK {
			return fmt.Errorf("getting an access token from %s: %s", t.name, statusLabel(status))
		}
		t.access[w] = tok
	}
	return nil
}

// usersMe: a protected API call; the server verifies the bearer token and
// its scope (user:information).
func usersMe(ctx context.Context, t *target, _ int) (sender, error) {
	if err := accessTokens(ctx, t); err != nil {
		return nil, err
	}
	send := func(ctx context.Context, w int) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/v1/users/me", nil)
		if err != nil {
			return 0
		}
		req.Header.Set("Authorization", "Bearer "+t.access[w])
		resp, err := t.client.Do(req)
		if err != nil {
			return 0
		}
		drain(resp)
		return resp.StatusCode
	}
	if status := send(ctx, 0); status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		return nil, errSkip{"GET /v1/users/me is not served by this build"}
	}
	return send, nil
}

// introspection: a resource server asks about a user's access token (RFC
// 7662), authenticating with HTTP Basic.
func introspection(ctx context.Context, t *target, _ int) (sender, error) {
	if err := accessTokens(ctx, t); err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(t.access))
	for w, tok := range t.access {
		bodies[w] = []byte(url.Values{"token": {tok}}.Encode())
	}
	return func(ctx context.Context, w int) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/oauth2/introspect", bytes.NewReader(bodies[w]))
		if err != nil {
			return 0
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.clientSecret))
		resp, err := t.client.Do(req)
		if err != nil {
			return 0
		}
		defer drain(resp)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode
		}
		var v struct{ Active bool }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || !v.Active {
			return statusBadAnswer
		}
		return http.StatusOK
	}, nil
}
