package main

// Scale-out tests: several `aries serve` instances in this process, on one
// PostgreSQL database and one Redis, behind a round-robin load balancer, as
// README's "Production" section describes. Each test gets a fresh database
// (package pgtest) and its own clients, so its rate-limit keys in Redis are
// its own too.
//
// Outages are simulated with TCP proxies this test controls (tcpProxy):
// the instances reach PostgreSQL or Redis through one, and cutting it drops
// every connection and refuses new ones, exactly as a dead server would,
// without stopping the real server that other tests and programs on the
// machine share.
//
// Without ARIES_TEST_POSTGRES_URL and ARIES_TEST_REDIS_URL the tests say
// they are skipped and why; with CI set they fail instead (.ci/run starts
// both servers and sets both variables). TestGracefulShutdown and
// TestProductionFlagErrors need neither.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// redisServerURL returns ARIES_TEST_REDIS_URL, or skips (fails in CI) when
// it is unset or Redis does not answer.
func redisServerURL(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("ARIES_TEST_REDIS_URL")
	why := ""
	if raw == "" {
		why = "ARIES_TEST_REDIS_URL is not set; set it to e.g. redis://127.0.0.1:6379/0 to run the scale-out tests"
	} else {
		opts, err := redis.ParseURL(raw)
		if err != nil {
			t.Fatalf("ARIES_TEST_REDIS_URL: %v", err)
		}
		opts.DisableIdentity = true
		c := redis.NewClient(opts)
		err = c.Ping(t.Context()).Err()
		c.Close()
		if err != nil {
			why = fmt.Sprintf("Redis at %s does not answer: %v", opts.Addr, err)
		}
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the scale-out tests: %s", why)
		}
		t.Skipf("skipped: %s", why)
	}
	return raw
}

// tcpProxy forwards connections to target until it is cut. Cut closes every
// open connection and, until Restore, closes each new one at once: to its
// clients the server behind it is dead.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
	})
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *tcpProxy) forward(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	defer p.untrack(c)
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(up) {
		up.Close()
		c.Close()
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// track registers c, or reports false while the proxy is cut.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// Cut drops every connection and refuses new ones.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Restore lets connections through again.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// balancer is a round-robin HTTP load balancer in front of the instances.
// It keeps the Host header, as a load balancer does, and records which
// instance served each request.
type balancer struct {
	URL      string
	backends []*httputil.ReverseProxy
	next     atomic.Uint64

	mu     sync.Mutex
	served []int
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int((b.next.Add(1) - 1) % uint64(len(b.backends)))
	b.mu.Lock()
	b.served = append(b.served, i)
	b.mu.Unlock()
	b.backends[i].ServeHTTP(w, r)
}

// servedSince returns the instances that served the requests after the
// first n the balancer saw.
func (b *balancer) servedSince(n int) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.served[n:])
}

func (b *balancer) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.served)
}

// cluster is several instances on one database and one Redis.
type cluster struct {
	db        string // the database, reached directly
	secret    string
	lb        *balancer
	instances []*testServer
	stderr    []*syncBuffer
	f         *fixture // a user and two clients; its URL is the balancer's
}

type clusterConfig struct {
	instances int
	dbVia     *tcpProxy // when set, instances reach PostgreSQL through it
	redisVia  *tcpProxy // when set, instances reach Redis through it
	flags     []string  // extra serve flags
}

