package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/registry"
)

// TestAdministratorSettings covers resource_server
// (docs/security.md#who-may-introspect) through the admin API, and the
// registry's refusal of a public first-party client, which the API reports as
// 400 invalid_request.
func TestAdministratorSettings(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)

	var api registry.ClientView
	a := e.call("POST", "/admin/v1/clients", `{"name":"Orders API","resource_server":true,"redirect_uris":["https://api.example/cb"],"scopes":["read admin"]}`, auth)
	a.json(t, &api)
	if a.status != http.StatusCreated || !api.ResourceServer {
		t.Fatalf("create with resource_server: %d %s", a.status, a.body)
	}
	if len(api.Scopes) != 10 || api.Scopes[9] != "admin" {
		t.Errorf("scopes %v: want the value \"read admin\" split into read and admin", api.Scopes)
	}

	steps := []struct {
		name, body string
		want       bool
	}{
		{"other fields leave it alone", `{"name":"Orders API v2"}`, true},
		{"cleared", `{"resource_server":false}`, false},
		{"set again", `{"resource_server":true}`, true},
	}
	for _, s := range steps {
		var got registry.ClientView
		a := e.call("PATCH", "/admin/v1/clients/"+api.ClientID, s.body, auth)
		a.json(t, &got)
		if a.status != http.StatusOK || got.ResourceServer != s.want {
			t.Errorf("%s: %d, resource_server %t, want 200 and %t", s.name, a.status, got.ResourceServer, s.want)
		}
	}

	tests := []struct {
		name, method, path, body string
	}{
		{"create public first-party", "POST", "/admin/v1/clients", `{"name":"SPA","type":"public","first_party":true,"redirect_uris":["http://localhost:5173/cb"],"scopes":["read"]}`},
		{"make a public client first-party", "PATCH", "", `{"first_party":true}`},
	}
	var spa registry.ClientView
	e.call("POST", "/admin/v1/clients", `{"name":"SPA","type":"public","redirect_uris":["http://localhost:5173/cb"],"scopes":["read"]}`, auth).json(t, &spa)
	for _, tt := range tests {
		path := tt.path
		if path == "" {
			path = "/admin/v1/clients/" + spa.ClientID
		}
		a := e.call(tt.method, path, tt.body, auth)
		if a.status != http.StatusBadRequest || a.errorCode(t) != "invalid_request" || !strings.Contains(string(a.body), "a public client cannot be first-party") {
			t.Errorf("%s: %d %s, want 400 invalid_request saying a public client cannot be first-party", tt.name, a.status, a.body)
		}
	}
	if c, _ := e.st.Client(context.Background(), spa.ClientID); c.FirstParty {
		t.Errorf("the public client became first-party")
	}
}
