package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/testenv"
)

// nginxPath finds Debian's nginx. Without it this test skips on a
// developer's machine and fails in CI, where .ci/run installs it.
func nginxPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed; .ci/run installs it with apt-get install nginx")
	}
	t.Skip("nginx is not installed (apt-get install nginx openssl); skipping the reverse-proxy test")
	return ""
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// rewrite replaces old, which must occur exactly once in s, by new: the
// test fails when deploy/nginx/aries.conf no longer has the line it
// adapts, rather than run some other configuration.
func rewrite(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("deploy/nginx/aries.conf: %q occurs %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// startNginx runs nginx unprivileged-style from dir (its own prefix, pid,
// logs and temp paths, a high port, in the foreground) with the shipped
// deploy/nginx/aries.conf, adapted only in the lines it marks CHANGE, in
// front of backends, serving https on port. It returns the https base URL
// and the path of the access log, one "status upstream_status method uri"
// line per request.
func startNginx(t *testing.T, port int, backends []string, certFile, keyFile string) (base, accessLog string) {
	t.Helper()
	bin := nginxPath(t)
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "aries.conf"))
	if err != nil {
		t.Fatal(err)
	}
	plainPort := freePort(t)
	conf := string(shipped)
	conf = rewrite(t, conf, "    server 10.0.0.11:8080 max_fails=1 fail_timeout=10s;\n    server 10.0.0.12:8080 max_fails=1 fail_timeout=10s;\n",
		fmt.Sprintf("    server %s max_fails=1 fail_timeout=10s;\n    server %s max_fails=1 fail_timeout=10s;\n", backends[0], backends[1]))
	conf = rewrite(t, conf, "    listen 80;\n    listen [::]:80;\n", fmt.Sprintf("    listen 127.0.0.1:%d;\n", plainPort))
	conf = rewrite(t, conf, "    listen 443 ssl http2; # CHANGE (with the redirect above) if the issuer has a port\n    listen [::]:443 ssl http2;\n",
		fmt.Sprintf("    listen 127.0.0.1:%d ssl http2;\n", port))
	conf = strings.ReplaceAll(conf, "server_name auth.example.com;", "server_name localhost;")
	conf = rewrite(t, conf, "/etc/ssl/aries/fullchain.pem", certFile)
	conf = rewrite(t, conf, "/etc/ssl/aries/privkey.pem", keyFile)

	dir := t.TempDir()
	// Worker processes run as nobody when the test runs as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "aries.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	accessLog = filepath.Join(dir, "access.log")
	main := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
    log_format aries_test '$status $upstream_status $request_method $uri';
    access_log %[1]s/access.log aries_test;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/aries.conf;
}
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	// A file, not a pipe: the workers inherit it, and a pipe would keep
	// Wait waiting for them.
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that the workers can be stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGTERM: nginx's fast shutdown, which stops the workers too.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			stderr, _ := os.ReadFile(out.Name())
			t.Fatalf("nginx exited: %v\n%s%s", err, stderr, log)
		default:
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(end) {
			t.Fatalf("nginx is not listening after 10s")
		}
	}
	return fmt.Sprintf("https://localhost:%d", port), accessLog
}

// selfSigned makes a certificate for localhost and 127.0.0.1 with openssl.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is not installed; .ci/run installs it")
		}
		t.Skip("openssl is not installed; skipping the reverse-proxy test")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost",
		"-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	return certFile, keyFile
}