// withProxy returns rawURL with its host replaced by the proxy's address.
func withProxy(t *testing.T, rawURL string, p *tcpProxy) string {
	t.Helper()
	if p == nil {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// hostOf returns host:port of a URL.
func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// newCluster makes a fresh database with a user and two clients, then
// starts the instances and the balancer. db and redisURL are the servers'
// real URLs; cfg's proxies, if any, must forward to them.
func newCluster(t *testing.T, db, redisURL string, cfg clusterConfig) *cluster {
	t.Helper()
	_, sec := secret.NewMaster()
	c := &cluster{db: db, secret: sec}

	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: "http://127.0.0.1:9/callback"}
	u := clusterJSON[userJSON](t, c, "users", "create", "--email", f.email, "--password", f.password)
	f.userID = u.ID
	f.conf = clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Backend app",
		"--redirect-uri", f.redirectURI, "--scope", "read trade")
	f.public = clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Mobile app", "--public",
		"--redirect-uri", f.redirectURI, "--scope", "read")
	f.rs = clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Orders API", "--resource-server",
		"--redirect-uri", f.redirectURI, "--scope", "read")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.lb = &balancer{URL: "http://" + ln.Addr().String()}
	args := []string{"aries", "--db", withProxy(t, db, cfg.dbVia), "--secret", sec, "--log-level", "warn"}
	if redisURL != "" {
		args = append(args, "--redis", withProxy(t, redisURL, cfg.redisVia))
	}
	args = append(args, "serve", "--addr", "127.0.0.1:0", "--issuer", c.lb.URL)
	args = append(args, cfg.flags...)

	// Start them together: they share the database from the first moment.
	c.instances = make([]*testServer, cfg.instances)
	c.stderr = make([]*syncBuffer, cfg.instances)
	var wg sync.WaitGroup
	for i := range cfg.instances {
		wg.Go(func() { c.instances[i], c.stderr[i] = startInstance(t, args) })
	}
	wg.Wait()
	for i, inst := range c.instances {
		if inst == nil {
			t.Fatalf("instance %d did not start: %s", i, c.stderr[i])
		}
		target, _ := url.Parse(inst.URL)
		rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		}}
		c.lb.backends = append(c.lb.backends, rp)
	}
	hs := &http.Server{Handler: c.lb, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	f.testServer = &testServer{URL: c.lb.URL}
	c.f = f
	return c
}

// aries runs a CLI command against the cluster's database.
func (c *cluster) aries(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"aries", "--db", c.db, "--secret", c.secret}, args...)
	status = run(context.Background(), full, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), status
}

func clusterJSON[T any](t *testing.T, c *cluster, args ...string) T {
	t.Helper()
	out, errOut, status := c.aries(t, append(args, "--json")...)
	if status != 0 {
		t.Fatalf("aries %s: status %d: %s", strings.Join(args, " "), status, errOut)
	}
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("aries %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startInstance runs `aries serve` with args in this process until the test
// ends, and returns it once it listens (nil if it stopped first) with what
// it writes to stderr.
func startInstance(t *testing.T, args []string) (*testServer, *syncBuffer) {
	t.Helper()
	inst, errOut, _ := startStoppable(t, args)
	return inst, errOut
}

// startStoppable is startInstance that also returns stop, which does what
// SIGTERM does (cancels run's context) and returns the exit status once
// run has returned. The test's end stops it if the test did not.
func startStoppable(t *testing.T, args []string) (*testServer, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errOut := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		status := run(ctx, args, strings.NewReader(""), pw, errOut)
		pw.Close()
		done <- status
	}()
	var once sync.Once
	status := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case status = <-done:
			case <-time.After(30 * time.Second):
				t.Error("aries serve did not stop within 30s")
			}
		})
		return status
	}
	t.Cleanup(func() {
		if got := stop(); got != 0 {
			t.Errorf("aries serve: status %d: %s", got, errOut)
		}
	})
	lines := bufio.NewScanner(pr)
	var metricsURL string
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "Aries is listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			go io.Copy(io.Discard, pr)
			return &testServer{URL: "http://" + addr, MetricsURL: metricsURL}, errOut, stop
		}
		metricsURL = metricsBase(lines.Text(), metricsURL)
	}
	return nil, errOut, stop
}

// refresh and exchange post the confidential client's refresh and code
// grants to one instance.
func (c *cluster) refresh(t *testing.T, at *testServer, refreshToken string) tokenResult {
	t.Helper()
	return at.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {c.f.conf.ClientID},
		"client_secret": {c.f.conf.ClientSecret}, "refresh_token": {refreshToken}})
}

