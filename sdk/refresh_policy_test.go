package aries_test

import (
	"context"
	"testing"

	aries "github.com/ariesexchange/aries/sdk"
)

// TestRefreshWithoutRotationKeepsTheToken: when Aries keeps a client's
// refresh token (docs/fapi.md#refresh-token-policy) its answers carry no
// refresh_token (RFC 6749 section 5.1); the SDK keeps the one it has, in
// the returned Token, in memory and in the Store, and goes on refreshing
// with it.
func TestRefreshWithoutRotationKeepsTheToken(t *testing.T) {
	f := newFakeAries(t)
	f.keepRefresh = true
	rt := f.issueRefresh()

	c, err := aries.NewClient(config(f))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		tok, err := c.RefreshToken(context.Background(), rt)
		if err != nil {
			t.Fatalf("RefreshToken %d: %v", i, err)
		}
		if tok.AccessToken == "" || tok.RefreshToken != rt {
			t.Errorf("RefreshToken %d: access token %q, refresh token %q; want an access token and the refresh token kept", i, tok.AccessToken, tok.RefreshToken)
		}
	}

	f.expiresIn = 30 // inside the one-minute early-refresh window: each call refreshes
	store := &aries.MemoryStore{}
	cfg := config(f)
	cfg.Store = store
	c, err = aries.NewClientFromRefreshToken(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	f.refreshes.Store(0)
	for i := range 3 {
		if err := currentUser(t, c); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		saved, _ := store.Load(context.Background())
		if saved == nil || saved.RefreshToken != rt || saved.AccessToken == "" {
			t.Fatalf("call %d: stored token %+v, want a new access token with the refresh token kept", i, saved)
		}
	}
	if got := f.refreshes.Load(); got != 3 {
		t.Errorf("got %d refreshes, want 3, all with the one refresh token", got)
	}
}
