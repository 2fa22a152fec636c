package portal

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/ariesexchange/aries/internal/store"
)

const issuer = "http://aries.test"

// sessions signs in whoever sends the cookie "who" naming a known user.
type sessions map[string]store.User

func (s sessions) CurrentUser(r *http.Request) (store.User, bool, error) {
	c, err := r.Cookie("who")
	if err != nil {
		return store.User{}, false, nil
	}
	u, ok := s[c.Value]
	return u, ok, nil
}

type clientList []store.Client

func (l clientList) Clients(_ context.Context, owner string) ([]store.Client, error) {
	var out []store.Client
	for _, c := range l {
		if owner == "" || c.OwnerID == owner {
			out = append(out, c)
		}
	}
	return out, nil
}

// endpoint stands in for the token, revocation and introspection endpoints
// and keeps the requests it got.
type endpoint struct {
	mu   sync.Mutex
	seen []*http.Request
	body []url.Values
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	e.mu.Lock()
	e.seen = append(e.seen, r)
	e.body = append(e.body, r.PostForm)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-RateLimit-Remaining", "9")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "the code is unknown or was already used"})
}

func (e *endpoint) requests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen)
}

type portalFixture struct {
	srv     *httptest.Server
	backend *endpoint
}

func newPortal(t *testing.T) *portalFixture {
	t.Helper()
	backend := &endpoint{}
	h := &Handler{
		Issuer: issuer,
		Docs:   fstest.MapFS{"README.md": {Data: []byte("# Docs\n\n[Quick Start](quickstart.md)\n")}, "quickstart.md": {Data: []byte("# Quick Start\n\nHello <script>x</script>\n")}},
		Sessions: sessions{
			"dev":   {ID: "u-dev", Email: "dev@example.com"},
			"other": {ID: "u-other", Email: "other@example.com"},
		},
		Clients: clientList{
			{ID: "aries_ci_mine", Name: "Mine", Type: store.Confidential, OwnerID: "u-dev", RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"user:information", "admin"}},
			{ID: "aries_ci_spa", Name: "My SPA", Type: store.Public, OwnerID: "u-dev", RedirectURIs: []string{"http://127.0.0.1:5173/cb"}, Scopes: []string{"user:information"}},
			{ID: "aries_ci_theirs", Name: "Theirs", Type: store.Confidential, OwnerID: "u-other", RedirectURIs: []string{"https://other.example/cb"}},
		},
		Backend: backend,
	}
	mux := http.NewServeMux()
	if err := h.Register(mux); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &portalFixture{srv: srv, backend: backend}
}

// page GETs path as user ("" for nobody) and returns the answer, its body
// and the CSRF token of its form.
func (f *portalFixture) page(t *testing.T, user, path string) (*http.Response, string, string, []*http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	if user != "" {
		req.AddCookie(&http.Cookie{Name: "who", Value: user})
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var token string
	if m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(string(b)); m != nil {
		token = m[1]
	}
	return resp, string(b), token, resp.Cookies()
}

func (f *portalFixture) post(t *testing.T, user string, form url.Values, cookies []*http.Cookie, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/docs/try", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.AddCookie(&http.Cookie{Name: "who", Value: user})
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestPagesHaveTheHostedPagesHeaders(t *testing.T) {
	f := newPortal(t)
	for _, path := range []string{"/", "/docs", "/docs/quickstart", "/docs/api"} {
		resp, body, _, _ := f.page(t, "", path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
			continue
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q", path, resp.Header.Get("X-Frame-Options"))
		}
		if strings.Contains(body, "<script") {
			t.Errorf("GET %s: the page has a script", path)
		}
	}
	_, home, _, _ := f.page(t, "", "/")
	for _, link := range []string{`href="/login?return_to=%2Fclients"`, `href="/clients"`, `href="/docs"`} {
		if !strings.Contains(home, link) {
			t.Errorf("the landing page lacks %s", link)
		}
	}
	if resp, _, _, _ := f.page(t, "", "/docs/no-such-page"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /docs/no-such-page: status %d, want 404", resp.StatusCode)
	}
	resp, _, _, _ := f.page(t, "", "/openapi.json")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Errorf("GET /openapi.json: %d %s", resp.StatusCode, ct)
	}
}

func TestTryNeedsSignIn(t *testing.T) {
	f := newPortal(t)
	resp, _, _, _ := f.page(t, "", "/docs/try")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/login?return_to=%2Fdocs%2Ftry" {
		t.Errorf("GET /docs/try signed out: %d Location %q, want 302 to the sign-in", resp.StatusCode, loc)
	}
}

