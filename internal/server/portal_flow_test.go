package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

// The token page sends its requests through the token endpoint itself,
// from the developer's address: they count against the same
// authentication limit as requests sent directly, so the page is no way
// around it.
func TestTokenPageCountsAgainstRateLimits(t *testing.T) {
	f := newFixture(t, rateLimit("authentication=3/1m"))
	app := f.newClient(t, store.Client{Name: "Dev app", OwnerID: f.userID}, "read")
	c := testenv.Browser(t)
	if s := f.signInFrom(t, c, "/docs/try", f.email, f.password); s.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", s.StatusCode)
	}
	page := f.getStep(t, c, f.URL+"/docs/try?"+url.Values{"client_id": {app.ClientID}, "shape": {"client_credentials"}}.Encode())
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Send Client credentials") {
		t.Fatalf("token page: status %d\n%s", page.StatusCode, page.Body)
	}
	for i := 1; i <= 4; i++ {
		s := f.submit(t, c, page, "client_secret", app.ClientSecret, "scope", "market:information")
		want := "200 OK"
		if i == 4 {
			want = "429 Too Many Requests"
		}
		if s.StatusCode != http.StatusOK || !strings.Contains(s.Body, want) {
			t.Fatalf("request %d from the page: status %d, want the page showing %s:\n%s", i, s.StatusCode, want, s.Body)
		}
		if strings.Contains(s.Body, app.ClientSecret) {
			t.Fatalf("request %d: the page shows the client secret", i)
		}
	}
	// The same client from the same address, directly: still limited.
	got := f.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}, app.ClientID, app.ClientSecret)
	if got.Status != http.StatusTooManyRequests {
		t.Errorf("a direct request after the page's: status %d, want 429", got.Status)
	}
}

// RFC 8414 section 2: service_documentation names the portal's docs, and
// they are there.
func TestMetadataPointsAtTheDocs(t *testing.T) {
	f := newFixture(t)
	var meta struct {
		ServiceDocumentation string `json:"service_documentation"`
	}
	resp, err := http.Get(f.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.ServiceDocumentation != f.URL+"/docs" {
		t.Fatalf("service_documentation = %q, want %s/docs", meta.ServiceDocumentation, f.URL)
	}
	docs, err := http.Get(meta.ServiceDocumentation)
	if err != nil {
		t.Fatal(err)
	}
	docs.Body.Close()
	if docs.StatusCode != http.StatusOK || !strings.HasPrefix(docs.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET %s: %d %s", meta.ServiceDocumentation, docs.StatusCode, docs.Header.Get("Content-Type"))
	}
}
