package introspect

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// env is both endpoints over a real store (package testenv), with four
// clients: app and other (confidential), rs (a confidential resource
// server) and pub (public), each with its secret.
type env struct {
	*testenv.Env
	t       *testing.T
	srv     *httptest.Server
	minter  *accesstoken.Minter
	secrets map[string]string // client id to secret; "" for pub
}

const (
	appID   = "aries_ci_app"
	otherID = "aries_ci_other"
	rsID    = "aries_ci_rs"
	pubID   = "aries_ci_pub"
	userID  = "usr_ada"
)

func newEnv(t *testing.T) *env {
	t.Helper()
	te := testenv.New(t, testenv.NoUser())
	ring := te.Keyring()
	e := &env{
		Env:     te,
		t:       t,
		minter:  &accesstoken.Minter{Keys: ring, Issuer: "http://aries.test", Audience: "http://aries.test", Now: te.Clock.Now},
		secrets: map[string]string{},
	}
	e.NewUser(store.User{ID: userID, Email: "ada@example.com"}, "")
	for _, c := range []store.Client{
		{ID: appID, Type: store.Confidential},
		{ID: otherID, Type: store.Confidential},
		{ID: rsID, Type: store.Confidential, ResourceServer: true},
		{ID: pubID, Type: store.Public},
	} {
		c.RedirectURIs, c.Scopes = []string{"https://app.example/cb"}, []string{"user:information"}
		_, e.secrets[c.ID] = e.NewClient(c)
	}
	verifier, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) },
		Issuer: "http://aries.test", Audience: "http://aries.test", Now: te.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Store: e.Store, Hasher: e.Hasher, Clients: &clientauth.Authenticator{Store: e.Store, Hasher: e.Hasher},
		Tokens: verifier, Issuer: "http://aries.test", Now: te.Clock.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/introspect", h.Introspect)
	mux.HandleFunc("POST /v1/oauth2/revoke", h.Revoke)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// tokens issues clientID a refresh token and an access token of one grant,
// as the token endpoint does after a code exchange.
func (e *env) tokens(clientID string) (access, refresh string) {
	e.t.Helper()
	g := e.NewGrant(testenv.Code{ClientID: clientID, UserID: userID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"user:information"}, TTL: time.Minute, GrantTTL: time.Hour})
	access, _, err := e.minter.Mint(protocol.Claims{Subject: userID, ClientID: clientID, Scopes: []string{"user:information"}, GrantID: g.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return access, g.RefreshToken
}

// call posts token to path as caller, with HTTP Basic for a confidential
// client and client_id in the body for a public one.
func (e *env) call(path, caller, token string) (int, http.Header, map[string]any) {
	e.t.Helper()
	form := url.Values{"token": {token}}
	sec := e.secrets[caller]
	if sec == "" {
		form.Set("client_id", caller)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sec != "" {
		req.SetBasicAuth(url.QueryEscape(caller), url.QueryEscape(sec))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			e.t.Fatalf("POST %s: %d, body is not JSON: %s", path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header, body
}

// TestIntrospectionAnswersOwnerAndResourceServers is
// docs/security.md#who-may-introspect:
// the token's own client and resource servers learn about a token; any
// other confidential client gets {"active":false} and nothing else.
func TestIntrospectionAnswersOwnerAndResourceServers(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.tokens(appID)
	tests := []struct {
		name, caller, token string
		active              bool
	}{
		{"own access token", appID, access, true},
		{"own refresh token", appID, refresh, true},
		{"another client's access token", otherID, access, false},
		{"another client's refresh token", otherID, refresh, false},
		{"resource server, access token", rsID, access, true},
		{"resource server, refresh token", rsID, refresh, true},
	}
	for _, tt := range tests {
		status, _, body := e.call("/v1/oauth2/introspect", tt.caller, tt.token)
		if status != http.StatusOK {
			t.Errorf("%s: status %d %v, want 200", tt.name, status, body)
			continue
		}
		if !tt.active {
			if diff := cmp.Diff(map[string]any{"active": false}, body); diff != "" {
				t.Errorf("%s: the answer tells more than active:false (-want +got):\n%s", tt.name, diff)
			}
			continue
		}
		if body["active"] != true || body["client_id"] != appID || body["sub"] != userID {
			t.Errorf("%s: got %v, want active with client_id %s and sub %s", tt.name, body, appID, userID)
		}
	}
}

// TestPublicClientsCannotIntrospect: RFC 7662 section 2.1 requires the
// caller to authenticate, and the metadata lists no "none" method for the
// endpoint, so a client_id alone is 401 invalid_client even for the public
// client's own token. Revocation still accepts it (RFC 7009 section 5).
func TestPublicClientsCannotIntrospect(t *testing.T) {
	e := newEnv(t)
	ownAccess, ownRefresh := e.tokens(pubID)
	appAccess, _ := e.tokens(appID)
	for _, tok := range []string{ownAccess, ownRefresh, appAccess} {
		status, _, body := e.call("/v1/oauth2/introspect", pubID, tok)
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" || body["active"] != nil {
			t.Errorf("public client introspecting: %d %v, want 401 invalid_client and no token data", status, body)
		}
	}

	// With Basic (an empty secret), the answer carries the Basic challenge
	// (RFC 6749 section 5.2).
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/oauth2/introspect", strings.NewReader("token="+url.QueryEscape(ownAccess)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(pubID, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("public client with Basic: %d, WWW-Authenticate %q; want 401 with a Basic challenge",
			resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	if status, _, body := e.call("/v1/oauth2/revoke", pubID, ownRefresh); status != http.StatusOK {
		t.Errorf("public client revoking its own refresh token: %d %v, want 200", status, body)
	}
	if status, _, body := e.call("/v1/oauth2/introspect", rsID, ownRefresh); status != http.StatusOK || body["active"] != false {
		t.Errorf("after the public client revoked it, the resource server sees %d %v, want active:false", status, body)
	}
}