func TestTryListsOnlyTheDevelopersApps(t *testing.T) {
	f := newPortal(t)
	_, body, token, cookies := f.page(t, "dev", "/docs/try?client_id=aries_ci_mine")
	if !strings.Contains(body, "aries_ci_mine") || !strings.Contains(body, "aries_ci_spa") {
		t.Errorf("the developer's apps are not listed:\n%s", body)
	}
	if strings.Contains(body, "aries_ci_theirs") {
		t.Error("another developer's app is listed")
	}
	// Naming someone else's app in the form does not send anything in its name.
	resp, body := f.post(t, "dev", url.Values{"csrf_token": {token}, "client_id": {"aries_ci_theirs"}, "shape": {"client_credentials"},
		"client_secret": {"guess"}, "scope": {"read"}}, cookies, f.srv.URL)
	if resp.StatusCode != http.StatusBadRequest || f.backend.requests() != 0 {
		t.Errorf("POST for another developer's app: status %d, %d requests sent; want 400 and none", resp.StatusCode, f.backend.requests())
	}
	if strings.Contains(body, "aries_ci_theirs") {
		t.Error("the answer names the other developer's app")
	}
}

func TestTryRefusesCrossOriginAndMissingToken(t *testing.T) {
	f := newPortal(t)
	_, _, token, cookies := f.page(t, "dev", "/docs/try?client_id=aries_ci_mine&shape=client_credentials")
	form := url.Values{"csrf_token": {token}, "client_id": {"aries_ci_mine"}, "shape": {"client_credentials"}, "client_secret": {"s"}}
	if resp, _ := f.post(t, "dev", form, cookies, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST from another origin: status %d, want 403", resp.StatusCode)
	}
	noToken := url.Values{"client_id": {"aries_ci_mine"}, "shape": {"client_credentials"}, "client_secret": {"s"}}
	if resp, _ := f.post(t, "dev", noToken, cookies, f.srv.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: status %d, want 403", resp.StatusCode)
	}
	if n := f.backend.requests(); n != 0 {
		t.Errorf("%d requests reached the endpoint, want none", n)
	}
}

func TestTrySendsTheRequestAndNeverShowsTheSecret(t *testing.T) {
	f := newPortal(t)
	const secret = "aries_cs_TYPED-BY-THE-DEVELOPER"
	_, page, token, cookies := f.page(t, "dev", "/docs/try?client_id=aries_ci_mine&shape=authorization_code")
	if !strings.Contains(page, "/oauth2/authorize?") || !strings.Contains(page, "code_challenge=") {
		t.Error("the code exchange offers no sign-in link with a PKCE challenge")
	}
	form := url.Values{"csrf_token": {token}, "client_id": {"aries_ci_mine"}, "shape": {"authorization_code"},
		"client_secret": {secret}, "code": {"the-code"}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {""}}
	resp, body := f.post(t, "dev", form, cookies, f.srv.URL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	if f.backend.requests() != 1 {
		t.Fatalf("%d requests sent, want 1", f.backend.requests())
	}
	got := f.backend.seen[0]
	if id, pw, ok := got.BasicAuth(); !ok || id != "aries_ci_mine" || pw != secret {
		t.Errorf("the endpoint got Basic %q %q %v, want the app and the typed secret", id, pw, ok)
	}
	if got.URL.Path != "/v1/oauth2/token" || got.Method != "POST" {
		t.Errorf("sent %s %s", got.Method, got.URL.Path)
	}
	if host, _, _ := strings.Cut(got.RemoteAddr, ":"); host != "127.0.0.1" {
		t.Errorf("sent from %q, want the developer's address", got.RemoteAddr)
	}
	if b := f.backend.body[0]; b.Get("grant_type") != "authorization_code" || b.Get("code") != "the-code" || b.Has("client_secret") {
		t.Errorf("sent body %v", b)
	}
	if strings.Contains(body, secret) {
		t.Error("the page shows the client secret")
	}
	for _, want := range []string{`-u &#34;aries_ci_mine:$CLIENT_SECRET&#34;`, "invalid_grant", "400 Bad Request", "X-Ratelimit-Remaining: 9"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s:\n%s", want, body)
		}
	}
}

func TestTryPublicAppSendsClientIDOnly(t *testing.T) {
	f := newPortal(t)
	_, _, token, cookies := f.page(t, "dev", "/docs/try?client_id=aries_ci_spa&shape=refresh_token")
	form := url.Values{"csrf_token": {token}, "client_id": {"aries_ci_spa"}, "shape": {"refresh_token"}, "refresh_token": {"rt"}}
	if resp, body := f.post(t, "dev", form, cookies, f.srv.URL); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	got := f.backend.seen[0]
	if _, _, ok := got.BasicAuth(); ok {
		t.Error("a public app's request carried Basic authentication")
	}
	if b := f.backend.body[0]; b.Get("client_id") != "aries_ci_spa" || b.Get("grant_type") != "refresh_token" || b.Get("refresh_token") != "rt" {
		t.Errorf("sent body %v", b)
	}
	// Client credentials need a secret: the page does not send them for a public app.
	form.Set("shape", "client_credentials")
	if resp, _ := f.post(t, "dev", form, cookies, f.srv.URL); resp.StatusCode != http.StatusBadRequest || f.backend.requests() != 1 {
		t.Errorf("client credentials for a public app: status %d, %d requests; want 400 and no new request", resp.StatusCode, f.backend.requests())
	}
}
