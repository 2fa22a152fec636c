package clientcenter

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDPoPBoundForm: the developer who manages an app turns
// dpop_bound_access_tokens on and off on its page (RFC 9449 section 5.2):
// it only takes bearer tokens away from the app, so it is not an
// administrator's setting.
func TestDPoPBoundForm(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(e.dev, "Trading bot")
	b := e.signedIn(e.dev)
	if _, page := b.get("/clients/" + c.ID); !strings.Contains(page, `name="dpop_bound_access_tokens"`) {
		t.Fatal("the app page has no DPoP setting")
	}
	form := url.Values{"name": {"Trading bot"}, "redirect_uris": {"https://app.example/cb"}, "scope": {c.Scopes[0]}}
	for _, on := range []bool{true, false} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if on {
			f.Set("dpop_bound_access_tokens", "1")
		}
		if resp, page := b.post("/clients/"+c.ID, f); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save with DPoP %t: %d\n%s", on, resp.StatusCode, page)
		}
		if got := e.client(c.ID).DPoPBoundAccessTokens; got != on {
			t.Errorf("after saving with the box %t: stored %t", on, got)
		}
		_, page := b.get("/clients/" + c.ID)
		if checked := strings.Contains(page, `name="dpop_bound_access_tokens" value="1" checked`); checked != on {
			t.Errorf("the page shows the box checked %t, want %t", checked, on)
		}
	}
	// A new app may be registered DPoP-bound.
	resp, _ := b.post("/clients", url.Values{"name": {"Bound from the start"}, "type": {"public"},
		"redirect_uris": {"http://127.0.0.1:9/cb"}, "scope": {c.Scopes[0]}, "dpop_bound_access_tokens": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	id := strings.TrimPrefix(location(resp), "/clients/")
	if i := strings.IndexAny(id, "/?"); i >= 0 {
		id = id[:i]
	}
	if !e.client(id).DPoPBoundAccessTokens {
		t.Errorf("registered app %s is not DPoP-bound", id)
	}
}
