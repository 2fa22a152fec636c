package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// TestPprofOnlyOnLoopback checks --pprof-addr refuses any address other
// hosts could reach.
func TestPprofOnlyOnLoopback(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0"} {
		if hs, err := servePprof(addr, logger); err == nil {
			hs.Close()
			t.Errorf("servePprof(%q): got no error, want a refusal of a non-loopback address", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		hs, err := servePprof(addr, logger)
		if err != nil {
			if addr == "[::1]:0" {
				continue // a machine without IPv6 loopback
			}
			t.Errorf("servePprof(%q): got %v, want it served", addr, err)
			continue
		}
		hs.Close()
	}
}

// TestPprofServesProfiles checks the profiles answer on the address the
// server reports.
func TestPprofServesProfiles(t *testing.T) {
	hs, err := servePprof("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	resp, err := http.Get("http://" + hs.Addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/cmdline: got status %d, want 200", resp.StatusCode)
	}
}
