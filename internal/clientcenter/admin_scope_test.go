package clientcenter

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
)

// exploitScopes are scope values a hand-made form can send to smuggle admin
// past a check that looks at each value whole (the security review's
// finding 2; docs/security.md#admin-is-never-self-granted).
var exploitScopes = []struct {
	name   string
	values []string
}{
	{"one value with a space", []string{"read admin"}},
	{"trailing space", []string{"admin "}},
	{"leading tab", []string{"user:information", "\tadmin"}},
	{"newline", []string{"market:information\nadmin"}},
	{"plain", []string{"read", "admin"}},
}

func TestDeveloperCannotCreateAnAdminApp(t *testing.T) {
	for _, tt := range exploitScopes {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			resp, page := e.signedIn(e.dev).post("/clients", newClientForm("Sneaky", "confidential", "https://app.example/cb", tt.values...))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "only administrators may enable the admin scope") {
				t.Errorf("got status %d, want 400 saying only administrators may enable admin\n%s", resp.StatusCode, page)
			}
			if secretOnPage.MatchString(page) {
				t.Errorf("the refusal page shows a client secret")
			}
			if cs, _ := e.st.Clients(context.Background(), ""); len(cs) != 0 {
				t.Errorf("got %d clients after the refusal, want none: %+v", len(cs), cs)
			}
		})
	}
}

func TestDeveloperCannotEditAdminIn(t *testing.T) {
	for _, tt := range exploitScopes {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c, _ := e.createClient(e.dev, "Mine")
			form := url.Values{"name": {"Mine"}, "redirect_uris": {"https://app.example/cb"}, "scope": tt.values}
			resp, page := e.signedIn(e.dev).post("/clients/"+c.ID, form)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "only administrators may enable the admin scope") {
				t.Errorf("got status %d, want 400 saying only administrators may enable admin\n%s", resp.StatusCode, page)
			}
			if got := e.client(c.ID); !cmp.Equal(got.Scopes, c.Scopes) {
				t.Errorf("got scopes %v after the refusal, want them unchanged: %v", got.Scopes, c.Scopes)
			}
		})
	}
}

// An administrator put admin on a developer's app. The developer can take
// it off, but no edit of theirs keeps it.
func TestDeveloperCannotKeepAdmin(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Granted")
	root := e.signedIn(e.admin)
	resp, page := root.post("/clients/"+c.ID, url.Values{"name": {"Granted"}, "redirect_uris": {"https://app.example/cb"},
		"scope": {"user:information admin"}}) // an administrator's values are split the same way
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("administrator's edit: status %d, want 303\n%s", resp.StatusCode, page)
	}
	if got := e.client(c.ID).Scopes; !cmp.Equal(got, []string{scope.UserInformation, scope.Admin}) {
		t.Fatalf("got scopes %v after the administrator's edit, want user:information and admin", got)
	}

	dev := e.signedIn(e.dev)
	_, page = dev.get("/clients/" + c.ID)
	if !strings.Contains(page, `name="scope" value="admin" checked`) {
		t.Errorf("the developer's settings form hides the admin scope the app has; want it shown checked")
	}
	keep := url.Values{"name": {"Renamed"}, "redirect_uris": {"https://app.example/cb"}, "scope": {"user:information", "admin"}}
	resp, page = dev.post("/clients/"+c.ID, keep)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "only administrators may enable the admin scope") {
		t.Errorf("developer keeping admin: status %d, want 400 with the refusal", resp.StatusCode)
	}
	if got := e.client(c.ID); got.Name != "Granted" {
		t.Errorf("the refused edit renamed the app to %q", got.Name)
	}
	drop := url.Values{"name": {"Renamed"}, "redirect_uris": {"https://app.example/cb"}, "scope": {"user:information"}}
	if resp, _ := dev.post("/clients/"+c.ID, drop); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("developer taking admin off: status %d, want 303", resp.StatusCode)
	}
	if got := e.client(c.ID); got.Name != "Renamed" || slices.Contains(got.Scopes, scope.Admin) {
		t.Errorf("after the developer's edit: %+v, want renamed without admin", got)
	}
}

func TestResourceServerIsAnAdministratorSetting(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "API")
	form := url.Values{"name": {"API"}, "redirect_uris": {"https://app.example/cb"}, "scope": {"read"}, "resource_server": {"1"}}

	// The developer's form has no such box; a hand-made one is ignored.
	dev := e.signedIn(e.dev)
	if _, page := dev.get("/clients/" + c.ID); strings.Contains(page, `name="resource_server"`) {
		t.Errorf("the developer's settings form offers the resource-server setting")
	}
	if resp, _ := dev.post("/clients/"+c.ID, form); resp.StatusCode != http.StatusSeeOther || e.client(c.ID).ResourceServer {
		t.Errorf("developer's edit: status %d, resource server %t; want 303 and no change", resp.StatusCode, e.client(c.ID).ResourceServer)
	}

	root := e.signedIn(e.admin)
	if resp, _ := root.post("/clients/"+c.ID, form); resp.StatusCode != http.StatusSeeOther || !e.client(c.ID).ResourceServer {
		t.Fatalf("administrator's edit: status %d, resource server %t; want 303 and set", resp.StatusCode, e.client(c.ID).ResourceServer)
	}
	// The developer's next edit keeps what the administrator set.
	form.Del("resource_server")
	form.Set("name", "API v2")
	if resp, _ := dev.post("/clients/"+c.ID, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("developer's later edit: status %d, want 303", resp.StatusCode)
	}
	if got := e.client(c.ID); got.Name != "API v2" || !got.ResourceServer {
		t.Errorf("after the developer's edit: name %q, resource server %t; want the rename and the mark kept", got.Name, got.ResourceServer)
	}
}

// A public app cannot be made first-party
// (docs/security.md#first-party-clients-are-confidential), even by an
// administrator; the page says why.
func TestPublicAppCannotBeFirstParty(t *testing.T) {
	e := newEnv(t)
	root := e.signedIn(e.admin)
	form := newClientForm("Pocket", "public", "com.example.pocket:/cb", "read")
	form.Set("first_party", "1")
	resp, page := root.post("/clients", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "a public client cannot be first-party") {
		t.Errorf("public first-party: status %d, want 400 with the refusal\n%s", resp.StatusCode, page)
	}
	if cs, _ := e.st.Clients(context.Background(), ""); len(cs) != 0 {
		t.Errorf("got %d clients after the refusal, want none", len(cs))
	}

	form.Del("first_party")
	resp, _ = root.post("/clients", form)
	cs, _ := e.st.Clients(context.Background(), "")
	if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Type != store.Public {
		t.Fatalf("public app: status %d, clients %+v", resp.StatusCode, cs)
	}
	edit := url.Values{"name": {"Pocket"}, "redirect_uris": {"com.example.pocket:/cb"}, "scope": {"read"}, "first_party": {"1"}}
	resp, page = root.post("/clients/"+cs[0].ID, edit)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "a public client cannot be first-party") {
		t.Errorf("making the public app first-party: status %d, want 400 with the refusal", resp.StatusCode)
	}
	if e.client(cs[0].ID).FirstParty {
		t.Errorf("the public app became first-party")
	}
}
