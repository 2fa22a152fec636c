package main

// Behind a load balancer (docs/deployment.md): bounded waits on a database
// that stops answering, and trusted proxies. nginx_test.go runs the same
// rules behind Debian's nginx in a browser.

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/testenv"
)

// freezer forwards TCP connections to target until it is frozen. Frozen,
// it keeps every socket open but delivers nothing, in either direction, on
// old connections or new ones: to its clients the server behind it is a
// host whose packets are dropped, not one that refuses (tcpProxy.Cut).
// Thaw delivers again; the connections that lost bytes while frozen are
// closed then, as a peer that reappears after its kernel gave up on them
// would reset them, so no half-delivered request reaches the server.
type freezer struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	frozen bool
	pairs  map[*frozenPair]struct{}
}

type frozenPair struct {
	client, up net.Conn // up is nil for a connection accepted while frozen
	lost       bool     // bytes were dropped: close at Thaw
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, pairs: map[*frozenPair]struct{}{}}
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for p := range f.pairs {
			p.close()
		}
	})
	return f
}

func (f *freezer) Addr() string { return f.ln.Addr().String() }

func (p *frozenPair) close() {
	p.client.Close()
	if p.up != nil {
		p.up.Close()
	}
}

func (f *freezer) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.forward(c)
	}
}

func (f *freezer) forward(c net.Conn) {
	p := &frozenPair{client: c}
	f.mu.Lock()
	f.pairs[p] = struct{}{}
	frozen := f.frozen
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.pairs, p)
		f.mu.Unlock()
		p.close()
	}()
	if frozen {
		// Accepted, and never answered: swallow what the client sends.
		f.mu.Lock()
		p.lost = true
		f.mu.Unlock()
		io.Copy(io.Discard, c)
		return
	}
	up, err := net.DialTimeout("tcp", f.target, 2*time.Second)
	if err != nil {
		return
	}
	f.mu.Lock()
	p.up = up
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { f.copy(p, up, c); done <- struct{}{} }()
	go func() { f.copy(p, c, up); done <- struct{}{} }()
	<-done
}

// copy moves bytes from src to dst while not frozen, and drops them while
// frozen.
func (f *freezer) copy(p *frozenPair, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.mu.Lock()
			deliver := !f.frozen && !p.lost
			if !deliver {
				p.lost = true
			}
			f.mu.Unlock()
			if deliver {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Freeze stops delivering bytes; sockets stay open.
func (f *freezer) Freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen = true
}

// Thaw delivers bytes again and closes the connections that lost some.
func (f *freezer) Thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen = false
	for p := range f.pairs {
		if p.lost {
			p.close()
		}
	}
}

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// TestFrozenDatabaseAnswers503 freezes the connection to PostgreSQL (packets
// dropped, sockets open, as when a network path dies) under an instance
// with --db-timeout 500ms: GET /v1/users/me, a refresh and /readyz each
// answer 503 with Retry-After within the deadline instead of hanging, the
// revocation poller says once that it fails; when the database answers
// again, the same instance serves everything again without a restart, and
// the poller says once that it works.
func TestFrozenDatabaseAnswers503(t *testing.T) {
	db := testenvPostgres(t)
	_, sec := secret.NewMaster()
	c := &cluster{db: db, secret: sec}
	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: "http://127.0.0.1:9/callback"}
	f.userID = clusterJSON[userJSON](t, c, "users", "create", "--email", f.email, "--password", f.password).ID
	f.conf = clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Backend app",
		"--redirect-uri", f.redirectURI, "--scope", "read trade")

	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	fz := newFreezer(t, u.Host)
	const deadline = 500 * time.Millisecond
	inst, logs := startInstance(t, []string{"aries", "--db", withFreezer(t, db, fz), "--secret", sec, "--log-level", "warn",
		"--db-timeout", deadline.String(), "serve", "--addr", "127.0.0.1:0", "--revocation-interval", "200ms"})
	if inst == nil {
		t.Fatalf("aries serve did not start: %s", logs)
	}
	f.testServer = inst
	c.f = f
	tokens := c.exchange(t, inst, f.code(t, f.conf.ClientID, nil))
	testenv.WantTokens(t, tokens, true)
	me := func() testenv.Answer {
		return testenv.Call(t, inst.URL, http.MethodGet, "/v1/users/me", tokens.AccessToken, nil)
	}
	if got := me(); got.Status != http.StatusOK {
		t.Fatalf("GET /v1/users/me before the freeze: %s", got)
	}

	fz.Freeze()
	// The bound: the deadline, plus scheduling on a busy 2-core machine;
	// far below the minutes a frozen TCP connection hangs without it.
	const within = deadline + 1500*time.Millisecond
	var got testenv.Answer
	if d := timed(func() { got = me() }); got.Status != http.StatusServiceUnavailable || got.Header.Get("Retry-After") == "" || d > within {
		t.Errorf("GET /v1/users/me, database frozen: got %d (Retry-After %q) after %v, want 503 with Retry-After within %v",
			got.Status, got.Header.Get("Retry-After"), d, within)
	}
	var refreshed tokenResult
	if d := timed(func() { refreshed = c.refresh(t, inst, tokens.RefreshToken) }); refreshed.Status != http.StatusServiceUnavailable || refreshed.Header.Get("Retry-After") == "" || d > within {
		t.Errorf("refresh, database frozen: got %d %s (Retry-After %q) after %v, want 503 with Retry-After within %v",
			refreshed.Status, refreshed.Error, refreshed.Header.Get("Retry-After"), d, within)
	}
	var ready *http.Response
	if d := timed(func() { ready, _ = get(t, http.DefaultClient, inst.URL+"/readyz") }); ready.StatusCode != http.StatusServiceUnavailable || d > 2*time.Second {
		t.Errorf("/readyz, database frozen: got %d after %v, want 503 within 2s", ready.StatusCode, d)
	}
	// The poller (every 200ms) fails, gives up at its deadline, retries.
	waitFor(t, 10*time.Second, "the revocation poller to report the outage", func() bool {
		return strings.Contains(logs.String(), "revocation poll failed")
	})

	fz.Thaw()
	// The pool drops the connections that died and opens new ones: the
	// same instance recovers within a few attempts.
	waitFor(t, 10*time.Second, "GET /v1/users/me to succeed after the thaw", func() bool { return me().Status == http.StatusOK })
	waitReady(t, inst, 5*time.Second)
	// The refresh refused during the freeze never reached the database:
	// the refresh token is still the current one.
	testenv.WantTokens(t, c.refresh(t, inst, tokens.RefreshToken), true)
	waitFor(t, 10*time.Second, "the revocation poller to report the recovery", func() bool {
		return strings.Contains(logs.String(), "revocation poll works again")
	})
	if n := strings.Count(logs.String(), "revocation poll failed"); n != 1 {
		t.Errorf("the revocation poller's outage was logged %d times, want once:\n%s", n, logs)
	}
}

