package authorize

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
)

// TestLoopbackAnyPort checks RFC 8252 section 7.3 at the authorization
// endpoint: a public (native) client may come back on any loopback port it
// writes out, 1-65535; a confidential client, even one registered on
// loopback, matches exactly (docs/security.md#loopback-redirect-uris).
func TestLoopbackAnyPort(t *testing.T) {
	e := newEnv(t)
	const webID, webRedirect = "aries_ci_web_loopback", "http://127.0.0.1:8976/callback"
	web := store.Client{
		ID: webID, Name: "Local Web App", Type: store.Confidential, SecretHash: "h1$x",
		RedirectURIs: []string{webRedirect}, Scopes: []string{scope.AccountInformation},
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}
	if err := e.store.CreateClient(context.Background(), web); err != nil {
		t.Fatal(err)
	}
	webParams := with(confParams(), "client_id", webID, "redirect_uri", webRedirect, "scope", scope.AccountInformation)

	tests := []struct {
		name     string
		client   string // client_id
		redirect string
		want     bool // true: the sign-in page; false: the redirect_uri_mismatch page
	}{
		{"public, registered port", pubID, pubRedirect, true},
		{"public, other port", pubID, "http://127.0.0.1:51234/cb", true},
		{"public, port 1", pubID, "http://127.0.0.1:1/cb", true},
		{"public, port 65535", pubID, "http://127.0.0.1:65535/cb", true},
		{"public, port 0", pubID, "http://127.0.0.1:0/cb", false},
		{"public, port 99999", pubID, "http://127.0.0.1:99999/cb", false},
		{"public, port 65536", pubID, "http://127.0.0.1:65536/cb", false},
		{"public, no port", pubID, "http://127.0.0.1/cb", false},
		{"public, empty port", pubID, "http://127.0.0.1:/cb", false},
		{"public, other host", pubID, "http://localhost:9000/cb", false},
		{"confidential, registered port", webID, webRedirect, true},
		{"confidential, other port", webID, "http://127.0.0.1:51234/callback", false},
		{"confidential, no port", webID, "http://127.0.0.1/callback", false},
		{"confidential, port 0", webID, "http://127.0.0.1:0/callback", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := with(pubParams(), "redirect_uri", tt.redirect)
			if tt.client == webID {
				params = with(webParams, "redirect_uri", tt.redirect)
			}
			p := e.authorize(params)
			signIn := p.StatusCode == http.StatusOK && strings.Contains(p.body, `action="/login"`)
			mismatch := p.StatusCode == http.StatusBadRequest && p.Header.Get("Location") == "" &&
				strings.Contains(p.body, "<code>redirect_uri_mismatch</code>")
			switch {
			case tt.want && !signIn:
				t.Errorf("got status %d, want the sign-in page:\n%s", p.StatusCode, p.body)
			case !tt.want && !mismatch:
				t.Errorf("got status %d, Location %q, want the redirect_uri_mismatch page:\n%s",
					p.StatusCode, p.Header.Get("Location"), p.body)
			}
		})
	}

	// The code goes back to the port the native app asked for.
	got := e.completeFlow(with(pubParams(), "redirect_uri", "http://127.0.0.1:51234/cb")).redirect
	if got.Host != "127.0.0.1:51234" || got.Query().Get("code") == "" {
		t.Errorf("got redirect %s, want a code sent to 127.0.0.1:51234", got)
	}
}
