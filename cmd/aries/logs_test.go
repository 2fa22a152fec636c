package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/testenv"
)

// serveJSON runs `aries serve --log-format json` with flags on the store in
// dir until stop is called, and returns its base URL once it listens, with
// functions that stop it and return everything it wrote.
func serveJSON(t *testing.T, dir string, flags ...string) (base string, stop func() (stdout, stderr string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errOut := &syncBuffer{}
	done := make(chan int, 1)
	args := append([]string{"aries", "--db", "sqlite:" + filepath.Join(dir, "aries.db"),
		"serve", "--log-format", "json", "--addr", "127.0.0.1:0", "--demo"}, flags...)
	go func() {
		done <- run(ctx, args, strings.NewReader(""), pw, errOut)
		pw.Close()
	}()
	var out strings.Builder
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
			t.Fatalf("serve --log-format json wrote a line that is not JSON: %q", lines.Text())
		}
		if strings.HasPrefix(rec.Msg, "Aries is listening") {
			base = "http://" + rec.Addr
			break
		}
	}
	if base == "" {
		t.Fatalf("aries serve stopped before listening: %s", errOut)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(pr)
		rest <- string(b)
	}()
	stopped := false
	stop = func() (string, string) {
		if !stopped {
			stopped = true
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("aries serve did not stop within 30s")
			}
			out.WriteString(<-rest)
		}
		return out.String(), errOut.String()
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

// TestJSONLogsAndAccessLog checks that with --log-format json every line
// serve writes, on stdout (the banner, the demo's credentials) and stderr,
// is JSON, and that the access log (on by default) writes one line per
// request at info with its request id, method, route pattern, status,
// duration and authenticated client, and neither the path's ids nor the
// query string nor any secret.
func TestJSONLogsAndAccessLog(t *testing.T) {
	dir := t.TempDir()
	c := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Backend app",
		"--redirect-uri", "http://127.0.0.1:9/cb", "--scope", "read")
	base, stop := serveJSON(t, dir)
	got := testenv.Token(t, base, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, c.ClientID, c.ClientSecret)
	testenv.WantTokens(t, got, false)
	requestID := got.Header.Get("X-Request-Id")
	// A query string that could carry a code never reaches the log.
	testenv.Get(t, browser(t), base+"/oauth2/authorize?code=secret-code-value&client_id="+c.ClientID)
	stdout, stderr := stop()

	var access []map[string]any
	for _, stream := range []string{stdout, stderr} {
		for line := range strings.Lines(stream) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("a line that is not JSON: %q", line)
				continue
			}
			if rec["msg"] == "request" {
				access = append(access, rec)
			}
		}
	}
	for _, secret := range []string{c.ClientSecret, got.AccessToken, "secret-code-value"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("the output holds %q", secret)
		}
	}
	var token map[string]any
	for _, rec := range access {
		if rec["request_id"] == requestID {
			token = rec
		}
	}
	if token == nil {
		t.Fatalf("no access log line with request_id %s:\n%s", requestID, stderr)
	}
	want := map[string]any{"level": "INFO", "method": "POST", "route": "POST /v1/oauth2/token", "status": float64(200), "client_id": c.ClientID}
	for k, v := range want {
		if token[k] != v {
			t.Errorf("access log %s: got %v, want %v", k, token[k], v)
		}
	}
	if _, ok := token["duration"]; !ok {
		t.Error("access log line has no duration")
	}
	if len(access) != 2 {
		t.Errorf("got %d access log lines, want one per request (2):\n%s", len(access), stderr)
	}

	// --access-log=false: no line per request at info.
	base, stop = serveJSON(t, t.TempDir(), "--access-log=false")
	testenv.Get(t, browser(t), base+"/healthz")
	if _, stderr := stop(); strings.Contains(stderr, `"msg":"request"`) {
		t.Errorf("--access-log=false still logs requests:\n%s", stderr)
	}
}

// TestJSONLogsFatalError checks that serve's last words, when it cannot
// start, are JSON too with --log-format json.
func TestJSONLogsFatalError(t *testing.T) {
	var out, errOut syncBuffer
	status := run(context.Background(), []string{"aries", "--db", "sqlite:" + filepath.Join(t.TempDir(), "aries.db"),
		"serve", "--log-format", "json", "--addr", "127.0.0.1:99999"}, strings.NewReader(""), &out, &errOut)
	if status == 0 {
		t.Fatal("serve on an impossible address: got status 0")
	}
	for line := range strings.Lines(out.String() + errOut.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a line that is not JSON: %q", line)
		}
	}
	if !strings.Contains(errOut.String(), `"level":"ERROR"`) {
		t.Errorf("the error is not logged: %q", errOut.String())
	}
}
