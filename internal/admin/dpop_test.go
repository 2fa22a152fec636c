package admin

import (
	"net/http"
	"testing"

	"github.com/ariesexchange/aries/internal/registry"
)

// TestDPoPBoundSetting: dpop_bound_access_tokens (RFC 9449 section 5.2)
// through the admin API: set on create, changed by PATCH, kept when a
// PATCH does not name it.
func TestDPoPBoundSetting(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)

	var c registry.ClientView
	a := e.call("POST", "/admin/v1/clients", `{"name":"Trading bot","redirect_uris":["https://bot.example/cb"],"scopes":["trade"],"dpop_bound_access_tokens":true}`, auth)
	a.json(t, &c)
	if a.status != http.StatusCreated || !c.DPoPBoundAccessTokens {
		t.Fatalf("create: %d %s; want 201 with dpop_bound_access_tokens true", a.status, a.body)
	}
	steps := []struct {
		name, body string
		want       bool
	}{
		{"another field leaves it", `{"name":"Trading bot 2"}`, true},
		{"cleared", `{"dpop_bound_access_tokens":false}`, false},
		{"set", `{"dpop_bound_access_tokens":true}`, true},
	}
	for _, s := range steps {
		if a := e.call("PATCH", "/admin/v1/clients/"+c.ClientID, s.body, auth); a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", s.name, a.status, a.body)
		}
		var got registry.ClientView
		e.call("GET", "/admin/v1/clients/"+c.ClientID, "", auth).json(t, &got)
		if got.DPoPBoundAccessTokens != s.want {
			t.Errorf("%s: dpop_bound_access_tokens %t, want %t", s.name, got.DPoPBoundAccessTokens, s.want)
		}
	}
}
