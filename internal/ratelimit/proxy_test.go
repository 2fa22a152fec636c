package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrustedProxiesClientAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		proto      string
		want       string
		wantProto  string
	}{
		{"untrusted peer: header ignored", "203.0.113.9:5555", []string{"198.51.100.1"}, "https", "203.0.113.9", ""},
		{"trusted peer, one hop", "10.1.2.3:40000", []string{"198.51.100.1"}, "https", "198.51.100.1", "https"},
		{"spoofed entries left of the real client", "10.1.2.3:40000", []string{"1.1.1.1, 198.51.100.1"}, "", "198.51.100.1", ""},
		{"chain of trusted proxies", "10.1.2.3:40000", []string{"198.51.100.1, 192.168.1.1", "10.9.9.9"}, "", "198.51.100.1", ""},
		{"all hops trusted", "10.1.2.3:40000", []string{"10.0.0.7"}, "", "10.0.0.7", ""},
		{"garbage where the client should be", "10.1.2.3:40000", []string{"not-an-ip"}, "", "10.1.2.3", ""},
		{"trusted peer, no header", "10.1.2.3:40000", nil, "", "10.1.2.3", ""},
		{"IPv6 loopback proxy", "[::1]:40000", []string{"2001:db8::1"}, "", "2001:db8::1", ""},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:40000", []string{"198.51.100.1"}, "", "198.51.100.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			var got, gotProto string
			proxies.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, gotProto = RemoteIP(r), r.Header.Get("X-Forwarded-Proto")
			})).ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("RemoteIP: got %q, want %q", got, tt.want)
			}
			if gotProto != tt.wantProto {
				t.Errorf("X-Forwarded-Proto seen by handlers: got %q, want %q", gotProto, tt.wantProto)
			}
		})
	}
}

func TestNoTrustedProxiesStripsForwardedHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.2.3:40000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	var got, xff string
	TrustedProxies(nil).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, xff = RemoteIP(r), r.Header.Get("X-Forwarded-For")
	})).ServeHTTP(httptest.NewRecorder(), r)
	if got != "10.1.2.3" || xff != "" {
		t.Errorf("without trusted proxies: got address %q and X-Forwarded-For %q, want 10.1.2.3 and none", got, xff)
	}
}

func TestParseTrustedProxiesRefusesNonsense(t *testing.T) {
	for _, spec := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/x"} {
		if _, err := ParseTrustedProxies(spec); err == nil {
			t.Errorf("ParseTrustedProxies(%q): got success, want an error", spec)
		}
	}
}
