package token_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// The refresh-token policies per client (docs/fapi.md#refresh-token-policy).

// TestRefreshWithoutRotation: a client whose refresh tokens are not rotated
// refreshes with the same token again and again; the answers carry fresh
// access tokens and no refresh_token (RFC 6749 section 5.1), and each use
// slides the token's idle expiry, so it outlives its idle lifetime.
func TestRefreshWithoutRotation(t *testing.T) {
	e := dpopEnv(t, dpop.Config{})
	app := e.client(t, store.Client{Name: "Partner", Scopes: testenv.Scopes(t, "read"),
		DPoPBoundAccessTokens: true, RefreshTokenRotation: store.RotationNone})
	k := newKey(t, e)
	first := e.tokenWith(t, url.Values{"grant_type": {"code"}, "client_id": {app.ID}, "client_secret": {app.Secret},
		"code": {e.code(t, app.ID, nil)}, "redirect_uri": {redirectURI}}, k.proof(t, e, ""))
	wantDPoP(t, first, k)
	if first.RefreshToken == "" {
		t.Fatal("the code exchange gave no refresh token")
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {app.ID}, "client_secret": {app.Secret},
		"refresh_token": {first.RefreshToken}}

	// Three uses 20 days apart: 60 days, twice the idle lifetime.
	seen := map[string]bool{first.AccessToken: true}
	for i := range 3 {
		e.Clock.Add(20 * 24 * time.Hour)
		got := e.tokenWith(t, refresh, k.proof(t, e, ""))
		wantDPoP(t, got, k)
		if got.RefreshToken != "" {
			t.Errorf("use %d: refresh_token %q in the answer, want none", i, got.RefreshToken)
		}
		if seen[got.AccessToken] {
			t.Errorf("use %d: an access token issued before", i)
		}
		seen[got.AccessToken] = true
	}
	if in := e.introspect(t, first.RefreshToken); !in.Active {
		t.Error("the kept refresh token is inactive")
	}
	e.Clock.Add(e.h.RefreshTTL)
	testenv.WantError(t, e.tokenWith(t, refresh, k.proof(t, e, "")), http.StatusBadRequest, protocol.ErrInvalidGrant)
}

// graceClient is a confidential client with a grace window of 30 s.
func graceClient(t *testing.T, e *env) client {
	t.Helper()
	return e.client(t, store.Client{Name: "Mobile backend", Scopes: testenv.Scopes(t, "read"),
		RefreshTokenRotation: store.RotationRotate, RefreshTokenGraceSeconds: 30})
}

// TestRefreshGraceWindow: within the window a retry of a refresh gets the
// refresh token the first got and a fresh access token; after it, the retry
// is a replay and the family is revoked.
func TestRefreshGraceWindow(t *testing.T) {
	e := newEnv(t, rateLimitsOff)
	app := graceClient(t, e)
	first := e.exchange(t, app, e.code(t, app.ID, nil))
	second := e.refresh(t, app, first.RefreshToken, "")
	wantTokens(t, second, true)
	if second.RefreshToken == first.RefreshToken {
		t.Fatal("the refresh token was not rotated")
	}

	e.Clock.Add(10 * time.Second)
	retry := e.refresh(t, app, first.RefreshToken, "")
	wantTokens(t, retry, true)
	if retry.RefreshToken != second.RefreshToken {
		t.Errorf("retry in the window: refresh token %q, want the first refresh's %q", retry.RefreshToken, second.RefreshToken)
	}
	if retry.AccessToken == second.AccessToken {
		t.Error("retry in the window: the same access token, want a fresh one")
	}
	// Asking for more than the grant in a retry is refused and spends
	// nothing.
	wantError(t, e.refresh(t, app, first.RefreshToken, "order:execution"), http.StatusBadRequest, "invalid_scope")

	// Another client (even one with a window) cannot take the child.
	other := graceClient(t, e)
	wantError(t, e.refresh(t, other, first.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
	if in := e.introspect(t, second.RefreshToken); !in.Active {
		t.Fatal("another client's retry revoked the family")
	}

	e.Clock.Add(20 * time.Second) // 30 s after the rotation
	wantError(t, e.refresh(t, app, first.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
	wantError(t, e.refresh(t, app, second.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
	if in := e.introspect(t, retry.AccessToken); in.Active {
		t.Error("the retry's access token is still active after the replay")
	}
}

// TestRefreshGraceConcurrently: 30 concurrent refreshes of one token by a
// client with a grace window all succeed with the same new refresh token,
// the two threads of a mobile app multiplied.
func TestRefreshGraceConcurrently(t *testing.T) {
	e := newEnv(t, rateLimitsOff)
	app := graceClient(t, e)
	first := e.exchange(t, app, e.code(t, app.ID, nil))

	const n = 30
	results := make([]testenv.TokenAnswer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = e.refresh(t, app, first.RefreshToken, "") })
	}
	wg.Wait()
	children := map[string]int{}
	for i, r := range results {
		if r.Status != http.StatusOK || r.RefreshToken == "" {
			t.Errorf("refresh %d: %d %s (%s), want 200 with a refresh token", i, r.Status, r.Error, r.Description)
			continue
		}
		children[r.RefreshToken]++
	}
	if len(children) != 1 {
		t.Fatalf("%d concurrent refreshes got %d different refresh tokens, want 1", n, len(children))
	}
	for child := range children {
		wantTokens(t, e.refresh(t, app, child, ""), true)
	}
}

// TestRefreshGraceNeedsTheKey: a server that lost its grace key, or whose
// instances disagree on the root secret, answers server_error, never a
// token it cannot open.
func TestRefreshGraceNeedsTheKey(t *testing.T) {
	e := newEnv(t, rateLimitsOff)
	app := graceClient(t, e)
	first := e.exchange(t, app, e.code(t, app.ID, nil))
	wantTokens(t, e.refresh(t, app, first.RefreshToken, ""), true)

	e.h.RefreshGraceKey = make([]byte, 32) // another key
	wantError(t, e.refresh(t, app, first.RefreshToken, ""), http.StatusServiceUnavailable, "server_error")
	e.h.RefreshGraceKey = nil
	second := e.exchange(t, app, e.code(t, app.ID, nil))
	wantError(t, e.refresh(t, app, second.RefreshToken, ""), http.StatusServiceUnavailable, "server_error")
	e.h.RefreshGraceKey = e.Master.Keys().RefreshGrace
	wantTokens(t, e.refresh(t, app, second.RefreshToken, ""), true)
}
