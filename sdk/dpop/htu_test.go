package dpop

import "testing"

// TestNormalizeURL: the htu comparison of RFC 9449 section 4.3 check 9,
// with the normalisations of RFC 3986 sections 6.2.2 and 6.2.3.
func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "https://api.aries.example/v1/users/me", want: "https://api.aries.example/v1/users/me"},
		// Scheme and host are case-insensitive (6.2.2.1); the path is not.
		{in: "HTTPS://API.Aries.EXAMPLE/v1/Users/Me", want: "https://api.aries.example/v1/Users/Me"},
		// Default ports go (6.2.3); others stay.
		{in: "https://api.aries.example:443/v1", want: "https://api.aries.example/v1"},
		{in: "http://127.0.0.1:80/v1", want: "http://127.0.0.1/v1"},
		{in: "http://127.0.0.1:443/v1", want: "http://127.0.0.1:443/v1"},
		{in: "https://api.aries.example:80/v1", want: "https://api.aries.example:80/v1"},
		{in: "http://127.0.0.1:8080/v1", want: "http://127.0.0.1:8080/v1"},
		{in: "https://api.aries.example:/v1", want: "https://api.aries.example/v1"},
		// An empty path is "/" (6.2.3).
		{in: "https://api.aries.example", want: "https://api.aries.example/"},
		// Query and fragment are not compared (RFC 9449 section 4.3).
		{in: "https://api.aries.example/v1?x=1#f", want: "https://api.aries.example/v1"},
		{in: "https://api.aries.example/v1?", want: "https://api.aries.example/v1"},
		// Percent-encodings: upper-case hex (6.2.2.1), unreserved decoded
		// (6.2.2.2), reserved kept.
		{in: "https://a.example/%7euser/%2fx/%41", want: "https://a.example/~user/%2Fx/A"},
		{in: "https://a.example/a%20b", want: "https://a.example/a%20b"},
		// Dot segments (6.2.2.3, RFC 3986 section 5.2.4).
		{in: "https://a.example/a/b/../c/./d", want: "https://a.example/a/c/d"},
		{in: "https://a.example/../../a", want: "https://a.example/a"},
		{in: "https://a.example/a/..", want: "https://a.example/"},
		{in: "https://a.example/a/%2E%2E/b", want: "https://a.example/b"},
		{in: "https://a.example/a//b", want: "https://a.example/a//b"},
		// IPv6 literals keep their brackets.
		{in: "http://[::1]:8080/cb", want: "http://[::1]:8080/cb"},
		{in: "https://[2001:DB8::1]:443/", want: "https://[2001:db8::1]/"},
		// Credentials are kept, so they never match a request's URL.
		{in: "https://user@a.example/", want: "https://user@a.example/"},
		{in: "/v1/users/me", wantErr: true},
		{in: "api.aries.example/v1", wantErr: true},
		{in: "ftp://a.example/x", wantErr: true},
		{in: "urn:ietf:x", wantErr: true},
		{in: "https:///path", wantErr: true},
		{in: "HTTP://:", wantErr: true}, // a port and no host (found by FuzzNormalizeURL)
		{in: "https://a.example/%zz", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := NormalizeURL(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	// The examples of RFC 3986 section 5.2.4.
	tests := []struct{ in, want string }{
		{"/a/b/c/./../../g", "/a/g"},
		{"mid/content=5/../6", "mid/6"},
		{"/./", "/"},
		{"/..", "/"},
		{"/a/.", "/a/"},
		{"/a/b/..", "/a/"},
	}
	for _, tt := range tests {
		if got := removeDotSegments(tt.in); got != tt.want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzNormalizeURL: normalising never panics and is idempotent, so two
// URLs compare equal exactly when their normal forms do.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"https://api.aries.example/v1/users/me", "HTTP://A.example:80/./a/../%7e?q#f",
		"http://[::1]:8080/cb", "https://u@h/%2f%zz", "https://h/a/b/../../../c/.", "https://h:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := NormalizeURL(raw)
		if err != nil {
			return
		}
		again, err := NormalizeURL(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeURL(%q) = %q, which normalises to %q, %v", raw, n, again, err)
		}
	})
}