func (c *cluster) exchange(t *testing.T, at *testServer, code string) tokenResult {
	t.Helper()
	return at.token(t, url.Values{"grant_type": {"code"}, "client_id": {c.f.conf.ClientID},
		"client_secret": {c.f.conf.ClientSecret}, "code": {code}, "redirect_uri": {c.f.redirectURI}})
}

// introspectAt asks instance at about tok.
func (c *cluster) introspectAt(t *testing.T, at *testServer, tok string) introspection {
	t.Helper()
	f := *c.f
	f.testServer = at
	return f.introspect(t, tok)
}

// metric returns the value of one sample of an instance's /metrics (on its
// --metrics-addr listener), or -1 when it is absent.
func metric(t *testing.T, at *testServer, sample string) float64 {
	t.Helper()
	if at.MetricsURL == "" {
		t.Fatalf("instance %s serves no metrics", at.URL)
	}
	resp, page := get(t, http.DefaultClient, at.MetricsURL+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	for line := range strings.Lines(page) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", sample, err)
			}
			return v
		}
	}
	return -1
}

// scaleOutServers returns the test database and Redis, or skips.
func scaleOutServers(t *testing.T) (db, redisURL string) {
	t.Helper()
	redisURL = redisServerURL(t)
	return pgtest.Database(t), redisURL
}

// generous lifts the authentication limit, for tests that send one user's
// requests in bursts; TestScaleOutSharedLimit checks the default.
var generous = []string{"--rate-limit", "authentication=1000/1m"}

// revocationInterval is how often TestScaleOut's instances poll for
// revocations (the default is 5 s).
const revocationInterval = time.Second

