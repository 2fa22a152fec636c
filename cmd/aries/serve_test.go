package main

import (
	"maps"
	"strings"
	"testing"
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