// TestNginxInFront runs the shipped nginx configuration
// (deploy/nginx/aries.conf) with a self-signed certificate in front of two
// instances on one PostgreSQL and one Redis, with an https issuer, and
// freezes the first instance's database connection (packets dropped)
// before a person signs in with Chromium. Every request still succeeds:
// the frozen instance answers 503 within --db-timeout, and nginx
// (proxy_next_upstream http_503) sends the request to the other one. Then
// the client exchanges the code, calls the API and refreshes through
// nginx, which forwards Host with its port, one HSTS header, and the
// client's address.
func TestNginxInFront(t *testing.T) {
	nginxPath(t)
	db, redisURL := scaleOutServers(t)
	certFile, keyFile := selfSigned(t)
	_, sec := secret.NewMaster()
	c := &cluster{db: db, secret: sec}

	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "signed in") }))
	t.Cleanup(callback.Close)
	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: callback.URL + "/cb"}
	f.userID = clusterJSON[userJSON](t, c, "users", "create", "--email", f.email, "--password", f.password).ID
	f.conf = clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Backend app",
		"--redirect-uri", f.redirectURI, "--scope", "read trade")

	// The issuer's port is nginx's; pick it before the instances start.
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	var freezers []*freezer
	var backends []string
	var instances []*testServer
	port := freePort(t)
	issuer := fmt.Sprintf("https://localhost:%d", port)
	for range 2 {
		fz := newFreezer(t, u.Host)
		inst, logs := startInstance(t, []string{"aries", "--db", withFreezer(t, db, fz), "--redis", redisURL, "--secret", sec,
			"--log-level", "warn", "--db-timeout", "1s",
			"serve", "--addr", "127.0.0.1:0", "--issuer", issuer, "--trusted-proxies", "127.0.0.1/32"})
		if inst == nil {
			t.Fatalf("aries serve did not start: %s", logs)
		}
		freezers = append(freezers, fz)
		instances = append(instances, inst)
		backends = append(backends, strings.TrimPrefix(inst.URL, "http://"))
	}
	base, accessLog := startNginx(t, port, backends, certFile, keyFile)

	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	freezers[0].Freeze()
	// Each instance in turn: the frozen one's 503 is retried on the other.
	for range 2 {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /readyz through nginx with one database frozen: got %d, want 200", resp.StatusCode)
		}
		if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 {
			t.Errorf("Strict-Transport-Security through nginx: got %q, want exactly one", got)
		}
	}

	// A person signs in through nginx in Chromium.
	b := newHeadlessTLS(t)
	authURL := base + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {f.conf.ClientID},
		"redirect_uri": {f.redirectURI}, "scope": {"read"}, "state": {"s1"}}.Encode()
	b.do("sign in", chromedp.Navigate(authURL), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), f.email), chromedp.SendKeys(css("#password"), f.password),
		chromedp.Click(css("button.primary")), chromedp.WaitVisible(css(`button[value="approve"]`)))
	b.screenshot("nginx-consent")
	b.do("approve", chromedp.Click(css(`button[value="approve"]`)))
	loc := waitLocation(b, f.redirectURI)
	back, err := url.Parse(loc)
	if err != nil || back.Query().Get("code") == "" || back.Query().Get("iss") != issuer {
		t.Fatalf("after approval the browser is at %s, want the callback with a code and iss=%s", loc, issuer)
	}

	// The client's calls, through nginx too.
	token := func(v url.Values) testenv.TokenAnswer {
		t.Helper()
		v.Set("client_id", f.conf.ClientID)
		v.Set("client_secret", f.conf.ClientSecret)
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/oauth2/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var got testenv.TokenAnswer
		ans := testenv.Do(t, client, req)
		ans.Decode(t, &got)
		got.Status, got.Header = ans.Status, ans.Header
		return got
	}
	tokens := token(url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {f.redirectURI}})
	testenv.WantTokens(t, tokens, true)
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
		if got := testenv.Do(t, client, req); got.Status != http.StatusOK {
			t.Errorf("GET /v1/users/me through nginx: got %s, want 200", got)
		}
	}
	testenv.WantTokens(t, token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}}), true)

	// What nginx saw: every answer a success, and at least one of them
	// after the frozen instance's 503.
	log, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	failover := false
	for line := range strings.Lines(string(log)) {
		status, upstream, _ := strings.Cut(strings.TrimSpace(line), " ")
		if status >= "500" {
			t.Errorf("nginx answered %s", line)
		}
		if strings.HasPrefix(upstream, "503, ") {
			failover = true
		}
	}
	if !failover {
		t.Errorf("no request was passed from the frozen instance to the other:\n%s", log)
	}
	freezers[0].Thaw()
}

// newHeadlessTLS is newHeadless for a server whose certificate the test
// made itself.
func newHeadlessTLS(t *testing.T) *headless {
	t.Helper()
	return startHeadless(t, chromedp.Flag("ignore-certificate-errors", true))
}