func TestScaleOut(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3,
		flags: append([]string{"--revocation-interval", revocationInterval.String()}, generous...)})
	a, b, cc := c.instances[0], c.instances[1], c.instances[2]

	t.Run("a code issued through A is redeemed at B", func(t *testing.T) {
		code := c.f.code(t, c.f.conf.ClientID, nil) // through the balancer
		got := c.exchange(t, b, code)
		wantTokens(t, got, true)
		if in := c.introspectAt(t, cc, got.AccessToken); !in.Active || in.Sub != c.f.userID {
			t.Errorf("introspection at C of a token issued at B: %+v, want active for %s", in, c.f.userID)
		}
		// Its reuse at another instance is caught: the code is spent in
		// the shared database, not in B's memory.
		wantError(t, c.exchange(t, a, code), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("a refresh replay at C revokes the family created at A", func(t *testing.T) {
		first := c.exchange(t, a, c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, first, true)
		second := c.refresh(t, b, first.RefreshToken)
		wantTokens(t, second, true)

		wantError(t, c.refresh(t, cc, first.RefreshToken), http.StatusBadRequest, "invalid_grant")
		// The whole family is dead, everywhere.
		wantError(t, c.refresh(t, a, second.RefreshToken), http.StatusBadRequest, "invalid_grant")
		for i, inst := range c.instances {
			if in := c.introspectAt(t, inst, second.AccessToken); in.Active {
				t.Errorf("instance %d: the family's access token is still active after the replay", i)
			}
		}
		if got := metric(t, cc, "aries_refresh_token_replays_total"); got != 1 {
			t.Errorf("C's aries_refresh_token_replays_total: got %v, want 1", got)
		}
	})

	t.Run("30 concurrent refreshes across the instances: exactly one succeeds", func(t *testing.T) {
		first := c.exchange(t, a, c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, first, true)
		const n = 30
		results := make([]tokenResult, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i] = c.refresh(t, c.instances[i%len(c.instances)], first.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, r := range results {
			switch {
			case r.Status == http.StatusOK:
				wins++
			case r.Status == http.StatusBadRequest && r.Error == "invalid_grant":
			default:
				t.Errorf("refresh %d: got %d %s (%s), want 200 or 400 invalid_grant", i, r.Status, r.Error, r.Description)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent refreshes of one token: got %d successes, want exactly 1", n, wins)
		}
	})

	t.Run("a revocation at A reaches the API of every instance within the interval", func(t *testing.T) {
		got := c.exchange(t, b, c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, got, true)
		me := func(inst *testServer) int {
			req, _ := http.NewRequest(http.MethodGet, inst.URL+"/v1/users/me", nil)
			req.Header.Set("Authorization", "Bearer "+got.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for i, inst := range c.instances {
			if status := me(inst); status != http.StatusOK {
				t.Fatalf("instance %d: GET /v1/users/me with a fresh token: %d, want 200", i, status)
			}
		}
		revoked := a.post(t, "/v1/oauth2/revoke", "application/x-www-form-urlencoded",
			url.Values{"token": {got.AccessToken}}.Encode(), c.f.conf.ClientID, c.f.conf.ClientSecret)
		if revoked.Status != http.StatusOK {
			t.Fatalf("revoke at A: %d %s", revoked.Status, revoked.Error)
		}
		start := time.Now()
		// The documented delay is about one polling interval (1 s here);
		// allow three for a loaded machine.
		for i, inst := range c.instances {
			for me(inst) != http.StatusUnauthorized {
				if time.Since(start) > 3*revocationInterval {
					t.Fatalf("instance %d still accepts the token %v after its revocation at A; its log:\n%s", i, time.Since(start), c.stderr[i])
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("every instance refused the revoked token within %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a browser flow whose steps alternate between instances completes", func(t *testing.T) {
		before := c.lb.count()
		verifier, challenge := pkcePair()
		code := c.f.code(t, c.f.public.ClientID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		served := c.lb.servedSince(before)
		if len(served) < 3 {
			t.Fatalf("the flow made %d requests, want at least 3 (page, sign-in, consent)", len(served))
		}
		for i := 1; i < len(served); i++ {
			if served[i] == served[i-1] {
				t.Errorf("steps %d and %d were served by the same instance (%v); the balancer should alternate", i-1, i, served)
			}
		}
		// And the code works at yet another instance.
		got := cc.token(t, url.Values{"grant_type": {"code"}, "client_id": {c.f.public.ClientID},
			"code": {code}, "redirect_uri": {c.f.redirectURI}, "code_verifier": {verifier}})
		wantTokens(t, got, true)
	})
}

// mfaSignIn drives the hosted pages through the balancer for an MFA user:
// password, TOTP step, consent. It returns the redirect to the client.
func (c *cluster) mfaSignIn(t *testing.T, u mfaAccount, q url.Values) *url.URL {
	t.Helper()
	br := browser(t)
	resp, page := get(t, br, c.lb.URL+"/oauth2/authorize?"+q.Encode())
	for range 8 {
		switch {
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="password"`):
			action, fields := form(t, page)
			fields.Set("email", u.Email)
			fields.Set("password", u.password)
			resp, page = postForm(t, br, c.lb.URL+action, fields)
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="code"`):
			action, fields := form(t, page)
			fields.Set("code", u.code(t, 0))
			resp, page = postForm(t, br, c.lb.URL+action, fields)
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`):
			action, fields := form(t, page)
			fields.Set("decision", "approve")
			resp, page = postForm(t, br, c.lb.URL+action, fields)
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, err := resp.Location()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(loc.String(), c.lb.URL) {
				return loc
			}
			resp, page = get(t, br, loc.String())
		default:
			t.Fatalf("unexpected step: %d\n%s", resp.StatusCode, page)
		}
	}
	t.Fatal("the flow did not reach the client within 8 steps")
	return nil
}

// TestScaleOutMFA: the state of an MFA sign-in (the challenge, the TOTP
// replay guard) lives in the database, so each step can reach another
// instance: the hosted pages' TOTP step, and the first-party session_token
// (docs/protocol.md#mfa-verification).
func TestScaleOutMFA(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3, flags: generous})
	u := clusterJSON[userJSON](t, c, "users", "create", "--email", "mfa@example.com", "--password", "mfa user password", "--mfa")
	if !u.MFA || u.TOTPSecret == "" {
		t.Fatalf("users create --mfa: got %+v", u)
	}
	user := mfaAccount{userJSON: u, password: "mfa user password"}

	t.Run("hosted pages", func(t *testing.T) {
		before := c.lb.count()
		loc := c.mfaSignIn(t, user, url.Values{"response_type": {"code"}, "client_id": {c.f.conf.ClientID},
			"redirect_uri": {c.f.redirectURI}, "scope": {"read"}, "state": {"xyz"}})
		served := c.lb.servedSince(before)
		if len(served) < 4 {
			t.Errorf("the flow made %d requests (%v), want at least 4 (page, password, code, consent)", len(served), served)
		}
		got := c.exchange(t, c.instances[0], loc.Query().Get("code"))
		wantTokens(t, got, true)
		if in := c.introspectAt(t, c.instances[1], got.AccessToken); !slices.Contains(in.AMR, "otp") || in.Sub != u.ID {
			t.Errorf("introspection %+v: want the MFA user with amr otp", in)
		}
	})

	t.Run("first-party session_token", func(t *testing.T) {
		app := clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Aries app", "--first-party",
			"--redirect-uri", c.f.redirectURI, "--scope", "read trade")
		at := func(i int) *fixture {
			f := *c.f
			f.testServer = c.instances[i]
			return &f
		}
		first := at(0).signInFirstParty(t, app, u.Email, user.password, "read")
		if first.Status != http.StatusForbidden || !first.MFARequired || first.SessionToken == "" {
			t.Fatalf("first-party sign-in at A: got %d %s, want 403 with mfa_required and a session_token", first.Status, first.Body)
		}
		// A wrong code at B counts against the challenge; the right one at
		// C completes it; the code a TOTP step accepted is not accepted
		// again anywhere.
		wrong := at(1).verifyMFA(t, app, first.SessionToken, user.wrongCode(t))
		if wrong.Status != http.StatusBadRequest || wrong.Error != "invalid_mfa_code" {
			t.Errorf("wrong code at B: got %d %s, want 400 invalid_mfa_code", wrong.Status, wrong.Body)
		}
		ok := at(2).verifyMFA(t, app, first.SessionToken, user.code(t, 1))
		if ok.Status != http.StatusOK || ok.AuthorizationCode == "" {
			t.Fatalf("right code at C: got %d %s, want 200 with an authorization_code", ok.Status, ok.Body)
		}
		again := at(0).verifyMFA(t, app, first.SessionToken, user.code(t, 1))
		if again.Status == http.StatusOK {
			t.Errorf("the completed session_token worked again at A: %s", again.Body)
		}
		got := c.instances[1].token(t, url.Values{"grant_type": {"code"}, "client_id": {app.ClientID},
			"client_secret": {app.ClientSecret}, "code": {ok.AuthorizationCode}, "redirect_uri": {c.f.redirectURI}})
		wantTokens(t, got, true)
	})
}

// TestScaleOutSharedLimit: the authentication limit (10 a minute per
// client and source) holds across instances, in Redis: the 11th request
// gets 429 whichever instance it reaches.
func TestScaleOutSharedLimit(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3})
	bad := url.Values{"grant_type": {"code"}, "client_id": {c.f.conf.ClientID},
		"client_secret": {c.f.conf.ClientSecret}, "code": {"not-a-code"}, "redirect_uri": {c.f.redirectURI}}
	for i := range 10 {
		got := c.instances[i%3].token(t, bad)
		wantError(t, got, http.StatusBadRequest, "invalid_grant")
		if got.Header.Get("X-RateLimit-Limit") != "10" {
			t.Errorf("request %d: X-RateLimit-Limit %q, want 10", i+1, got.Header.Get("X-RateLimit-Limit"))
		}
	}
	for i := range 3 {
		got := c.instances[(10+i)%3].token(t, bad)
		wantError(t, got, http.StatusTooManyRequests, "rate_limited")
		if got.Header.Get("Retry-After") == "" {
			t.Errorf("request %d at instance %d: 429 without Retry-After", 11+i, (10+i)%3)
		}
	}
	var limited float64
	for _, inst := range c.instances {
		limited += metric(t, inst, `aries_rate_limited_total{category="authentication"}`)
	}
	if limited != 3 {
		t.Errorf("aries_rate_limited_total{category=\"authentication\"} summed over the instances: got %v, want 3", limited)
	}
}

// load sends refresh requests for several token families, round-robin over
// the instances, until stop is closed; it records every answer.
type load struct {
	c        *cluster
	mu       sync.Mutex
	issued   []string // refresh tokens answered with 200
	statuses map[int]int
	bad      []string // answers that break the rules
	lastGood []string // per family, the newest refresh token it holds
}

func (l *load) run(t *testing.T, families []string, stop <-chan struct{}) {
	l.statuses = map[int]int{}
	l.lastGood = slices.Clone(families)
	var wg sync.WaitGroup
	for fam := range families {
		wg.Go(func() {
			prev := 0
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				inst := l.c.instances[(fam+i)%len(l.c.instances)]
				tok := l.lastGood[fam]
				got := l.c.refresh(t, inst, tok)
				l.mu.Lock()
				l.statuses[got.Status]++
				switch {
				case got.Status == http.StatusOK:
					l.issued = append(l.issued, got.RefreshToken)
					l.lastGood[fam] = got.RefreshToken
				case got.Status == http.StatusServiceUnavailable && got.Header.Get("Retry-After") != "" && got.Error == "server_error":
				case got.Status == http.StatusBadRequest && got.Error == "invalid_grant" && prev == http.StatusServiceUnavailable:
					// After a 503, a rotation may have committed just as
					// the connection was cut: the 503 hid a stored token
					// and this retry is a replay. Safe (nothing unstored
					// was issued), and the family is rightly dead.
					l.mu.Unlock()
					return
				default:
					l.bad = append(l.bad, fmt.Sprintf("%d %s %q (Retry-After %q)", got.Status, got.Error, got.Description, got.Header.Get("Retry-After")))
				}
				l.mu.Unlock()
				prev = got.Status
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// TestScaleOutPostgresOutage cuts PostgreSQL while the instances refresh
// tokens: requests fail with 503 and Retry-After, every token answered with
// 200 is in the database, and the instances recover without a restart.
func TestScaleOutPostgresOutage(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	pg := newProxy(t, hostOf(t, db))
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3, dbVia: pg, flags: generous})

	// Six token families, each a signed-in user's refresh chain.
	var families []string
	for range 6 {
		got := c.exchange(t, c.instances[0], c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, got, true)
		families = append(families, got.RefreshToken)
	}

	l := &load{c: c}
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		l.run(t, families, stop)
	}()

	time.Sleep(time.Second)
	pg.Cut()
	// While the database is away, every instance says it is not ready.
	deadline := time.Now().Add(5 * time.Second)
	for i, inst := range c.instances {
		for {
			resp, _ := get(t, http.DefaultClient, inst.URL+"/readyz")
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("instance %d: /readyz answers %d during the outage, want 503 with Retry-After", i, resp.StatusCode)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second)
	pg.Restore()
	time.Sleep(2 * time.Second)
	close(stop)
	<-loaded

	for _, b := range l.bad {
		t.Errorf("during the outage: %s; want 200, or 503 server_error with Retry-After", b)
	}
	if l.statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no request failed during the outage (%v): the cut did not take", l.statuses)
	}
	if l.statuses[http.StatusOK] == 0 {
		t.Errorf("no request succeeded (%v)", l.statuses)
	}

	// Nothing was issued that was not stored: every refresh token answered
	// with 200 is in the database.
	hasher := mustMaster(t, c.secret).Hasher()
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, tok := range l.issued {
		var one int
		err := conn.QueryRow(t.Context(), `SELECT 1 FROM refresh_tokens WHERE hash = $1`, hasher.Hash(tok)).Scan(&one)
		if err != nil {
			t.Errorf("a refresh token answered with 200 is not in the database: %v", err)
		}
	}
	t.Logf("%d refreshes answered with 200 and verified stored; statuses %v", len(l.issued), l.statuses)

	// Recovered without a restart: ready, and serving from the database.
	for i, inst := range c.instances {
		waitReady(t, inst, 10*time.Second)
		got := inst.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}},
			c.f.conf.ClientID, c.f.conf.ClientSecret)
		if got.Status != http.StatusOK {
			t.Errorf("instance %d after the outage: client_credentials got %d %s", i, got.Status, got.Error)
		}
	}
	got := c.exchange(t, c.instances[1], c.f.code(t, c.f.conf.ClientID, nil))
	wantTokens(t, got, true)
	wantTokens(t, c.refresh(t, c.instances[2], got.RefreshToken), true)
	if errs := metric(t, c.instances[0], "aries_store_errors_total"); errs <= 0 {
		t.Errorf("aries_store_errors_total after the outage: got %v, want it counted", errs)
	}
}

func waitReady(t *testing.T, inst *testServer, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, _ := get(t, http.DefaultClient, inst.URL+"/readyz")
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz: still %d after %v", inst.URL, resp.StatusCode, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustMaster(t *testing.T, encoded string) secret.Master {
	t.Helper()
	m, err := secret.ParseMaster(encoded)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestScaleOutRedisOutage cuts Redis while the instances serve token
// requests: they go on serving on per-instance limits, say so in their logs
// and metrics, and return to the shared limits when Redis is back.
func TestScaleOutRedisOutage(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	rp := newProxy(t, hostOf(t, redisURL))
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3, redisVia: rp})

	creds := func(i int) tokenResult {
		return c.instances[i%3].token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}},
			c.f.conf.ClientID, c.f.conf.ClientSecret)
	}
	check := func(phase string, i int, got tokenResult) {
		t.Helper()
		switch got.Status {
		case http.StatusOK, http.StatusTooManyRequests:
			if got.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("%s, request %d: %d without X-RateLimit-Limit", phase, i, got.Status)
			}
		default:
			t.Errorf("%s, request %d: got %d %s (%s), want it served (200) or limited (429)", phase, i, got.Status, got.Error, got.Description)
		}
	}
	for i := range 6 {
		check("before the outage", i, creds(i))
	}

	// Background load across the cut: refreshes of two token families,
	// keyed on the user, so they do not touch the budget counted below.
	var bg []string
	for range 2 {
		got := c.exchange(t, c.instances[0], c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, got, true)
		bg = append(bg, got.RefreshToken)
	}
	stop := make(chan struct{})
	var bgWG sync.WaitGroup
	var bgMu sync.Mutex
	bgStatuses := map[int]int{}
	for fam := range bg {
		bgWG.Go(func() {
			tok := bg[fam]
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				got := c.refresh(t, c.instances[i%3], tok)
				check("background load", i, got)
				if got.Status == http.StatusOK {
					tok = got.RefreshToken
				}
				bgMu.Lock()
				bgStatuses[got.Status]++
				bgMu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	defer func() {
		close(stop)
		bgWG.Wait()
		t.Logf("background refreshes across the outage: %v", bgStatuses)
	}()
	time.Sleep(200 * time.Millisecond)

	rp.Cut()
	ok := 0
	for i := range 36 {
		got := creds(i)
		check("during the outage", i, got)
		if got.Status == http.StatusOK {
			ok++
		}
	}
	// Only 4 of the shared budget of 10 were left; on local limits each
	// of the three instances allows its own 10, and still no more.
	if ok != 30 {
		t.Errorf("during the outage: %d of 36 requests served, want 30 (10 on each instance's local limits)", ok)
	}
	for i, inst := range c.instances {
		if got := metric(t, inst, "aries_rate_limit_fallback"); got != 1 {
			t.Errorf("instance %d: aries_rate_limit_fallback %v during the outage, want 1", i, got)
		}
		if !strings.Contains(c.stderr[i].String(), "shared rate limiter failed") {
			t.Errorf("instance %d logged no word of the outage:\n%s", i, c.stderr[i])
		}
	}

	rp.Restore()
	// Each instance tries Redis again within its retry interval (5 s).
	deadline := time.Now().Add(15 * time.Second)
	for i, inst := range c.instances {
		for metric(t, inst, "aries_rate_limit_fallback") != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still on local limits 15s after Redis came back", i)
			}
			creds(i)
			time.Sleep(250 * time.Millisecond)
		}
	}
	// Shared again: a fresh key is limited across the instances at 10.
	bad := url.Values{"grant_type": {"code"}, "client_id": {c.f.public.ClientID}, "code": {"nope"},
		"redirect_uri": {c.f.redirectURI}, "code_verifier": {strings.Repeat("v", 43)}}
	limited := 0
	for i := range 11 {
		if got := c.instances[i%3].token(t, bad); got.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("after Redis is back: %d of 11 requests across the instances limited, want 1 (the 11th)", limited)
	}
}

// TestGracefulShutdown: on SIGTERM an instance stops taking connections but
// finishes the requests in flight before it exits, so a load balancer can
// take it out of rotation without failing a request. (It needs neither
// PostgreSQL nor Redis: the embedded store does.)
func TestGracefulShutdown(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		fmt.Fprint(w, `{"results":[]}`)
	}))
	defer up.Close()

	dir := t.TempDir()
	app := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Quotes", "--redirect-uri", "https://app.example/cb", "--scope", "market:information")
	inst, errOut, stop := startStoppable(t, []string{"aries", "--db", "sqlite:" + filepath.Join(dir, "aries.db"), "--log-level", "error",
		"serve", "--addr", "127.0.0.1:0", "--upstream", "/v1/marketdata=" + up.URL})
	if inst == nil {
		t.Fatalf("aries serve did not start: %s", errOut)
	}
	tok := inst.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}, app.ClientID, app.ClientSecret)
	if tok.Status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", tok.Status, tok.Error)
	}

	type answer struct {
		status int
		body   string
		err    error
	}
	inFlight := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, inst.URL+"/v1/marketdata/search?q=AAPL", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inFlight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inFlight <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}

	stopped := make(chan int, 1)
	go func() { stopped <- stop() }()
	// Shutting down: new connections are refused while the request in
	// flight is still being served.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", hostOf(t, inst.URL), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the instance still accepts connections 5s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case status := <-stopped:
		t.Fatalf("the instance exited (status %d) with a request in flight", status)
	default:
	}

	close(release)
	got := <-inFlight
	if got.err != nil || got.status != http.StatusOK || got.body != `{"results":[]}` {
		t.Errorf("the request in flight during shutdown: got %d %q (error %v), want 200 with the upstream's answer", got.status, got.body, got.err)
	}
	if status := <-stopped; status != 0 {
		t.Errorf("exit status after a graceful shutdown: %d, want 0: %s", status, errOut)
	}
}

// TestProductionFlagErrors: the mistakes an operator can make with the
// production store flags are refused before anything is served, with a
// message that says what to do and never repeats a password.
func TestProductionFlagErrors(t *testing.T) {
	_, sec := secret.NewMaster()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"PostgreSQL without the shared secret",
			[]string{"--db", "postgres://aries:pw-hunter2@127.0.0.1:1/aries", "users", "create", "--email", "a@example.com", "--password", "x"},
			"ARIES_SECRET is required with PostgreSQL"},
		{"an unreachable PostgreSQL",
			[]string{"--db", "postgres://aries:pw-hunter2@127.0.0.1:1/aries?connect_timeout=1", "--secret", sec, "clients", "list"},
			"opening the PostgreSQL store"},
		{"a Redis URL that is not one",
			[]string{"--redis", "http://:pw-hunter2@127.0.0.1:6379", "--db", "sqlite:" + filepath.Join(t.TempDir(), "aries.db"), "clients", "list"},
			"--redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := run(context.Background(), append([]string{"aries"}, tt.args...), strings.NewReader(""), &out, &errOut)
			if status == 0 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("got status %d and %q, want a failure saying %q", status, errOut.String(), tt.want)
			}
			if strings.Contains(errOut.String(), "hunter2") {
				t.Errorf("the error repeats the password: %s", errOut.String())
			}
		})
	}
}
