package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets the test binary play the floor server: the bench starts
// the floor by running its own executable with floorEnv set, and under
// `go test` that executable is this binary.
func TestMain(m *testing.M) {
	if cfg, ok := os.LookupEnv(floorEnv); ok {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		os.Exit(floorMain(ctx, cfg))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole tool briefly: it builds aries, seeds both
// databases, starts both servers and sends a few hundred requests of every
// case. It checks that every case ran against both servers and that every
// request was answered correctly; it asserts nothing about speed.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	dir := t.TempDir()
	results := filepath.Join(dir, "results.json")
	var out, errOut bytes.Buffer
	status := run(context.Background(), []string{
		"-stored", "200,1000", "-concurrency", "4", "-duration", "1s", "-requests", "60",
		"-rounds", "1", "-warmup", "0", "-codes", "20", "-open-load", "0.5",
		"-dir", dir, "-json", results,
	}, &out, &errOut)
	if status != 0 {
		t.Fatalf("aries-bench: status %d\n%s", status, errOut.String())
	}
	t.Log(errOut.String())
	measurements := readResults(t, results)
	ran := map[string]bool{}
	for _, m := range measurements {
		if m.Skipped != "" {
			t.Logf("%s skipped: %s", m.Case, m.Skipped)
			continue
		}
		ran[m.Server+" "+m.Case+" "+m.Loop+" "+fmtInt(m.Stored)] = true
		if m.OK == 0 || len(m.Errors) > 0 {
			t.Errorf("%s %s %s (stored %d): got %d answered and errors %v, want some and none",
				m.Server, m.Case, m.Loop, m.Stored, m.OK, m.Errors)
		}
		if m.PeakRSS <= 0 {
			t.Errorf("%s %s: got peak RSS %d, want it read from /proc", m.Server, m.Case, m.PeakRSS)
		}
	}
	// These cases need nothing beyond the core, so they always run.
	for _, want := range []string{
		"aries client_credentials closed 200", "floor client_credentials closed 200",
		"aries client_credentials open 200", "floor client_credentials open 200",
		"aries refresh_token closed 200", "floor refresh_token closed 200",
		"aries refresh_token closed 1000", "floor refresh_token closed 1000",
		"aries introspection closed 200", "floor introspection closed 200",
		"aries client_credentials_dpop closed 200", "aries refresh_token_dpop closed 200", "aries api_users_me_dpop closed 200",
	} {
		if !ran[want] {
			t.Errorf("no measurement of %s", want)
		}
	}
	if !strings.Contains(out.String(), "aries/floor") {
		t.Errorf("the report has no table:\n%s", out.String())
	}
}

// TestProfiles checks that -profile leaves a CPU profile of each server.
func TestProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	status := run(context.Background(), []string{
		"-cases", "cc", "-stored", "100", "-concurrency", "2", "-duration", "1s", "-requests", "20",
		"-rounds", "1", "-warmup", "0", "-open-load", "0", "-dir", dir, "-profile", filepath.Join(dir, "profiles"),
	}, &out, &errOut)
	if status != 0 {
		t.Fatalf("aries-bench: status %d\n%s", status, errOut.String())
	}
	for _, server := range []string{"aries", "floor"} {
		path := filepath.Join(dir, "profiles", "client_credentials-100-"+server+".pprof")
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("CPU profile of %s: got %v, want a non-empty %s", server, err, path)
		}
	}
}

// readResults reads the measurements a run wrote with -json.
func readResults(t *testing.T, path string) []measurement {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Measurements []measurement `json:"measurements"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return got.Measurements
}

func fmtInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
