package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/introspect"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

const issuer = "http://aries.test"

// env is the admin API over a real SQLite store and real tokens.
type env struct {
	*testenv.Env
	t      *testing.T
	srv    *httptest.Server
	st     testenv.Backend
	hasher *secret.Hasher
	minter *accesstoken.Minter
	admin  store.User
	dev    store.User
	app    store.Client // the client the tokens are issued to
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := testenv.New(t, testenv.NoUser())
	st, ring := te.Store, te.Keyring()
	e := &env{
		Env:    te,
		t:      t,
		st:     st,
		hasher: te.Hasher,
		minter: &accesstoken.Minter{Keys: ring, Issuer: issuer, Audience: issuer, Now: te.Clock.Now},
		admin:  te.NewUser(store.User{ID: "usr_root", Email: "root@example.com", Admin: true}, ""),
		dev:    te.NewUser(store.User{ID: "usr_ada", Email: "ada@example.com"}, ""),
	}
	e.app, _ = te.NewClient(store.Client{ID: "aries_ci_console", Name: "Admin console", SecretHash: "h1$x",
		RedirectURIs: []string{"https://console.example/cb"}, Scopes: []string{"user:information", "admin"}})
	mux := http.NewServeMux()
	verifier, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) },
		Issuer: issuer, Audience: issuer, Now: te.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	tokens := &introspect.Handler{Store: st, Hasher: e.hasher, Tokens: verifier, Issuer: issuer, Now: te.Clock.Now}
	(&Handler{Store: st, Hasher: e.hasher, Tokens: tokens, Now: te.Clock.Now}).Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// token mints an access token for u with scope, through a live grant.
func (e *env) token(u store.User, scope string) (tok, grantID string) {
	e.t.Helper()
	_, grantID = e.IssueCode(testenv.Code{ClientID: e.app.ID, UserID: u.ID, RedirectURI: e.app.RedirectURIs[0],
		Scopes: strings.Fields(scope), GrantTTL: time.Hour})
	tok, _, err := e.minter.Mint(protocol.Claims{Subject: u.ID, ClientID: e.app.ID, Scopes: strings.Fields(scope), GrantID: grantID})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, grantID
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, a.body)
	}
}

func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	a.json(t, &e)
	if e.Description == "" {
		t.Errorf("error %q has no error_description", e.Error)
	}
	return e.Error
}

// call sends a request; header values are set as given (Authorization
// among them).
func (e *env) call(method, path, body string, header map[string]string) answer {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) as(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	adminTok, _ := e.token(e.admin, "user:information admin")
	noScope, _ := e.token(e.admin, "user:information")
	devRead, _ := e.token(e.dev, "user:information")
	devAdmin, _ := e.token(e.dev, "admin") // an admin flag taken away after issue
	revoked, revokedGrant := e.token(e.admin, "admin")
	if err := e.st.RevokeGrant(context.Background(), revokedGrant, time.Now()); err != nil {
		t.Fatal(err)
	}
	expiredMinter := *e.minter
	expiredMinter.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	expired, _, _ := expiredMinter.Mint(protocol.Claims{Subject: e.admin.ID, ClientID: e.app.ID, Scopes: []string{"admin"}})

	tests := []struct {
		name      string
		header    map[string]string
		path      string
		status    int
		code      string
		challenge string
	}{
		{"no token", nil, "/admin/v1/clients", 401, "invalid_token", `Bearer realm="aries"`},
		{"basic credentials", map[string]string{"Authorization": "Basic YTpi"}, "/admin/v1/clients", 401, "invalid_token", `Bearer realm="aries"`},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, "/admin/v1/clients", 400, "invalid_request", `error="invalid_request"`},
		{"token in the query", nil, "/admin/v1/clients?access_token=" + adminTok, 400, "invalid_request", `error="invalid_request"`},
		{"garbage", e.as("not-a-token"), "/admin/v1/clients", 401, "invalid_token", `error="invalid_token"`},
		{"refresh token", e.as(secret.New(secret.RefreshPrefix)), "/admin/v1/clients", 401, "invalid_token", `error="invalid_token"`},
		{"expired", e.as(expired), "/admin/v1/clients", 401, "invalid_token", `error="invalid_token"`},
		{"revoked grant", e.as(revoked), "/admin/v1/clients", 401, "invalid_token", `error="invalid_token"`},
		{"admin without the scope", e.as(noScope), "/admin/v1/clients", 403, "insufficient_scope", `error="insufficient_scope"`},
		{"developer token", e.as(devRead), "/admin/v1/clients", 403, "insufficient_scope", `scope="admin"`},
		{"developer token for one client", e.as(devRead), "/admin/v1/clients/" + e.app.ID, 403, "insufficient_scope", `scope="admin"`},
		{"admin scope, user no longer admin", e.as(devAdmin), "/admin/v1/clients", 403, "insufficient_scope", `error="insufficient_scope"`},
		{"lower-case scheme", map[string]string{"Authorization": "bearer " + adminTok}, "/admin/v1/clients", 200, "", ""},
		{"admin", e.as(adminTok), "/admin/v1/clients", 200, "", ""},
	}
	for _, tt := range tests {
		a := e.call("GET", tt.path, "", tt.header)
		if a.status != tt.status {
			t.Errorf("%s: status %d, want %d\n%s", tt.name, a.status, tt.status, a.body)
			continue
		}
		if tt.code == "" {
			continue
		}
		if got := a.errorCode(t); got != tt.code {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.code)
		}
		if got := a.header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
			t.Errorf("%s: WWW-Authenticate %q, want it to contain %q", tt.name, got, tt.challenge)
		}
		if tt.name == "no token" && strings.Contains(a.header.Get("WWW-Authenticate"), "error=") {
			t.Errorf("no token: the challenge carries an error code (RFC 6750 section 3.1 says it should not)")
		}
	}

	// Disabling the client the token was issued to ends the token.
	if err := e.st.SetClientDisabled(context.Background(), e.app.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if a := e.call("GET", "/admin/v1/clients", "", e.as(adminTok)); a.status != 401 {
		t.Errorf("token of a disabled client: status %d, want 401", a.status)
	}
}