// testenvPostgres returns a fresh PostgreSQL database, or skips (fails in
// CI) without one.
func testenvPostgres(t *testing.T) string {
	t.Helper()
	db, _ := scaleOutServers(t)
	return db
}

// withFreezer returns rawURL with its host replaced by the freezer's.
func withFreezer(t *testing.T, rawURL string, f *freezer) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = f.Addr()
	return u.String()
}

// waitFor polls cond every 50ms until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s", d, what)
		}
	}
}

// TestTrustedProxies runs one instance whose load balancer is 127.0.0.1
// (--trusted-proxies). Behind it, a stranger's failed client
// authentications throttle the stranger's forwarded address only: the
// backend that owns the client, forwarded from another address, still gets
// its token. A peer that is not a trusted proxy (127.0.0.3 stands for
// another machine) gains nothing by sending X-Forwarded-For: its spoofed
// addresses are ignored and its own is throttled.
func TestTrustedProxies(t *testing.T) {
	f := newFixture(t, "--trusted-proxies", "127.0.0.1/32")
	clientCredentials := func(from, forwardedFor, secret string) testenv.Answer {
		t.Helper()
		body := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()
		req, err := http.NewRequest(http.MethodPost, f.URL+"/v1/oauth2/token", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		req.SetBasicAuth(url.QueryEscape(f.conf.ClientID), url.QueryEscape(secret))
		return testenv.Do(t, testenv.BrowserFrom(t, from), req)
	}

	// Through the trusted proxy.
	for i := range 11 {
		got := clientCredentials("127.0.0.1", "198.51.100.66", "wrong secret")
		want := http.StatusUnauthorized
		if i == 10 {
			want = http.StatusTooManyRequests
		}
		if got.Status != want {
			t.Fatalf("stranger's call %d behind the proxy: got %s, want %d", i+1, got, want)
		}
	}
	if got := clientCredentials("127.0.0.1", "198.51.100.10", f.conf.ClientSecret); got.Status != http.StatusOK {
		t.Errorf("the backend behind the proxy after the stranger's failures: got %s, want 200", got)
	}

	// From an untrusted peer, each call claiming another address.
	for i := range 11 {
		got := clientCredentials("127.0.0.3", "203.0.113."+string(rune('1'+i%9)), "wrong secret")
		want := http.StatusUnauthorized
		if i == 10 {
			want = http.StatusTooManyRequests
		}
		if got.Status != want {
			t.Fatalf("spoofing call %d from an untrusted peer: got %s, want %d (X-Forwarded-For ignored)", i+1, got, want)
		}
	}
	if got := clientCredentials("127.0.0.3", "198.51.100.10", f.conf.ClientSecret); got.Status != http.StatusTooManyRequests {
		t.Errorf("a correct call from the throttled untrusted peer claiming another address: got %s, want 429", got)
	}
}

// TestSignInBehindPortStrippingProxy signs in through a proxy that forwards
// Host without the port (nginx's $host) in front of an https issuer with
// one, from a browser that sends Origin but not Sec-Fetch-Site: the origin
// check compares Origin with the issuer, so the form goes through, and a
// form from another site is still refused.
func TestSignInBehindPortStrippingProxy(t *testing.T) {
	const issuer = "https://aries.example:8443"
	f := newFixture(t, "--issuer", issuer)
	signIn := func(origin string) *http.Response {
		t.Helper()
		send := func(method, path string, body url.Values, cookies []*http.Cookie) *http.Response {
			var rd io.Reader
			if body != nil {
				rd = strings.NewReader(body.Encode())
			}
			req, err := http.NewRequest(method, f.URL+path, rd)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "aries.example"
			if body != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", origin)
			}
			// The cookies are Secure (__Host-): a browser sends them over
			// https to the proxy; the proxy forwards them over http.
			for _, c := range cookies {
				req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			resp, err := testenv.Browser(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		page := send(http.MethodGet, "/login?return_to=%2Fclients", nil, nil)
		body, _ := io.ReadAll(page.Body)
		page.Body.Close()
		action, fields := form(t, string(body))
		fields.Set("email", f.email)
		fields.Set("password", f.password)
		resp := send(http.MethodPost, action, fields, page.Cookies())
		resp.Body.Close()
		return resp
	}
	if resp := signIn(issuer); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Errorf("sign-in with the issuer's Origin, Host without port: got %d, want a redirect", resp.StatusCode)
	}
	if resp := signIn("https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in with a foreign Origin: got %d, want 403", resp.StatusCode)
	}
}
