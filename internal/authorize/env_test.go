package authorize

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testclock"
	"github.com/ariesexchange/aries/internal/testenv"
)

const (
	userEmail     = "ada@example.com"
	adminEmail    = "root@example.com"
	userPassword  = "correct horse battery"
	confID        = "aries_ci_conf"
	confName      = "Acme Trader"
	confRedirect  = "https://app.example.com/callback"
	queryRedirect = "https://app.example.com/callback?tenant=7"
	pubID         = "aries_ci_pub"
	pubRedirect   = "http://127.0.0.1:9000/cb"
	nativeRedir   = "com.example.app:/oauth/cb"
	offID         = "aries_ci_off"
	challenge     = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
)

// env is a running authorization server over a real SQLite store, with a
// browser-like client (cookie jar, redirects not followed so tests can
// look at each one).
type env struct {
	t      *testing.T
	srv    *httptest.Server
	h      *Handler
	store  testenv.Backend
	clock  *testclock.Clock
	client *http.Client
	user   store.User
	// source, when set, is the address the server sees requests come from
	// (through testSource).
	source string
}

// testSource lets a test choose the address a request comes from, so that
// throttles keyed on it can be tested from one machine.
func testSource(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip := r.Header.Get("X-Test-Source"); ip != "" {
			r.RemoteAddr = ip + ":40000"
		}
		next.ServeHTTP(w, r)
	})
}

func newEnv(t *testing.T, opts ...func(*Handler)) *env {
	return newEnvWith(t, httptest.NewServer, opts...)
}

// newEnvWith starts the server with start; opts adjust the Handler before
// it is registered.
func newEnvWith(t *testing.T, start func(http.Handler) *httptest.Server, opts ...func(*Handler)) *env {
	t.Helper()
	ctx := context.Background()
	te := testenv.New(t, testenv.NoUser(), testenv.At(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)))
	st, clk := te.Store, te.Clock
	user := te.NewUser(store.User{ID: "usr_ada", Email: userEmail}, userPassword)
	te.NewUser(store.User{ID: "usr_root", Email: adminEmail, Admin: true}, userPassword)
	canonical := []string{
		scope.UserInformation, scope.AccountInformation, scope.OrderExecution, scope.OrderInformation,
		scope.PositionInformation, scope.MarketInformation, scope.CalendarInformation,
		scope.OptionsInformation, scope.AnalyticsInformation, scope.MarketSupplemental,
	}
	clients := []store.Client{
		{ID: confID, Name: confName, Type: store.Confidential, SecretHash: "h1$x",
			RedirectURIs: []string{confRedirect, queryRedirect}, Scopes: append(canonical, scope.Admin)},
		{ID: pubID, Name: "Pocket App", Type: store.Public,
			RedirectURIs: []string{pubRedirect, nativeRedir},
			Scopes:       []string{scope.UserInformation, scope.AccountInformation, scope.OrderExecution, scope.OrderInformation}},
		{ID: offID, Name: "Old App", Type: store.Confidential, RedirectURIs: []string{confRedirect}, Scopes: canonical},
	}
	for _, c := range clients {
		te.NewClient(c)
	}
	if err := st.SetClientDisabled(ctx, offID, true, clk.Now()); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	srv := start(testSource(mux))
	t.Cleanup(srv.Close)
	h := &Handler{
		Store:     st,
		Hasher:    te.Hasher,
		Passwords: te.Passwords,
		Issuer:    srv.URL,
		Now:       clk.Now,
	}
	for _, o := range opts {
		o(h)
	}
	h.Register(mux)

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	client.Jar = jar
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, srv: srv, h: h, store: st, clock: clk, client: client, user: user}
}

// page is one response, body read.
type page struct {
	*http.Response
	body string
}

func (p page) location() *url.URL {
	loc := p.Header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	return u
}

func (e *env) do(req *http.Request) page {
	e.t.Helper()
	if e.source != "" {
		req.Header.Set("X-Test-Source", e.source)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return page{resp, string(b)}
}

func (e *env) get(path string) page {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *env) post(path string, form url.Values) page {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// authorize sends GET /oauth2/authorize with params.
func (e *env) authorize(params url.Values) page {
	e.t.Helper()
	return e.get("/oauth2/authorize?" + params.Encode())
}

// signIn signs the browser in with the sign-in page's form.
func (e *env) signIn(email, pw string) page {
	e.t.Helper()
	p := e.get("/login")
	return e.submitSignIn(p, email, pw)
}

// submitSignIn fills in and sends the sign-in form on p.
func (e *env) submitSignIn(p page, email, pw string) page {
	e.t.Helper()
	form := hiddenFields(p.body)
	if form.Get("csrf_token") == "" {
		e.t.Fatalf("no sign-in form on the page (status %d):\n%s", p.StatusCode, p.body)
	}
	form.Set("email", email)
	form.Set("password", pw)
	return e.post("/login", form)
}

// decide submits the consent form on p with decision.
func (e *env) decide(p page, decision string) page {
	e.t.Helper()
	form := hiddenFields(p.body)
	if !strings.Contains(p.body, `action="/oauth2/authorize"`) {
		e.t.Fatalf("no consent form on the page (status %d):\n%s", p.StatusCode, p.body)
	}
	form.Set("decision", decision)
	return e.post("/oauth2/authorize", form)
}

// follow requests the local path a redirect points to.
func (e *env) follow(p page) page {
	e.t.Helper()
	loc := p.location()
	if loc == nil || loc.Host != "" {
		e.t.Fatalf("status %d, Location %q; want a local redirect", p.StatusCode, p.Header.Get("Location"))
	}
	return e.get(loc.RequestURI())
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenFields returns the hidden fields of the page's forms, as a browser
// would send them.
func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// confParams is a valid request of the confidential client.
func confParams() url.Values {
	return url.Values{
		"response_type": {"code"},
		"client_id":     {confID},
		"redirect_uri":  {confRedirect},
		"scope":         {"trade account:information"},
		"state":         {"st-123"},
	}
}

// pubParams is a valid PKCE request of the public client.
func pubParams() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {pubID},
		"redirect_uri":          {pubRedirect},
		"scope":                 {"user:information order:information"},
		"state":                 {"xyz"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
}

func with(v url.Values, kv ...string) url.Values {
	out := cloneValues(v)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

var assetRE = regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`)

func htmlUnescape(s string) string { return html.UnescapeString(s) }
