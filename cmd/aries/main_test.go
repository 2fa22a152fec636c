package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

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

// browser is a user agent with cookies that does not follow redirects, so
// each step of the flow can be checked.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// form returns the action and hidden fields of the page's first POST form.
func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no POST form on the page:\n%s", page)
	}
	fields := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(page, -1) {
		fields.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), fields
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authorize drives the hosted pages like a person would: open the
// authorization URL, sign in, approve. It returns the redirect back to the
// client.
func (f *fixture) authorize(t *testing.T, c *http.Client, q url.Values) *url.URL {
	t.Helper()
	resp, page := get(t, c, f.URL+"/oauth2/authorize?"+q.Encode())
	for range 5 {
		switch {
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="password"`):
			action, fields := form(t, page)
			fields.Set("email", f.email)
			fields.Set("password", f.password)
			resp, page = postForm(t, c, f.URL+action, fields)
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`):
			action, fields := form(t, page)
			fields.Set("decision", "approve")
			resp, page = postForm(t, c, f.URL+action, fields)
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, err := resp.Location()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(loc.String(), f.URL) {
				return loc
			}
			resp, page = get(t, c, loc.String())
		default:
			t.Fatalf("unexpected step: %d\n%s", resp.StatusCode, page)
		}
	}
	t.Fatal("the flow did not reach the client within 5 steps")
	return nil
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
type tokenResult struct {
	Status       int
	Header       http.Header
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// post sends a body to an endpoint with the given content type.
func (s *testServer) post(t *testing.T, path, contentType, body string, basic ...string) tokenResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := tokenResult{Status: resp.StatusCode, Header: resp.Header}
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("POST %s: %d, body is not JSON: %s", path, resp.StatusCode, b)
		}
	}
	return r
}

func (s *testServer) token(t *testing.T, v url.Values, basic ...string) tokenResult {
	t.Helper()
	return s.post(t, "/v1/oauth2/token", "application/x-www-form-urlencoded", v.Encode(), basic...)
}

// introspection is the RFC 7662 answer.
type introspection struct {
	Active   bool     `json:"active"`
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	Sub      string   `json:"sub"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

// introspect asks about tok as the fixture's resource server, which may
// introspect any client's tokens (docs/security.md#who-may-introspect), or
// as the confidential client when the fixture has no resource server.
func (f *fixture) introspect(t *testing.T, tok string) introspection {
	t.Helper()
	asker := f.rs
	if asker.ClientID == "" {
		asker = f.conf
	}
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/v1/oauth2/introspect",
		strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(asker.ClientID, asker.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("introspect: %d %s", resp.StatusCode, b)
	}
	var in introspection
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil {
		t.Fatal(err)
	}
	return in
}

func wantError(t *testing.T, got tokenResult, status int, code string) {
	t.Helper()
	if got.Status != status || got.Error != code {
		t.Errorf("got %d %q (%s), want %d %q", got.Status, got.Error, got.Description, status, code)
	}
}

func wantTokens(t *testing.T, got tokenResult, refresh bool) {
	t.Helper()
	if got.Status != http.StatusOK {
		t.Fatalf("got %d %s: %s, want 200", got.Status, got.Error, got.Description)
	}
	if got.AccessToken == "" || got.TokenType != "Bearer" || got.ExpiresIn <= 0 || got.Scope == "" {
		t.Errorf("incomplete token response: %+v", got)
	}
	if refresh != (got.RefreshToken != "") {
		t.Errorf("refresh_token present = %t, want %t", got.RefreshToken != "", refresh)
	}
	if cc := got.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}
