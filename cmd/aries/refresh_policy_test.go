package main

// The refresh-token policies per client (docs/fapi.md#refresh-token-policy)
// through the real program: a grace window raced on SQLite and across two
// instances on PostgreSQL and Redis, and a refresh token that is not
// rotated.

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// raceRefresh sends n refreshes of tok by c at once, request i to
// servers[i%len(servers)], and checks that all succeed with one and the
// same new refresh token, which it returns.
func raceRefresh(t *testing.T, servers []*testServer, c clientJSON, tok string, n int) string {
	t.Helper()
	results := make([]tokenResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = servers[i%len(servers)].token(t, url.Values{"grant_type": {"refresh_token"},
				"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}, "refresh_token": {tok}})
		})
	}
	close(start)
	wg.Wait()
	children := map[string]int{}
	for i, r := range results {
		if r.Status != http.StatusOK || r.RefreshToken == "" {
			t.Errorf("refresh %d: got %d %s (%s), want 200 with a refresh token", i, r.Status, r.Error, r.Description)
			continue
		}
		children[r.RefreshToken]++
	}
	if len(children) != 1 {
		t.Fatalf("%d concurrent refreshes of one token under a grace window: %d different refresh tokens, want 1", n, len(children))
	}
	for child := range children {
		if child == tok {
			t.Fatal("the refresh token was not rotated")
		}
		return child
	}
	return ""
}

func refreshWith(t *testing.T, at *testServer, c clientJSON, tok string) tokenResult {
	t.Helper()
	return at.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "refresh_token": {tok}})
}

// TestRefreshGraceSQLite: 30 concurrent refreshes of one token by a client
// created with --refresh-grace 30 all get the same new refresh token, on
// the default SQLite store; a client without a window still has exactly one
// winner.
func TestRefreshGraceSQLite(t *testing.T) {
	f := newFixture(t, "--rate-limits-off")
	app := ariesJSON[clientJSON](t, f.dir, "clients", "create", "--name", "Mobile backend",
		"--redirect-uri", f.redirectURI, "--scope", "read", "--refresh-grace", "30")

	first := f.exchangeFor(t, app)
	child := raceRefresh(t, []*testServer{f.testServer}, app, first.RefreshToken, 30)
	wantTokens(t, refreshWith(t, f.testServer, app, child), true)

	// The fixture's client has no window: exactly one winner.
	plain := f.exchangeFor(t, f.conf)
	wins := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 30 {
		wg.Go(func() {
			if r := refreshWith(t, f.testServer, f.conf, plain.RefreshToken); r.Status == http.StatusOK {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("30 concurrent refreshes without a window: %d successes, want 1", wins)
	}
}

// TestRefreshGraceAcrossInstances: the same race spread over two instances
// on one PostgreSQL database and one Redis: every refresh, whichever
// instance serves it, gets the same new refresh token, and another client
// presenting the spent token gets nothing and revokes nothing.
func TestRefreshGraceAcrossInstances(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 2, flags: generous})
	app := clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Mobile backend",
		"--redirect-uri", c.f.redirectURI, "--scope", "read", "--refresh-grace", "30")
	a, b := c.instances[0], c.instances[1]

	first := a.token(t, url.Values{"grant_type": {"code"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"code": {c.f.code(t, app.ClientID, nil)}, "redirect_uri": {c.f.redirectURI}})
	wantTokens(t, first, true)
	child := raceRefresh(t, c.instances, app, first.RefreshToken, 30)

	wantError(t, refreshWith(t, b, c.f.conf, first.RefreshToken), http.StatusBadRequest, protocol.ErrInvalidGrant)
	wantTokens(t, refreshWith(t, a, app, child), true)
}

// TestRefreshWithoutRotationServe: a confidential client created with
// --dpop-bound --refresh-rotation none refreshes with its one refresh
// token again and again; the answers carry none.
func TestRefreshWithoutRotationServe(t *testing.T) {
	f := newFixture(t, "--rate-limits-off")
	app := ariesJSON[clientJSON](t, f.dir, "clients", "create", "--name", "Partner",
		"--redirect-uri", f.redirectURI, "--scope", "read", "--dpop-bound", "--refresh-rotation", "none")
	k := newDPoPKey(t)
	tokenURL := f.URL + protocol.TokenPath
	first := tokenWithProof(t, f.URL, url.Values{"grant_type": {"code"}, "code": {f.code(t, app.ClientID, nil)},
		"redirect_uri": {f.redirectURI}}, k.proof(t, "POST", tokenURL, "", ""), app.ClientID, app.ClientSecret)
	if first.Status != http.StatusOK || first.TokenType != "DPoP" || first.RefreshToken == "" {
		t.Fatalf("code exchange: %d %s (%s), token_type %q, refresh token %t", first.Status, first.Error, first.Description,
			first.TokenType, first.RefreshToken != "")
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}
	for i := range 3 {
		got := tokenWithProof(t, f.URL, refresh, k.proof(t, "POST", tokenURL, "", ""), app.ClientID, app.ClientSecret)
		if got.Status != http.StatusOK || got.TokenType != "DPoP" || got.AccessToken == "" {
			t.Fatalf("refresh %d: %d %s (%s), token_type %q", i, got.Status, got.Error, got.Description, got.TokenType)
		}
		if got.RefreshToken != "" {
			t.Errorf("refresh %d: a refresh_token in the answer, want none (the token is kept)", i)
		}
	}
}

// exchangeFor redeems a fresh code of c at the fixture's server.
func (f *fixture) exchangeFor(t *testing.T, c clientJSON) tokenResult {
	t.Helper()
	got := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"code": {f.code(t, c.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	wantTokens(t, got, true)
	return got
}
