package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestClientsUpdate is `aries clients update ID` (docs/protocol.md#command-line):
// each setting of create is optional, what is not given keeps its value,
// and --json prints what `clients show --json` prints.
func TestClientsUpdate(t *testing.T) {
	dir := t.TempDir()
	id := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Quotes",
		"--redirect-uri", "https://quotes.example/cb", "--scope", "market:information").ClientID

	steps := []struct {
		name   string
		args   []string
		change func(*clientJSON)
	}{
		{"name only", []string{"--name", "Quotes Pro"}, func(c *clientJSON) { c.Name = "Quotes Pro" }},
		{"resource server", []string{"--resource-server"}, func(c *clientJSON) { c.ResourceServer = true }},
		{"redirect URIs replaced", []string{"--redirect-uri", "https://quotes.example/v2", "--redirect-uri", "com.example.quotes:/cb"},
			func(c *clientJSON) { c.RedirectURIs = []string{"https://quotes.example/v2", "com.example.quotes:/cb"} }},
		// The operator counts as an administrator: admin may go on, and
		// the value is split on whitespace like any other.
		{"scopes replaced", []string{"--scope", "trade admin "}, func(c *clientJSON) { c.Scopes = []string{"order:execution", "admin"} }},
		{"first-party", []string{"--first-party"}, func(c *clientJSON) { c.FirstParty = true }},
		{"flags cleared", []string{"--first-party=false", "--resource-server=false"}, func(c *clientJSON) { c.FirstParty, c.ResourceServer = false, false }},
	}
	want := ariesJSON[clientJSON](t, dir, "clients", "show", id)
	for _, step := range steps {
		step.change(&want)
		got := ariesJSON[clientJSON](t, dir, append([]string{"clients", "update", id}, step.args...)...)
		shown := ariesJSON[clientJSON](t, dir, "clients", "show", id)
		if diff := cmp.Diff(shown, got); diff != "" {
			t.Errorf("%s: update --json differs from show --json (-show +update):\n%s", step.name, diff)
		}
		got.UpdatedAt = want.UpdatedAt
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: client after update (-want +got):\n%s", step.name, diff)
		}
	}

	// show --json always prints resource_server, false included.
	raw := ariesJSON[map[string]any](t, dir, "clients", "show", id)
	if v, ok := raw["resource_server"]; !ok || v != false {
		t.Errorf("clients show --json: resource_server = %v (present %t), want false", v, ok)
	}
}

// TestClientsUpdateRefusals: a refused update prints to stderr, exits
// non-zero and changes nothing.
func TestClientsUpdateRefusals(t *testing.T) {
	dir := t.TempDir()
	conf := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Backend",
		"--redirect-uri", "https://app.example/cb", "--scope", "read")
	pub := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "SPA", "--public",
		"--redirect-uri", "http://127.0.0.1:5173/cb", "--scope", "read")
	before := map[string]clientJSON{}
	for _, c := range []clientJSON{conf, pub} {
		before[c.ClientID] = ariesJSON[clientJSON](t, dir, "clients", "show", c.ClientID)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"public client made first-party", []string{"clients", "update", pub.ClientID, "--first-party"}, "a public client cannot be first-party"},
		{"http redirect URI", []string{"clients", "update", conf.ClientID, "--redirect-uri", "http://app.example/cb"}, "use https"},
		{"unknown scope", []string{"clients", "update", conf.ClientID, "--scope", "read everything"}, `unknown scope "everything"`},
		{"empty name", []string{"clients", "update", conf.ClientID, "--name", " "}, "needs a name"},
		{"unknown client", []string{"clients", "update", "aries_ci_nobody", "--name", "x"}, "no client"},
		{"no client id", []string{"clients", "update", "--name", "x"}, "usage: aries clients update CLIENT_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, status := aries(t, dir, tt.args...)
			if status == 0 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("status %d, stdout %q, stderr %q: want failure mentioning %q", status, stdout, stderr, tt.want)
			}
		})
	}
	for id, c := range before {
		if got := ariesJSON[clientJSON](t, dir, "clients", "show", id); !cmp.Equal(got, c) {
			t.Errorf("refused updates changed %s (-before +after):\n%s", c.Name, cmp.Diff(c, got))
		}
	}
}

// TestPublicClientCannotBeFirstParty is
// docs/security.md#first-party-clients-are-confidential at creation.
func TestPublicClientCannotBeFirstParty(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, status := aries(t, dir, "clients", "create", "--name", "SPA", "--public", "--first-party",
		"--redirect-uri", "http://127.0.0.1:5173/cb", "--scope", "read")
	if status == 0 || stdout != "" || !strings.Contains(stderr, "a public client cannot be first-party") {
		t.Errorf("create --public --first-party: status %d, stdout %q, stderr %q; want a refusal", status, stdout, stderr)
	}
	if list := ariesJSON[[]clientJSON](t, dir, "clients", "list"); len(list) != 0 {
		t.Errorf("the refused create left %d clients", len(list))
	}
	rs := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "API", "--resource-server",
		"--redirect-uri", "https://api.example/cb", "--scope", "read")
	if !rs.ResourceServer {
		t.Errorf("create --resource-server: %+v, want resource_server true", rs)
	}
}
