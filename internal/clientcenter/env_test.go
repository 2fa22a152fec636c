package clientcenter

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/authorize"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/internal/web"
)

const testPassword = "correct horse battery"

// env is the hosted sign-in and the Client Center over a real SQLite
// store, with three users: two developers and an administrator.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	st     testenv.Backend
	hasher *secret.Hasher
	dev    store.User // ada, a developer
	other  store.User // bob, another developer
	admin  store.User
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := testenv.New(t, testenv.NoUser())
	st, passwords := te.Store, te.Passwords
	e := &env{
		t:      t,
		st:     st,
		hasher: te.Hasher,
		dev:    te.NewUser(store.User{ID: "usr_ada", Email: "ada@example.com"}, testPassword),
		other:  te.NewUser(store.User{ID: "usr_bob", Email: "bob@example.com"}, testPassword),
		admin:  te.NewUser(store.User{ID: "usr_root", Email: "root@example.com", Admin: true}, testPassword),
	}
	mux := http.NewServeMux()
	signIn := &authorize.Handler{Store: st, Hasher: e.hasher, Passwords: passwords, Issuer: "http://aries.test", Now: te.Clock.Now}
	signIn.Register(mux)
	(&Handler{Store: st, Hasher: e.hasher, Sessions: signIn, Issuer: "http://aries.test", Now: te.Clock.Now}).Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// browser is a user agent with cookies that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

// anonymous returns a browser that has signed in as nobody.
func (e *env) anonymous() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signedIn returns a browser signed in as u through the hosted sign-in.
func (e *env) signedIn(u store.User) *browser {
	e.t.Helper()
	b := e.anonymous()
	b.get("/login?return_to=/clients")
	resp, body := b.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}, "return_to": {"/clients"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clients" {
		e.t.Fatalf("sign-in as %s: status %d, Location %q, want 303 to /clients\n%s", u.Email, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return b
}

// csrf returns the browser's CSRF cookie, which its forms repeat.
func (b *browser) csrf() string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == (web.CSRF{}).CookieName() {
			return ck.Value
		}
	}
	return ""
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form as the page would, with the CSRF token.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	form = maps.Clone(form) // the caller may reuse it in another browser
	if form == nil {
		form = url.Values{}
	}
	if !form.Has(web.CSRFField) {
		form.Set(web.CSRFField, b.csrf())
	}
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// createClient registers a client owned by owner directly in the store and
// returns it with its secret.
func (e *env) createClient(owner store.User, name string) (store.Client, string) {
	e.t.Helper()
	now := time.Now()
	sec := secret.New(secret.ClientSecretPrefix)
	c := store.Client{
		ID: secret.ID(secret.ClientIDPrefix), Name: name, Type: store.Confidential, SecretHash: e.hasher.Hash(sec),
		RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"user:information", "market:information"},
		OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.st.CreateClient(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	return c, sec
}

func (e *env) client(id string) store.Client {
	e.t.Helper()
	c, err := e.st.Client(context.Background(), id)
	if err != nil {
		e.t.Fatalf("client %s: %v", id, err)
	}
	return c
}

// location returns the path of a redirect.
func location(resp *http.Response) string { return resp.Header.Get("Location") }
