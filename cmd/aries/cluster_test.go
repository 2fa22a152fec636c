package main

// The scale-out harness: several `aries serve` instances in this process,
// on one PostgreSQL database and one Redis, behind a round-robin load
// balancer, as docs/deployment.md describes. Each cluster gets a
// fresh database (package pgtest) and its own clients, so its rate-limit
// keys in Redis are its own too. scaleout_test.go holds the tests.
//
// Outages are simulated with TCP proxies a test controls (tcpProxy): the
// instances reach PostgreSQL or Redis through one, and cutting it drops
// every connection and refuses new ones, exactly as a dead server would,
// without stopping the real server that other tests and programs on the
// machine share.
//
// Without ARIES_TEST_POSTGRES_URL and ARIES_TEST_REDIS_URL the tests say
// they are skipped and why; with CI set they fail instead (.ci/run starts
// both servers and sets both variables).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/testenv"
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

// mfaSignIn drives the hosted pages through the balancer for an MFA user:
// password, TOTP step, consent. It returns the redirect to the client.
func (c *cluster) mfaSignIn(t *testing.T, u mfaAccount, q url.Values) *url.URL {
	t.Helper()
	person := testenv.Person{Email: u.Email, Password: u.password, TOTP: func() string { return u.code(t, 0) }}
	return testenv.Authorize(t, browser(t), c.lb.URL, person, q)
}

// mfaAccount is a user created with `aries users create --mfa`.
type mfaAccount struct {
	userJSON
	password string
}

// code is what the user's authenticator app shows now, or steps later.
// A second successful use within one 30-second step needs steps = 1: the
// server accepts a code once, and one step of clock skew.
func (a mfaAccount) code(t *testing.T, steps int) string {
	t.Helper()
	return testenv.TOTPCode(t, a.TOTPSecret, time.Now().Add(time.Duration(steps)*30*time.Second))
}

// wrongCode is a well-formed code that matches none of the steps near now.
func (a mfaAccount) wrongCode(t *testing.T) string {
	t.Helper()
	return testenv.WrongTOTPCode(t, a.TOTPSecret, time.Now())
}

// fpAnswer is an answer of the first-party endpoints.
type fpAnswer struct {
	Status            int
	Body              string
	AuthorizationCode string `json:"authorization_code"`
	Error             string `json:"error"`
	Description       string `json:"error_description"`
	MFARequired       bool   `json:"mfa_required"`
	SessionToken      string `json:"session_token"`
	ExpiresIn         int64  `json:"expires_in"`
}

func (f *fixture) postFirstParty(t *testing.T, path string, body map[string]string) fpAnswer {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(f.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := fpAnswer{Status: resp.StatusCode, Body: string(raw)}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("POST %s: %d, body is not JSON: %s", path, resp.StatusCode, raw)
	}
	return a
}

// signInFirstParty posts POST /v1/oauth2/authorize for client c.
func (f *fixture) signInFirstParty(t *testing.T, c clientJSON, email, password, scope string) fpAnswer {
	t.Helper()
	return f.postFirstParty(t, "/v1/oauth2/authorize", map[string]string{
		"client_id": c.ClientID, "client_secret": c.ClientSecret, "email": email, "password": password, "scope": scope,
	})
}

func (f *fixture) verifyMFA(t *testing.T, c clientJSON, sessionToken, code string) fpAnswer {
	t.Helper()
	return f.postFirstParty(t, "/v1/oauth2/mfa/verify", map[string]string{
		"client_id": c.ClientID, "client_secret": c.ClientSecret, "session_token": sessionToken, "code": code,
	})
}

// await waits until cond, checked under mu each time changed fires,
// holds, and fails the test if it does not within d: how a test waits for
// a background load to reach a point, without sleeping.
func await(t *testing.T, mu *sync.Mutex, changed <-chan struct{}, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		mu.Lock()
		ok := cond()
		mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// poke tells an await that something changed.
func poke(changed chan<- struct{}) {
	select {
	case changed <- struct{}{}:
	default:
	}
}
