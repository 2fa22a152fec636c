package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
)

func TestParseUpstreams(t *testing.T) {
	got, err := parseUpstreams([]string{" /v1/marketdata = https://md.internal/base ", "/v1/news/=http://news:80"})
	want := map[string]string{"/v1/marketdata": "https://md.internal/base", "/v1/news/": "http://news:80"}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("parseUpstreams: got %v, %v; want %v", got, err, want)
	}
	if _, err := parseUpstreams([]string{"/v1/marketdata"}); err == nil {
		t.Error("parseUpstreams of a value without URL: no error")
	}
}

// TestServeRefusesBadUpstreams: a --upstream value the API cannot use stops
// serve before it serves, whether its form is wrong or what it names.
func TestServeRefusesBadUpstreams(t *testing.T) {
	for _, spec := range []string{
		"/v1/marketdata",         // no URL
		"/v2/orders=http://x",    // no upstream route there
		"/v1/marketdata=ftp://x", // not http
	} {
		_, errOut, status := aries(t, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "", "--upstream", spec)
		if status == 0 || !strings.Contains(errOut, "upstream") {
			t.Errorf("serve --upstream %q: status %d, stderr %q; want a failure naming the upstream", spec, status, errOut)
		}
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