func TestClientLifecycle(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)

	a := e.call("POST", "/admin/v1/clients", `{"name":"Partner","redirect_uris":["https://partner.example/cb","http://127.0.0.1:9/cb"],"scopes":["read","trade"],"owner_id":"usr_ada"}`, auth)
	if a.status != http.StatusCreated {
		t.Fatalf("create: status %d\n%s", a.status, a.body)
	}
	var created registry.ClientView
	a.json(t, &created)
	if created.ClientSecret == "" || !strings.HasPrefix(created.ClientSecret, "aries_cs_") || created.Type != "confidential" || created.OwnerID != "usr_ada" {
		t.Fatalf("created client: %+v", created)
	}
	if got := a.header.Get("Location"); got != "/admin/v1/clients/"+created.ClientID {
		t.Errorf("Location %q", got)
	}
	stored, err := e.st.Client(context.Background(), created.ClientID)
	if err != nil || !e.hasher.Verify(created.ClientSecret, stored.SecretHash) {
		t.Fatalf("the returned secret does not verify against the store (%v)", err)
	}
	wantScopes := []string{"user:information", "account:information", "order:execution", "order:information",
		"position:information", "market:information", "calendar:information", "options:information",
		"analytics:information", "market:supplemental"}
	if !cmp.Equal(created.Scopes, wantScopes) {
		t.Errorf("scopes %v, want bundles expanded to %v", created.Scopes, wantScopes)
	}

	var got registry.ClientView
	a = e.call("GET", "/admin/v1/clients/"+created.ClientID, "", auth)
	a.json(t, &got)
	if a.status != 200 || got.ClientSecret != "" || got.Name != "Partner" {
		t.Errorf("get: status %d, %+v (the secret must not be returned again)", a.status, got)
	}

	var list struct{ Clients []registry.ClientView }
	e.call("GET", "/admin/v1/clients", "", auth).json(t, &list)
	if len(list.Clients) != 2 {
		t.Errorf("list: %d clients, want 2 (every owner's)", len(list.Clients))
	}
	for _, c := range list.Clients {
		if c.ClientSecret != "" {
			t.Errorf("list shows a secret for %s", c.ClientID)
		}
	}

	a = e.call("PATCH", "/admin/v1/clients/"+created.ClientID, `{"name":"Partner Pro","first_party":true,"scopes":["market:information"]}`, auth)
	a.json(t, &got)
	if a.status != 200 || got.Name != "Partner Pro" || !got.FirstParty || !cmp.Equal(got.Scopes, []string{"market:information"}) ||
		!cmp.Equal(got.RedirectURIs, created.RedirectURIs) {
		t.Errorf("patch: status %d, %+v", a.status, got)
	}

	a = e.call("POST", "/admin/v1/clients/"+created.ClientID+"/secret", "", auth)
	var rotated registry.ClientView
	a.json(t, &rotated)
	stored, _ = e.st.Client(context.Background(), created.ClientID)
	if a.status != 200 || rotated.ClientSecret == "" || rotated.ClientSecret == created.ClientSecret ||
		e.hasher.Verify(created.ClientSecret, stored.SecretHash) || !e.hasher.Verify(rotated.ClientSecret, stored.SecretHash) {
		t.Errorf("rotate: status %d; the new secret must verify and the old one must not", a.status)
	}

	a = e.call("POST", "/admin/v1/clients/"+created.ClientID+"/disable", "", auth)
	a.json(t, &got)
	if a.status != 200 || !got.Disabled {
		t.Errorf("disable: status %d, disabled %v", a.status, got.Disabled)
	}
	a = e.call("POST", "/admin/v1/clients/"+created.ClientID+"/enable", "", auth)
	a.json(t, &got)
	if a.status != 200 || got.Disabled {
		t.Errorf("enable: status %d, disabled %v", a.status, got.Disabled)
	}

	if a = e.call("DELETE", "/admin/v1/clients/"+created.ClientID, "", auth); a.status != http.StatusNoContent {
		t.Errorf("delete: status %d, want 204", a.status)
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/admin/v1/clients/" + created.ClientID},
		{"DELETE", "/admin/v1/clients/" + created.ClientID},
		{"POST", "/admin/v1/clients/" + created.ClientID + "/secret"},
	} {
		a := e.call(req.method, req.path, "", auth)
		if a.status != 404 || a.errorCode(t) != "not_found" {
			t.Errorf("%s %s after delete: status %d, want 404 not_found", req.method, req.path, a.status)
		}
	}
}

