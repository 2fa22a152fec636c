package authorize

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
)

// TestAdminOnlyThroughTrustedClients drives the browser flow: an
// administrator asking for admin through a developer's app is sent back
// with invalid_scope, state and iss (RFC 6749 section 4.1.2.1, RFC 9207),
// and is shown the consent page through an app an administrator vouches for.
func TestAdminOnlyThroughTrustedClients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk := func(id, owner string, firstParty bool) {
		c := store.Client{ID: id, Name: "App " + id, Type: store.Confidential, SecretHash: "h1$x", FirstParty: firstParty,
			RedirectURIs: []string{confRedirect}, Scopes: []string{scope.UserInformation, scope.Admin}, OwnerID: owner,
			CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
		if err := e.store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	mk("aries_ci_devs", e.user.ID, false)
	mk("aries_ci_roots", "usr_root", false)
	mk("aries_ci_devfp", e.user.ID, true)
	e.signIn(adminEmail, userPassword)

	p := e.authorize(with(with(confParams(), "client_id", "aries_ci_devs"), "scope", "admin"))
	q := p.location().Query()
	if p.StatusCode != http.StatusFound || q.Get("error") != oauth.InvalidScope || q.Get("state") != "st-123" ||
		q.Get("iss") != e.srv.URL || q.Has("code") {
		t.Errorf("admin through a developer's app: status %d, Location %q; want invalid_scope with state and iss",
			p.StatusCode, p.Header.Get("Location"))
	}
	for _, id := range []string{"aries_ci_roots", "aries_ci_devfp"} {
		p := e.authorize(with(with(confParams(), "client_id", id), "scope", "admin"))
		if p.StatusCode != http.StatusOK || !strings.Contains(p.body, "Administer Aries") {
			t.Errorf("admin through %s: status %d, Location %q; want the consent page", id, p.StatusCode, p.Header.Get("Location"))
		}
	}

	// The consent form is checked again when it comes back: the
	// first-party mark was taken away while the page was open.
	consent := e.authorize(with(with(confParams(), "client_id", "aries_ci_devfp"), "scope", "admin"))
	c, err := e.store.Client(ctx, "aries_ci_devfp")
	if err != nil {
		t.Fatal(err)
	}
	c.FirstParty = false
	if err := e.store.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	p = e.decide(consent, "approve")
	if q := p.location().Query(); q.Get("error") != oauth.InvalidScope || q.Has("code") {
		t.Errorf("approving after the mark was removed: Location %q, want invalid_scope and no code", p.Header.Get("Location"))
	}
}
