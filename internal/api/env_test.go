package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// env is the API mounted as the server mounts it (Register), over a real
// store at a test clock, with the default rate limits unless a test sets
// its own, and a backend app that may hold every bundle (read, trade,
// withdraw). Tokens are minted with the env's keyring, under live grants,
// as the token endpoint mints them.
type env struct {
	*testenv.Env
	URL    string
	api    *API
	minter *accesstoken.Minter
	app    store.Client
}

type options struct {
	limits    []string          // CATEGORY=COUNT/PERIOD, as --rate-limit
	upstreams map[string]string // route prefix to URL, as --upstream
}

func newEnv(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	e := &env{Env: testenv.New(t)}
	e.app, _ = e.NewClient(store.Client{Name: "Trading app", Scopes: testenv.Scopes(t, "read trade withdraw")})
	ring := e.Keyring()
	e.minter = &accesstoken.Minter{Keys: ring, Issuer: testenv.Issuer, Audience: testenv.Issuer, TTL: 15 * time.Minute, Now: e.Clock.Now}

	limits := ratelimit.DefaultLimits()
	for _, spec := range o.limits {
		if err := limits.Set(spec); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	a, err := New(context.Background(), Config{
		Tokens: bearer.Config{Issuer: testenv.Issuer, Audience: testenv.Issuer,
			KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) }},
		Revocations: e.Store, Users: e.Store, Ledger: e.Store,
		Limits:    &ratelimit.Policy{Limiter: ratelimit.NewMemory(), Limits: limits, Now: e.Clock.Now, Logger: logger},
		Upstreams: o.upstreams, AccessTokenTTL: 15 * time.Minute, Now: e.Clock.Now, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

func withLimits(specs ...string) func(*options) {
	return func(o *options) { o.limits = append(o.limits, specs...) }
}

func withUpstream(prefix, u string) func(*options) {
	return func(o *options) {
		if o.upstreams == nil {
			o.upstreams = map[string]string{}
		}
		o.upstreams[prefix] = u
	}
}

// issued is an access token and what it carries.
type issued struct {
	Token  string
	Claims protocol.Claims
}

// login is what a code exchange gives user u of client c for scopes (a
// space-separated list, bundles allowed): an access token under a live
// grant.
func (e *env) login(t *testing.T, c store.Client, u store.User, scopes string) issued {
	t.Helper()
	s := testenv.Scopes(t, scopes)
	g := e.NewGrant(testenv.Code{ClientID: c.ID, UserID: u.ID, RedirectURI: c.RedirectURIs[0], Scopes: s})
	return e.mint(t, protocol.Claims{Subject: u.ID, ClientID: c.ID, Scopes: s, AuthTime: e.Now(), AMR: []string{"pwd"}, GrantID: g.ID})
}

// clientToken is what client_credentials gives c: no user, the client as
// the subject.
func (e *env) clientToken(t *testing.T, c store.Client, scopes string) issued {
	t.Helper()
	return e.mint(t, protocol.Claims{Subject: c.ID, ClientID: c.ID, Scopes: testenv.Scopes(t, scopes)})
}

func (e *env) mint(t *testing.T, c protocol.Claims) issued {
	t.Helper()
	tok, claims, err := e.minter.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return issued{Token: tok, Claims: claims}
}

func (e *env) call(t *testing.T, method, path, token string, body any, extra ...string) testenv.Answer {
	t.Helper()
	return testenv.Call(t, e.URL, method, path, token, body, extra...)
}

// accountID returns the token's user's paper account id (opening it).
func (e *env) accountID(t *testing.T, token string) string {
	t.Helper()
	r := e.call(t, "GET", "/v1/users/me/accounts", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/users/me/accounts: got %s, want 200", r)
	}
	var out struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	r.Decode(t, &out)
	if len(out.Accounts) != 1 {
		t.Fatalf("got %d accounts, want the one paper account", len(out.Accounts))
	}
	return out.Accounts[0].ID
}

// restingOrder places a limit buy that cannot fill (every simulated price
// is above $10) and returns its id.
func (e *env) restingOrder(t *testing.T, token string) string {
	t.Helper()
	r := e.call(t, "POST", "/v1/orders", token, map[string]any{"symbol": "AAPL", "side": "buy", "type": "limit", "quantity": 1, "limit_price": "0.01"})
	if r.Status != http.StatusCreated {
		t.Fatalf("placing a resting order: got %s, want 201", r)
	}
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	r.Decode(t, &o)
	if o.Status != "open" {
		t.Fatalf("limit buy at $0.01: got status %q, want open", o.Status)
	}
	return o.ID
}

// routeCall is the request that exercises rt: the path with the account id
// and a valid body.
func routeCall(rt Route, account, openOrder, cancelOrder string) (path string, body any) {
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
			"user": r.Header.Get(HeaderUser), "client": r.Header.Get(HeaderClient), "scopes": r.Header.Get(HeaderScopes),
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
	writeFrame(brw.Writer, "hello "+r.Header.Get(HeaderUser)+" auth="+r.Header.Get("Authorization"), false)
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
func (e *env) webSocket(t *testing.T, path, token string) int {
	t.Helper()
	u, _ := url.Parse(e.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	keyBytes := make([]byte, 16)
	rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	req, _ := http.NewRequest("GET", e.URL+path, nil)
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