func TestRequestsRefused(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(e.admin, "admin")
	auth := e.as(tok)
	public := `{"name":"SPA","type":"public","redirect_uris":["http://localhost:5173/cb"],"scopes":["read"]}`
	var spa registry.ClientView
	e.call("POST", "/admin/v1/clients", public, auth).json(t, &spa)
	tests := []struct {
		name, method, path, body, contentType string
		status                                int
		want                                  string
	}{
		{"http redirect URI", "POST", "/admin/v1/clients", `{"name":"X","redirect_uris":["http://x.example/cb"],"scopes":["read"]}`, "", 400, "use https"},
		{"fragment", "PATCH", "/admin/v1/clients/" + e.app.ID, `{"redirect_uris":["https://x.example/cb#a"]}`, "", 400, "fragment"},
		{"unknown scope", "POST", "/admin/v1/clients", `{"name":"X","redirect_uris":["https://x.example/cb"],"scopes":["all"]}`, "", 400, `unknown scope \"all\"`},
		{"no name", "PATCH", "/admin/v1/clients/" + e.app.ID, `{"name":" "}`, "", 400, "needs a name"},
		{"bad type", "POST", "/admin/v1/clients", `{"name":"X","type":"secretive","redirect_uris":["https://x.example/cb"],"scopes":["read"]}`, "", 400, "confidential or public"},
		{"unknown owner", "POST", "/admin/v1/clients", `{"name":"X","redirect_uris":["https://x.example/cb"],"scopes":["read"],"owner_id":"usr_nobody"}`, "", 400, "owner_id"},
		{"unknown field", "PATCH", "/admin/v1/clients/" + e.app.ID, `{"type":"public"}`, "", 400, "unknown field"},
		{"two values", "PATCH", "/admin/v1/clients/" + e.app.ID, `{"name":"A"}{"name":"B"}`, "", 400, "one JSON object"},
		{"form body", "POST", "/admin/v1/clients", `name=X`, "application/x-www-form-urlencoded", 415, "application/json"},
		{"public client secret", "POST", "/admin/v1/clients/" + spa.ClientID + "/secret", "", "", 400, "no secret"},
		{"too large", "POST", "/admin/v1/clients", `{"name":"` + strings.Repeat("a", maxBody) + `"}`, "", 413, "larger"},
	}
	for _, tt := range tests {
		header := map[string]string{"Authorization": auth["Authorization"]}
		if tt.contentType != "" {
			header["Content-Type"] = tt.contentType
		}
		a := e.call(tt.method, tt.path, tt.body, header)
		if a.status != tt.status || !strings.Contains(string(a.body), tt.want) {
			t.Errorf("%s: status %d %s, want %d mentioning %q", tt.name, a.status, a.body, tt.status, tt.want)
		}
	}
	c, _ := e.st.Client(context.Background(), e.app.ID)
	if c.Name != e.app.Name || !cmp.Equal(c.RedirectURIs, e.app.RedirectURIs) || c.Type != store.Confidential {
		t.Errorf("refused requests changed the client: %+v", c)
	}
}
