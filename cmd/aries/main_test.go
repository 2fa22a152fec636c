package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/testenv"
)

// The tests of this package are about the binary: the command line, serve
// and its listeners, signals, the demo, the browser, and the scale-out
// cluster of cluster_test.go. They run `aries` itself (run), so they cannot
// move its clock: what depends on time is tested where it is owned, with
// an injected clock (each handler's package, and internal/server's flow
// tests for what crosses handlers).

// aries runs one command line against the store in dir, as a user would,
// and returns what it printed.
func aries(t *testing.T, dir string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"aries", "--db", "sqlite:" + filepath.Join(dir, "aries.db")}, args...)
	status = run(context.Background(), full, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), status
}

// ariesJSON runs a command that must succeed with --json and decodes it.
func ariesJSON[T any](t *testing.T, dir string, args ...string) T {
	t.Helper()
	out, errOut, status := aries(t, dir, append(args, "--json")...)
	if status != 0 {
		t.Fatalf("aries %s: status %d: %s", strings.Join(args, " "), status, errOut)
	}
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("aries %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// server is `aries serve` running in this process on a free port.
type testServer struct {
	URL        string
	MetricsURL string // the --metrics-addr listener's base URL; "" when it is off
	dir        string
	startup    string // what serve printed before it listened (the --demo credentials)
}

// startServer boots the real program (MustRunMain style) and stops it when
// the test ends.
func startServer(t *testing.T, dir string, flags ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	args := append([]string{"aries", "--db", "sqlite:" + filepath.Join(dir, "aries.db"), "--log-level", "error",
		"serve", "--addr", "127.0.0.1:0"}, flags...)
	go func() {
		var errOut bytes.Buffer
		status := run(ctx, args, strings.NewReader(""), pw, &errOut)
		if status != 0 {
			t.Logf("aries serve: status %d: %s", status, errOut.String())
		}
		pw.Close()
		done <- status
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("aries serve did not stop within 30s")
		}
	})
	lines := bufio.NewScanner(pr)
	var startup strings.Builder
	var metricsURL string
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "Aries is listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			go io.Copy(io.Discard, pr)
			return &testServer{URL: "http://" + addr, MetricsURL: metricsURL, dir: dir, startup: startup.String()}
		}
		metricsURL = metricsBase(lines.Text(), metricsURL)
		startup.WriteString(lines.Text() + "\n")
	}
	t.Fatal("aries serve stopped before listening")
	return nil
}

// fixture is a server with a user, a confidential and a public client, and
// a resource server that introspects their tokens.
type fixture struct {
	*testServer
	userID, email, password string
	conf, public            clientJSON
	rs                      clientJSON // --resource-server: f.introspect asks as it
	redirectURI             string
}

// serveFlags are passed to `aries serve`, e.g. "--rate-limits-off".
func newFixture(t *testing.T, serveFlags ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: "http://127.0.0.1:9/callback"}
	u := ariesJSON[userJSON](t, dir, "users", "create", "--email", f.email, "--password", f.password)
	f.userID = u.ID
	f.conf = ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Backend app",
		"--redirect-uri", f.redirectURI, "--scope", "read trade")
	f.public = ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Mobile app", "--public",
		"--redirect-uri", f.redirectURI, "--scope", "read")
	f.rs = ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Orders API", "--resource-server",
		"--redirect-uri", f.redirectURI, "--scope", "read")
	f.testServer = startServer(t, dir, serveFlags...)
	return f
}

// browser, get, postForm and form are testenv's, in the shapes the tests
// of this package use.
func browser(t *testing.T) *http.Client { return testenv.Browser(t) }

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	p := testenv.Get(t, c, u)
	return p.Response, p.Body
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	p := testenv.PostForm(t, c, u, v)
	return p.Response, p.Body
}

func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	return testenv.Form(t, page)
}

// authorize drives the hosted pages like a person would: open the
// authorization URL, sign in, approve. It returns the redirect back to the
// client.
func (f *fixture) authorize(t *testing.T, c *http.Client, q url.Values) *url.URL {
	t.Helper()
	return testenv.Authorize(t, c, f.URL, testenv.Person{Email: f.email, Password: f.password}, q)
}

// code runs the flow for a client and returns the authorization code.
func (f *fixture) code(t *testing.T, clientID string, extra url.Values) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {f.redirectURI},
		"scope": {"read"}, "state": {"xyz"}}
	for k, v := range extra {
		q[k] = v
	}
	loc := f.authorize(t, browser(t), q)
	got := loc.Query()
	if got.Get("code") == "" || got.Get("state") != "xyz" || got.Get("iss") != f.URL {
		t.Fatalf("redirect %s: want code, state=xyz and iss=%s", loc, f.URL)
	}
	return got.Get("code")
}

func pkcePair() (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte("a fixed 32-byte verifier for tests"))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// tokenResult is any answer of the token endpoint.
type tokenResult = testenv.TokenAnswer

// post sends a body to an endpoint with the given content type.
func (s *testServer) post(t *testing.T, path, contentType, body string, basic ...string) tokenResult {
	t.Helper()
	return testenv.PostToken(t, s.URL, path, contentType, body, basic...)
}

func (s *testServer) token(t *testing.T, v url.Values, basic ...string) tokenResult {
	t.Helper()
	return testenv.Token(t, s.URL, v, basic...)
}

// introspection is the RFC 7662 answer.
type introspection = testenv.Introspection

// introspect asks about tok as the fixture's resource server, which may
// introspect any client's tokens (docs/security.md#who-may-introspect), or
// as the confidential client when the fixture has no resource server.
func (f *fixture) introspect(t *testing.T, tok string) introspection {
	t.Helper()
	asker := f.rs
	if asker.ClientID == "" {
		asker = f.conf
	}
	return testenv.Introspect(t, f.URL, asker.ClientID, asker.ClientSecret, tok)
}

var (
	wantError  = testenv.WantError
	wantTokens = testenv.WantTokens
)
