package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/api"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/sandbox"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store/sqlite"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// apiFixture is a server with a backend app that may ask for every bundle
// (read, trade, withdraw), and helpers to call the API.
type apiFixture struct {
	*fixture
	app clientJSON
}

func newAPIFixture(t *testing.T, serveFlags ...string) *apiFixture {
	t.Helper()
	f := newFixture(t, serveFlags...)
	app := ariesJSON[clientJSON](t, f.dir, "clients", "create", "--name", "Trading app",
		"--redirect-uri", f.redirectURI, "--scope", "read trade withdraw")
	return &apiFixture{fixture: f, app: app}
}

// login signs the fixture's user in to client c for scope and returns the
// token response.
func (f *apiFixture) login(t *testing.T, c clientJSON, scopes string) tokenResult {
	t.Helper()
	code := f.code(t, c.ClientID, url.Values{"scope": {scopes}})
	r := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"code": {code}, "redirect_uri": {f.redirectURI}})
	wantTokens(t, r, true)
	return r
}

// as returns a copy of the fixture that signs in as another user, created
// on the spot.
func (f *apiFixture) as(t *testing.T, email string) *apiFixture {
	t.Helper()
	g := *f.fixture
	g.email, g.password = email, "another long passphrase"
	u := ariesJSON[userJSON](t, f.dir, "users", "create", "--email", g.email, "--password", g.password)
	g.userID = u.ID
	return &apiFixture{fixture: &g, app: f.app}
}

// narrow refreshes *refresh (rotating it) for a token with only scopes.
func (f *apiFixture) narrow(t *testing.T, c clientJSON, refresh *string, scopes string) string {
	t.Helper()
	r := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "refresh_token": {*refresh}, "scope": {scopes}})
	wantTokens(t, r, true)
	*refresh = r.RefreshToken
	return r.AccessToken
}

// apiResult is one answer of the API.
type apiResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// call sends method path with the bearer token (none when "") and body
// (JSON-encoded unless nil); extra is header name, value pairs.
func (s *testServer) call(t *testing.T, method, path, token string, body any, extra ...string) apiResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Add(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (r apiResult) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d: body %q is not the JSON expected: %v", r.Status, r.Body, err)
	}
}

// errorCode returns the "error" of a JSON error body, "" if none.
func (r apiResult) errorCode() string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Error
}

func (r apiResult) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// accountID returns the user's paper account id (opening it).
func (s *testServer) accountID(t *testing.T, token string) string {
	t.Helper()
	r := s.call(t, "GET", "/v1/users/me/accounts", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/users/me/accounts: got %s, want 200", r)
	}
	var out struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	r.decode(t, &out)
	if len(out.Accounts) != 1 {
		t.Fatalf("got %d accounts, want the one paper account", len(out.Accounts))
	}
	return out.Accounts[0].ID
}

// restingOrder places a limit buy that cannot fill (every simulated price
// is above $10) and returns its id.
func (s *testServer) restingOrder(t *testing.T, token string) string {
	t.Helper()
	r := s.call(t, "POST", "/v1/orders", token, map[string]any{"symbol": "AAPL", "side": "buy", "type": "limit", "quantity": 1, "limit_price": "0.01"})
	if r.Status != http.StatusCreated {
		t.Fatalf("placing a resting order: got %s, want 201", r)
	}
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	r.decode(t, &o)
	if o.Status != "open" {
		t.Fatalf("limit buy at $0.01: got status %q, want open", o.Status)
	}
	return o.ID
}

