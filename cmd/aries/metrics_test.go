package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"
)

// TestMain gives every `aries serve` the tests start, in this process or
// as a built binary (which inherits the environment), a metrics listener
// on a free port: the default, 127.0.0.1:9464, would collide between
// servers running side by side. Tests read the bound address from the
// "Metrics on" line serve prints (metricsBase).
func TestMain(m *testing.M) {
	os.Setenv("ARIES_METRICS_ADDR", "127.0.0.1:0")
	os.Exit(m.Run())
}

// metricsBase returns the metrics listener's base URL if line is serve's
// announcement of it, else prev.
func metricsBase(line, prev string) string {
	if rest, ok := strings.CutPrefix(line, "Metrics on "); ok {
		return strings.TrimSuffix(rest, "/metrics")
	}
	return prev
}

func TestMetricsAddrDefault(t *testing.T) {
	for _, f := range serveCommand(nil, nil).Flags {
		if f, ok := f.(*cli.StringFlag); ok && f.Name == "metrics-addr" {
			if got := f.Value; got != "127.0.0.1:9464" {
				t.Errorf("--metrics-addr default: got %q, want 127.0.0.1:9464", got)
			}
			return
		}
	}
	t.Fatal("serve has no --metrics-addr flag")
}

// TestMetricsOnTheirOwnListener: /metrics answers on --metrics-addr only;
// the public listener answers 404 for it
// (docs/security.md#metrics-stay-off-the-public-listener).
func TestMetricsOnTheirOwnListener(t *testing.T) {
	s := startServer(t, t.TempDir())
	if s.MetricsURL == "" {
		t.Fatal("serve did not announce its metrics listener")
	}
	if resp, _ := get(t, http.DefaultClient, s.URL+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	tests := []struct {
		url        string
		wantStatus int
		wantBody   string
	}{
		{s.URL + "/metrics", http.StatusNotFound, ""},
		{s.MetricsURL + "/metrics", http.StatusOK, `aries_http_requests_total{route="GET /healthz",status="200"} 1`},
		{s.MetricsURL + "/healthz", http.StatusNotFound, ""}, // nothing else on the metrics listener
	}
	for _, tt := range tests {
		resp, body := get(t, http.DefaultClient, tt.url)
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("GET %s: got status %d, want %d", tt.url, resp.StatusCode, tt.wantStatus)
		}
		if !strings.Contains(body, tt.wantBody) {
			t.Errorf("GET %s: body lacks %q:\n%s", tt.url, tt.wantBody, body)
		}
		if tt.wantStatus == http.StatusNotFound && strings.Contains(body, "aries_http_requests_total") {
			t.Errorf("GET %s: got metrics, want none", tt.url)
		}
	}
}

// TestMetricsOff: an empty --metrics-addr, or an empty ARIES_METRICS_ADDR,
// turns the metrics listener off.
func TestMetricsOff(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		flags []string
	}{
		{"empty flag", "127.0.0.1:0", []string{"--metrics-addr", ""}},
		{"empty environment variable", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARIES_METRICS_ADDR", tt.env)
			s := startServer(t, t.TempDir(), tt.flags...)
			if s.MetricsURL != "" {
				t.Errorf("serve announced metrics on %s, want none", s.MetricsURL)
			}
			if resp, _ := get(t, http.DefaultClient, s.URL+"/metrics"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET /metrics on the public listener: got %d, want 404", resp.StatusCode)
			}
		})
	}
}

// TestHSTSWithHTTPSIssuer: an https issuer puts Strict-Transport-Security
// on every response, pages, protocol errors and 404s alike; an http one
// on none (docs/security.md#https-issuers).
func TestHSTSWithHTTPSIssuer(t *testing.T) {
	tests := []struct {
		issuer string
		want   string
	}{
		{"https://auth.example.com", "max-age=63072000; includeSubDomains"},
		{"", ""}, // the default, http://ADDR
	}
	for _, tt := range tests {
		var flags []string
		if tt.issuer != "" {
			flags = []string{"--issuer", tt.issuer}
		}
		s := startServer(t, t.TempDir(), flags...)
		for _, req := range []struct{ method, path string }{
			{"GET", "/healthz"},
			{"GET", "/login"},
			{"GET", "/oauth2/authorize?client_id=aries_ci_nope"},
			{"GET", "/.well-known/oauth-authorization-server"},
			{"POST", "/v1/oauth2/token"},
			{"GET", "/v1/users/me"},
			{"GET", "/no/such/thing"},
		} {
			r, err := http.NewRequest(req.method, s.URL+req.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
				t.Errorf("issuer %q, %s %s (%d): got Strict-Transport-Security %q, want %q",
					tt.issuer, req.method, req.path, resp.StatusCode, got, tt.want)
			}
		}
	}
}
