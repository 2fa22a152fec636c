package introspect

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRevocation is RFC 7009 as the token endpoint's clients use it: an
// access token is revoked by its jti alone, a refresh token takes its whole
// grant with it, and an unknown token is answered 200.
func TestRevocation(t *testing.T) {
	e := newEnv(t)
	active := func(tok string) bool {
		t.Helper()
		status, _, body := e.call("/v1/oauth2/introspect", appID, tok)
		if status != http.StatusOK {
			t.Fatalf("introspect: %d %v", status, body)
		}
		return body["active"] == true
	}
	revoke := func(tok string) int {
		t.Helper()
		status, _, _ := e.call("/v1/oauth2/revoke", appID, tok)
		return status
	}
	t.Run("access token by jti", func(t *testing.T) {
		access, refresh := e.tokens(appID)
		if got := revoke(access); got != http.StatusOK {
			t.Fatalf("revoke: %d", got)
		}
		if active(access) {
			t.Error("revoked access token is still active")
		}
		if !active(refresh) {
			t.Error("revoking the access token killed the refresh token too")
		}
	})
	t.Run("refresh token revokes its grant", func(t *testing.T) {
		access, refresh := e.tokens(appID)
		revoke(refresh)
		if active(refresh) || active(access) {
			t.Error("tokens of the revoked grant are still active")
		}
	})
	t.Run("unknown token is 200", func(t *testing.T) {
		if got := revoke("not-a-token"); got != http.StatusOK {
			t.Errorf("revoke unknown token: %d, want 200 (RFC 7009 section 2.2)", got)
		}
	})
}

// TestResourceServerFlagTakesEffect: a client the operator marks as a
// resource server (`aries clients update --resource-server`, which stores
// the flag) is answered about every client's tokens from its next request.
func TestResourceServerFlagTakesEffect(t *testing.T) {
	e := newEnv(t)
	_, refresh := e.tokens(appID)
	if _, _, body := e.call("/v1/oauth2/introspect", otherID, refresh); !cmp.Equal(body, map[string]any{"active": false}) {
		t.Fatalf("before the update: %v, want only active:false", body)
	}
	ctx := context.Background()
	c, err := e.Store.Client(ctx, otherID)
	if err != nil {
		t.Fatal(err)
	}
	c.ResourceServer = true
	if err := e.Store.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if status, _, body := e.call("/v1/oauth2/introspect", otherID, refresh); status != http.StatusOK || body["active"] != true {
		t.Errorf("resource server after update: %d %v, want active", status, body)
	}
}