// testUpstream plays the market-data services: it answers every request
// with what it received, and speaks just enough WebSocket (RFC 6455) to
// greet the caller and echo one text frame.
func testUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			serveEchoWebSocket(t, w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "query": r.URL.RawQuery,
			"user": r.Header.Get(api.HeaderUser), "client": r.Header.Get(api.HeaderClient), "scopes": r.Header.Get(api.HeaderScopes),
			"authorization": r.Header.Get("Authorization"), "cookie": r.Header.Get("Cookie"),
			"spoofed": r.Header.Get("X-Aries-Admin"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func serveEchoWebSocket(t *testing.T, w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("upstream: hijack: %v", err)
		return
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		wsAccept(r.Header.Get("Sec-WebSocket-Key")))
	writeFrame(brw.Writer, "hello "+r.Header.Get(api.HeaderUser)+" auth="+r.Header.Get("Authorization"), false)
	brw.Flush()
	msg, err := readFrame(brw.Reader)
	if err != nil {
		return
	}
	writeFrame(brw.Writer, "echo "+msg, false)
	brw.Flush()
}

// writeFrame writes one short text frame (RFC 6455 section 5.2), masked
// as a client must.
func writeFrame(w io.Writer, text string, masked bool) {
	b := []byte{0x81, byte(len(text))}
	payload := []byte(text)
	if masked {
		b[1] |= 0x80
		mask := []byte{1, 2, 3, 4}
		b = append(b, mask...)
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	w.Write(append(b, payload...))
}

func readFrame(r *bufio.Reader) (string, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return "", err
	}
	n := int(head[1] & 0x7f)
	var mask []byte
	if head[1]&0x80 != 0 {
		mask = make([]byte, 4)
		if _, err := io.ReadFull(r, mask); err != nil {
			return "", err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return "", err
	}
	for i := range payload {
		if mask != nil {
			payload[i] ^= mask[i%4]
		}
	}
	return string(payload), nil
}

// webSocket opens a WebSocket at path with the token (none when "") and,
// when the server switches protocols, checks the greeting and the echo of
// the upstream. It returns the handshake's status.
func (s *testServer) webSocket(t *testing.T, path, token string) int {
	t.Helper()
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	keyBytes := make([]byte, 16)
	rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("WebSocket handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(key) {
		t.Errorf("Sec-WebSocket-Accept: got %q, want %q", got, wsAccept(key))
	}
	hello, err := readFrame(br)
	if err != nil {
		t.Fatalf("reading the upstream's greeting: %v", err)
	}
	if !strings.HasPrefix(hello, "hello usr_") || !strings.HasSuffix(hello, "auth=") {
		t.Errorf("upstream greeting %q: want the user in X-Aries-User and no Authorization", hello)
	}
	writeFrame(conn, "ping", true)
	echo, err := readFrame(br)
	if err != nil || echo != "echo ping" {
		t.Errorf("WebSocket echo: got %q, %v; want %q", echo, err, "echo ping")
	}
	return resp.StatusCode
}

// routeCall is the request that exercises rt: the path with the account id
// and a valid body.
func routeCall(rt api.Route, account, openOrder, cancelOrder string) (path string, body any) {
	path = strings.ReplaceAll(rt.Path, "{id}", account)
	switch rt.Method + " " + rt.Path {
	case "PATCH /v1/users/me":
		body = map[string]string{"display_name": "Trader Joe"}
	case "POST /v1/orders":
		body = map[string]any{"symbol": "MSFT", "side": "buy", "quantity": 1}
	case "PUT /v1/orders":
		body = map[string]any{"order_id": openOrder, "quantity": 2}
	case "DELETE /v1/orders":
		path += "?order_id=" + cancelOrder
	case "POST /v1/accounts/{id}/withdrawals":
		body = map[string]string{"amount": "1.00"}
	}
	if rt.Upstream != "" {
		path += "?q=AAPL"
	}
	return path, body
}

// TestEveryRouteIsProtected walks the route table: without a token 401,
// with a token lacking the scope 403 insufficient_scope, with (each of) the
// right scope(s) 2xx, upstream routes (the WebSocket included) against a
// test upstream.
func TestEveryRouteIsProtected(t *testing.T) {
	up := testUpstream(t)
	f := newAPIFixture(t, "--rate-limit", "authentication=1000/1m", "--upstream", "/v1="+up.URL)
	refresh := f.login(t, f.app, "read trade withdraw").RefreshToken
	tokens := map[string]string{}
	for _, s := range scope.All {
		if s.Name != scope.Admin {
			tokens[s.Name] = f.narrow(t, f.app, &refresh, s.Name)
		}
	}
	account := f.accountID(t, tokens[scope.AccountInformation])
	openOrder := f.restingOrder(t, tokens[scope.OrderExecution])
	cancelOrder := f.restingOrder(t, tokens[scope.OrderExecution])

	for _, rt := range api.Routes {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			path, body := routeCall(rt, account, openOrder, cancelOrder)
			wrong := scope.MarketInformation
			if slices.Contains(rt.Scopes, wrong) {
				wrong = scope.UserInformation
			}
			if rt.WebSocket {
				if got := f.webSocket(t, path, ""); got != http.StatusUnauthorized {
					t.Errorf("WebSocket without a token: got %d, want 401", got)
				}
				if got := f.webSocket(t, path, tokens[wrong]); got != http.StatusForbidden {
					t.Errorf("WebSocket with %s only: got %d, want 403", wrong, got)
				}
				if got := f.webSocket(t, path, tokens[rt.Scopes[0]]); got != http.StatusSwitchingProtocols {
					t.Errorf("WebSocket with %s: got %d, want 101", rt.Scopes[0], got)
				}
				return
			}

			r := f.call(t, rt.Method, path, "", body)
			if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != `Bearer realm="aries"` {
				t.Errorf("no token: got %s with WWW-Authenticate %q, want 401 Bearer realm=\"aries\"", r, r.Header.Get("WWW-Authenticate"))
			}
			r = f.call(t, rt.Method, path, tokens[wrong], body)
			challenge := r.Header.Get("WWW-Authenticate")
			if r.Status != http.StatusForbidden || r.errorCode() != "insufficient_scope" ||
				!strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="`+strings.Join(rt.Scopes, " ")+`"`) {
				t.Errorf("token with %s only: got %s (WWW-Authenticate %q), want 403 insufficient_scope naming %v", wrong, r, challenge, rt.Scopes)
			}
			for _, s := range rt.Scopes {
				r = f.call(t, rt.Method, path, tokens[s], body)
				if r.Status < 200 || r.Status > 299 {
					t.Errorf("token with %s: got %s, want 2xx", s, r)
					continue
				}
				if r.Header.Get("X-RateLimit-Limit") == "" {
					t.Errorf("token with %s: no X-RateLimit-Limit on a limited route", s)
				}
				if rt.Upstream != "" {
					var echo map[string]string
					r.decode(t, &echo)
					want := map[string]string{"path": rt.Path, "query": "q=AAPL", "user": f.userID, "client": f.app.ClientID,
						"scopes": s, "authorization": "", "cookie": "", "spoofed": ""}
					for k, v := range want {
						if echo[k] != v {
							t.Errorf("upstream saw %s %q, want %q", k, echo[k], v)
						}
					}
				}
			}
		})
	}
}

// TestUpstreams checks what an upstream receives and what the caller gets
// when there is none.
func TestUpstreams(t *testing.T) {
	up := testUpstream(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	f := newAPIFixture(t, "--upstream", "/v1/marketdata="+up.URL, "--upstream", "/v1/news="+dead.URL)
	tok := f.login(t, f.app, "read").AccessToken

	r := f.call(t, "GET", "/v1/marketdata/search?q=MSFT", tok, nil, "X-Aries-User", "usr_someone_else", "X-Aries-Admin", "true", "Cookie", "__Host-aries_session=secret")
	var echo map[string]string
	r.decode(t, &echo)
	if r.Status != http.StatusOK || echo["user"] != f.userID || echo["spoofed"] != "" || echo["cookie"] != "" || echo["authorization"] != "" {
		t.Errorf("upstream saw %v (status %d): want the verified user only, no spoofed X-Aries-* header, no cookie, no token", echo, r.Status)
	}

	// A client acting as itself has no user.
	cc := f.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}, f.app.ClientID, f.app.ClientSecret)
	wantTokens(t, cc, false)
	r = f.call(t, "GET", "/v1/marketdata/search", cc.AccessToken, nil)
	r.decode(t, &echo)
	if r.Status != http.StatusOK || echo["user"] != "" || echo["client"] != f.app.ClientID {
		t.Errorf("client_credentials token: upstream saw %v, want no user and client %s", echo, f.app.ClientID)
	}

	tests := []struct {
		path       string
		wantStatus int
		wantError  string
	}{
		{"/v1/calendars/earnings", http.StatusServiceUnavailable, "upstream_unavailable"},
		{"/v1/market/ws", http.StatusServiceUnavailable, "upstream_unavailable"},
		{"/v1/news", http.StatusBadGateway, "upstream_error"},
	}
	for _, tt := range tests {
		r := f.call(t, "GET", tt.path, tok, nil)
		if r.Status != tt.wantStatus || r.errorCode() != tt.wantError {
			t.Errorf("GET %s: got %s, want %d %s", tt.path, r, tt.wantStatus, tt.wantError)
		}
	}
}

// TestBundlesOpenWhatDesignSays checks that the read, trade and withdraw
// bundles of the SDK documentation open exactly the routes of the scopes
// docs/scopes.md#bundles expands them to.
func TestBundlesOpenWhatDesignSays(t *testing.T) {
	f := newAPIFixture(t)
	refresh := f.login(t, f.app, "read trade withdraw").RefreshToken
	account := f.accountID(t, f.login(t, f.app, "read").AccessToken)
	design := map[string][]string{
		"read": {"user:information", "account:information", "order:information", "position:information", "market:information",
			"calendar:information", "options:information", "analytics:information", "market:supplemental"},
		"trade":    {"order:execution"},
		"withdraw": {"funds:withdrawal"},
	}
	for bundle, scopes := range design {
		t.Run(bundle, func(t *testing.T) {
			r := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.app.ClientID},
				"client_secret": {f.app.ClientSecret}, "refresh_token": {refresh}, "scope": {bundle}})
			wantTokens(t, r, true)
			refresh = r.RefreshToken
			if got := strings.Fields(r.Scope); !slices.Equal(got, scopes) {
				t.Errorf("token for %q carries %q, want %q", bundle, got, scopes)
			}
			for _, rt := range api.Routes {
				path, body := routeCall(rt, account, "ord_none", "ord_none")
				got := f.call(t, rt.Method, path, r.AccessToken, body)
				opens := slices.ContainsFunc(rt.Scopes, func(s string) bool { return slices.Contains(scopes, s) })
				switch {
				case opens && (got.Status == http.StatusUnauthorized || got.Status == http.StatusForbidden):
					t.Errorf("%s %s with %q: got %s, want it let through", rt.Method, rt.Path, bundle, got)
				case !opens && (got.Status != http.StatusForbidden || got.errorCode() != "insufficient_scope"):
					t.Errorf("%s %s with %q: got %s, want 403 insufficient_scope", rt.Method, rt.Path, bundle, got)
				}
			}
		})
	}
}

// TestRateLimits: the 11th authentication request and the 51st trading
// request within a minute are refused with 429, Retry-After and
// X-RateLimit-Reset; other users and other clients are not affected.
func TestRateLimits(t *testing.T) {
	f := newAPIFixture(t)
	other := ariesJSON[clientJSON](t, f.dir, "clients", "create", "--name", "Other app",
		"--redirect-uri", f.redirectURI, "--scope", "read trade")
	bob := f.as(t, "bob@example.com")

	wantLimited := func(t *testing.T, r apiResult, limit string) {
		t.Helper()
		if r.Status != http.StatusTooManyRequests || r.errorCode() != "rate_limited" {
			t.Fatalf("got %s, want 429 rate_limited", r)
		}
		retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 60 {
			t.Errorf("Retry-After %q: want whole seconds between 1 and 60", r.Header.Get("Retry-After"))
		}
		reset, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
		if now := time.Now().Unix(); err != nil || reset < now || reset > now+61 {
			t.Errorf("X-RateLimit-Reset %q: want unix seconds within the next minute", r.Header.Get("X-RateLimit-Reset"))
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != limit {
			t.Errorf("X-RateLimit-Limit: got %q, want %q", got, limit)
		}
		if got := r.Header.Get("X-RateLimit-Remaining"); got != "0" {
			t.Errorf("X-RateLimit-Remaining: got %q, want 0", got)
		}
	}
	asResult := func(r tokenResult) apiResult {
		b, _ := json.Marshal(map[string]string{"error": r.Error})
		return apiResult{Status: r.Status, Header: r.Header, Body: b}
	}

	var aliceViaApp string // a trade token of alice through f.app, for the trading limit
	t.Run("authentication", func(t *testing.T) {
		// Request 1 is the code exchange, 2 to 10 refreshes.
		first := f.login(t, f.app, "read trade")
		aliceViaApp = first.AccessToken
		refresh := first.RefreshToken
		for i := 2; i <= 10; i++ {
			r := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.app.ClientID},
				"client_secret": {f.app.ClientSecret}, "refresh_token": {refresh}})
			if r.Status != http.StatusOK {
				t.Fatalf("request %d: got %d %s, want 200", i, r.Status, r.Error)
			}
			if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(10-i); got != want {
				t.Errorf("request %d: X-RateLimit-Remaining %q, want %q", i, got, want)
			}
			refresh = r.RefreshToken
		}
		r := f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.app.ClientID},
			"client_secret": {f.app.ClientSecret}, "refresh_token": {refresh}})
		wantLimited(t, asResult(r), "10")
		// The refused request did not spend the refresh token.
		if in := f.introspect(t, refresh); !in.Active {
			t.Error("the refresh token of a refused request was spent")
		}

		// Another user of the same client, and the same user on another
		// client, are not affected.
		bob.login(t, f.app, "read")
		f.login(t, other, "read")
	})

	t.Run("guessing codes from one address", func(t *testing.T) {
		for i := 1; i <= 11; i++ {
			r := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {other.ClientID}, "client_secret": {other.ClientSecret},
				"code": {"aries_ac_guess" + strconv.Itoa(i)}, "redirect_uri": {f.redirectURI}})
			if i <= 10 && (r.Status != http.StatusBadRequest || r.Error != "invalid_grant") {
				t.Fatalf("guess %d: got %d %s, want 400 invalid_grant", i, r.Status, r.Error)
			}
			if i == 11 {
				wantLimited(t, asResult(r), "10")
			}
		}
	})

	t.Run("trading", func(t *testing.T) {
		alice := f.login(t, other, "read trade").AccessToken
		order := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1}
		// GCRA refills one request every 1.2 s (50/min): on a loaded machine
		// the 50 orders may take longer than that, so the refused request is
		// the 51st plus one per 1.2 s elapsed, never earlier.
		start := time.Now()
		var placed int
		var refused apiResult
		for placed < 100 {
			r := f.call(t, "POST", "/v1/orders", alice, order)
			if r.Status != http.StatusCreated {
				refused = r
				break
			}
			if got := r.Header.Get("X-RateLimit-Limit"); got != "50" {
				t.Fatalf("order %d: X-RateLimit-Limit %q, want 50", placed+1, got)
			}
			placed++
		}
		refills := int(time.Since(start) / (1200 * time.Millisecond))
		if placed < 50 || placed > 50+refills {
			t.Errorf("%d orders placed before the limit, want 50 (+%d refilled while they ran)", placed, refills)
		}
		wantLimited(t, refused, "50")
		// Reading the account is another category.
		if r := f.call(t, "GET", "/v1/users/me", alice, nil); r.Status != http.StatusOK {
			t.Errorf("GET /v1/users/me after the trading limit: got %s, want 200", r)
		}
		if r := f.call(t, "POST", "/v1/orders", bob.login(t, other, "trade").AccessToken, order); r.Status != http.StatusCreated {
			t.Errorf("another user's order: got %s, want 201", r)
		}
		if r := f.call(t, "POST", "/v1/orders", aliceViaApp, order); r.Status != http.StatusCreated {
			t.Errorf("the same user's order through another client: got %s, want 201", r)
		}
	})
}

// TestLedgerUnderConcurrentRequests sends 50 orders and withdrawals for one
// account at once and checks the ledger's invariants over HTTP: cash never
// negative, cash + position value conserved by fills, each
// Idempotency-Key executed once.
func TestLedgerUnderConcurrentRequests(t *testing.T) {
	f := newAPIFixture(t, "--rate-limit", "trading=1000/1m")
	tok := f.login(t, f.app, "read trade withdraw").AccessToken
	account := f.accountID(t, tok)
	const symbol = "NVDA"
	price := sandbox.Price(symbol)
	// Holdings to sell, bought at the same simulated price.
	if r := f.call(t, "POST", "/v1/orders", tok, map[string]any{"symbol": symbol, "side": "buy", "quantity": 100}); r.Status != http.StatusCreated {
		t.Fatalf("initial buy: got %s", r)
	}
	equity := func() (cash, value int64) {
		t.Helper()
		var b struct {
			Cash           protocol.Cents `json:"cash"`
			PositionsValue protocol.Cents `json:"positions_value"`
		}
		f.call(t, "GET", "/v1/accounts/"+account+"/balances", tok, nil).decode(t, &b)
		return int64(b.Cash), int64(b.PositionsValue)
	}
	cash0, value0 := equity()
	// Enough orders and withdrawals that cash and shares run out.
	big := (cash0/price)/4 + 1

	type request struct {
		method, path, key string
		body              any
	}
	var reqs []request
	for i := range 50 {
		switch i % 5 {
		case 0, 1:
			reqs = append(reqs, request{"POST", "/v1/orders", "", map[string]any{"account_id": account, "symbol": symbol, "side": "buy", "quantity": big}})
		case 2:
			reqs = append(reqs, request{"POST", "/v1/orders", "", map[string]any{"account_id": account, "symbol": symbol, "side": "sell", "quantity": 60}})
		case 3:
			reqs = append(reqs, request{"POST", "/v1/accounts/" + account + "/withdrawals", "", map[string]string{"amount": protocol.Cents(cash0 / 5).String()}})
		case 4:
			if i%10 == 4 {
				reqs = append(reqs, request{"POST", "/v1/orders", "order-key", map[string]any{"account_id": account, "symbol": symbol, "side": "buy", "quantity": 1}})
			} else {
				reqs = append(reqs, request{"POST", "/v1/accounts/" + account + "/withdrawals", "withdrawal-key", map[string]string{"amount": "1.00"}})
			}
		}
	}
	results := make([]apiResult, len(reqs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, rq := range reqs {
		wg.Go(func() {
			<-start
			var extra []string
			if rq.key != "" {
				extra = []string{"Idempotency-Key", rq.key}
			}
			results[i] = f.call(t, rq.method, rq.path, tok, rq.body, extra...)
		})
	}
	close(start)
	wg.Wait()

	var withdrawn int64
	withdrawals := map[string]bool{}
	keyed := map[string]map[string]bool{"order-key": {}, "withdrawal-key": {}}
	refused := 0
	for i, r := range results {
		switch {
		case r.Status == http.StatusCreated:
		case r.Status == http.StatusUnprocessableEntity && (r.errorCode() == "insufficient_funds" || r.errorCode() == "insufficient_shares"):
			refused++
			continue
		default:
			t.Errorf("request %d (%s %s): got %s, want 201 or 422", i, reqs[i].method, reqs[i].path, r)
			continue
		}
		var out struct {
			ID     string         `json:"id"`
			Amount protocol.Cents `json:"amount"`
		}
		r.decode(t, &out)
		if reqs[i].key != "" {
			keyed[reqs[i].key][out.ID] = true
		}
		if strings.HasSuffix(reqs[i].path, "/withdrawals") && !withdrawals[out.ID] {
			withdrawals[out.ID] = true
			withdrawn += int64(out.Amount)
		}
	}
	if refused == 0 {
		t.Error("no request was refused: the test did not exhaust the cash or shares")
	}
	// Every 201 for one key names the same order or withdrawal. (All of
	// them may have been refused, if the cash or shares ran out first.)
	for key, ids := range keyed {
		if len(ids) > 1 {
			t.Errorf("Idempotency-Key %q: got %d executions (%v), want at most 1", key, len(ids), ids)
		}
	}
	cash, value := equity()
	if cash < 0 {
		t.Errorf("cash is negative: %d", cash)
	}
	if got, want := cash+value, cash0+value0-withdrawn; got != want {
		t.Errorf("cash + position value: got %d, want %d (before %d, withdrawn %d)", got, want, cash0+value0, withdrawn)
	}
}

// TestUsersSeeOnlyTheirOwnAccounts: another user's account is 404, exactly
// like one that does not exist.
func TestUsersSeeOnlyTheirOwnAccounts(t *testing.T) {
	f := newAPIFixture(t)
	alice := f.login(t, f.app, "read trade withdraw").AccessToken
	aliceAccount := f.accountID(t, alice)
	bob := f.as(t, "bob@example.com").login(t, f.app, "read trade withdraw").AccessToken
	bobAccount := f.accountID(t, bob)
	if aliceAccount == bobAccount {
		t.Fatal("two users share an account")
	}
	order := f.restingOrder(t, alice)

	tests := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/accounts/" + aliceAccount + "/balances", nil},
		{"GET", "/v1/accounts/" + aliceAccount + "/positions", nil},
		{"GET", "/v2/accounts/" + aliceAccount + "/orders", nil},
		{"POST", "/v1/accounts/" + aliceAccount + "/withdrawals", map[string]string{"amount": "1.00"}},
		{"POST", "/v1/orders", map[string]any{"account_id": aliceAccount, "symbol": "AAPL", "side": "buy", "quantity": 1}},
		{"PUT", "/v1/orders", map[string]any{"order_id": order, "quantity": 5}},
		{"DELETE", "/v1/orders?order_id=" + order, nil},
		{"GET", "/v1/accounts/acc_doesnotexist/balances", nil},
	}
	for _, tt := range tests {
		r := f.call(t, tt.method, tt.path, bob, tt.body)
		if r.Status != http.StatusNotFound || r.errorCode() != "not_found" {
			t.Errorf("bob: %s %s: got %s, want 404 not_found", tt.method, tt.path, r)
		}
	}
	// Alice's order and cash are untouched.
	var orders struct {
		Orders []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Quantity int64  `json:"quantity"`
		} `json:"orders"`
	}
	f.call(t, "GET", "/v2/accounts/"+aliceAccount+"/orders", alice, nil).decode(t, &orders)
	if len(orders.Orders) != 1 || orders.Orders[0].Status != "open" || orders.Orders[0].Quantity != 1 {
		t.Errorf("alice's orders after bob's attempts: got %+v, want her one open order of 1", orders.Orders)
	}

	// A client acting as itself has no user, so no account.
	cc := f.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"user:information account:information"}}, f.app.ClientID, f.app.ClientSecret)
	for _, path := range []string{"/v1/users/me", "/v1/users/me/accounts"} {
		if r := f.call(t, "GET", path, cc.AccessToken, nil); r.Status != http.StatusForbidden || r.errorCode() != "user_required" {
			t.Errorf("client_credentials token on %s: got %s, want 403 user_required", path, r)
		}
	}
	// Seed 002's get_current_user.
	var me struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	f.call(t, "GET", "/v1/users/me", alice, nil).decode(t, &me)
	if me.ID != f.userID || me.Email != f.email {
		t.Errorf("GET /v1/users/me: got %+v, want %s %s", me, f.userID, f.email)
	}
}

// serverMinter signs tokens with the running server's own signing key, to
// make tokens that are genuine but expired or for another audience.
func serverMinter(t *testing.T, f *apiFixture) *keys.Keyring {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.dir, "aries.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master, err := loadMaster("", filepath.Join(f.dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Open(ctx, st, master.Keys().KeyEncryption, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// TestForgedTokensAreRefused: unknown key, alg none, expired, another
// audience, tampered: 401 invalid_token.
func TestForgedTokensAreRefused(t *testing.T) {
	f := newAPIFixture(t)
	good := f.login(t, f.app, "read").AccessToken
	if r := f.call(t, "GET", "/v1/users/me", good, nil); r.Status != http.StatusOK {
		t.Fatalf("genuine token: got %s, want 200", r)
	}
	ring := serverMinter(t, f)
	claims := protocol.Claims{Subject: f.userID, ClientID: f.app.ClientID, Scopes: []string{"user:information"}, AuthTime: time.Now()}
	mint := func(audience string, now time.Time) string {
		tok, _, err := (&accesstoken.Minter{Keys: ring, Issuer: f.URL, Audience: audience, TTL: time.Minute, Now: func() time.Time { return now }}).Mint(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if r := f.call(t, "GET", "/v1/users/me", mint(f.URL, time.Now()), nil); r.Status != http.StatusOK {
		t.Fatalf("token minted by the test with the server's key: got %s, want 200 (the forgeries below rely on it)", r)
	}

	parts := strings.Split(good, ".")
	var header map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(hb, &header)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	var body map[string]any
	json.Unmarshal(payload, &body)

	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signWith := func(kid string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: stranger, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(body).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tampered := func() string {
		c := cloneMap(body)
		c["scope"] = "user:information funds:withdrawal"
		return parts[0] + "." + b64(c) + "." + parts[2]
	}

	tests := []struct {
		name, token string
	}{
		{"signed by an unknown key", signWith("unknown-kid")},
		{"signed by another key under the server's kid", signWith(header["kid"].(string))},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "at+jwt", "kid": header["kid"].(string)}) + "." + parts[1] + "."},
		{"expired", mint(f.URL, time.Now().Add(-10*time.Minute))},
		{"for another audience", mint("https://other-api.example", time.Now())},
		{"tampered", tampered()},
		{"not a JWT", "aries_rt_notanaccesstoken"},
	}
	for _, tt := range tests {
		r := f.call(t, "GET", "/v1/users/me", tt.token, nil)
		if r.Status != http.StatusUnauthorized || r.errorCode() != "invalid_token" ||
			!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer realm="aries", error="invalid_token"`) {
			t.Errorf("%s: got %s (WWW-Authenticate %q), want 401 invalid_token", tt.name, r, r.Header.Get("WWW-Authenticate"))
		}
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestRevocationReachesTheAPI: a revoked access token, the tokens of a
// revoked refresh token's grant, and every token of a disabled client stop
// working within the revocation interval.
func TestRevocationReachesTheAPI(t *testing.T) {
	const interval = 200 * time.Millisecond
	f := newAPIFixture(t, "--revocation-interval", interval.String())
	// The documented bound is one interval; allow a few for a loaded machine.
	deadline := 10 * interval

	untilRefused := func(t *testing.T, token string) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < deadline+time.Second {
			r := f.call(t, "GET", "/v1/users/me", token, nil)
			if r.Status == http.StatusUnauthorized {
				if !strings.Contains(r.Header.Get("WWW-Authenticate"), "token revoked") {
					t.Errorf("refused with %q, want token revoked", r.Header.Get("WWW-Authenticate"))
				}
				return time.Since(start)
			}
			if r.Status != http.StatusOK {
				t.Fatalf("got %s, want 200 until refused", r)
			}
			time.Sleep(interval / 10)
		}
		t.Fatalf("the token still works %v after it was revoked", deadline+time.Second)
		return 0
	}
	revoke := func(t *testing.T, token string) {
		t.Helper()
		r := f.post(t, "/v1/oauth2/revoke", "application/x-www-form-urlencoded", url.Values{"token": {token}}.Encode(), f.app.ClientID, f.app.ClientSecret)
		if r.Status != http.StatusOK {
			t.Fatalf("revoke: got %d %s", r.Status, r.Error)
		}
	}

	t.Run("access token", func(t *testing.T) {
		tok := f.login(t, f.app, "read").AccessToken
		revoke(t, tok)
		if took := untilRefused(t, tok); took > deadline {
			t.Errorf("revoked after %v, want within %v", took, deadline)
		}
	})
	t.Run("refresh token revokes its grant", func(t *testing.T) {
		r := f.login(t, f.app, "read")
		revoke(t, r.RefreshToken)
		if took := untilRefused(t, r.AccessToken); took > deadline {
			t.Errorf("revoked after %v, want within %v", took, deadline)
		}
	})
	t.Run("disabled client", func(t *testing.T) {
		user := f.login(t, f.app, "read").AccessToken
		own := f.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}, f.app.ClientID, f.app.ClientSecret).AccessToken
		aries(t, f.dir, "clients", "disable", f.app.ClientID)
		if took := untilRefused(t, user); took > deadline {
			t.Errorf("user token revoked after %v, want within %v", took, deadline)
		}
		r := f.call(t, "GET", "/v1/marketdata/search", own, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("client_credentials token of the disabled client: got %s, want 401", r)
		}
	})
}
