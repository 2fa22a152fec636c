package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestFAPICases runs the financial-grade cases (fapi.go) for a second each,
// on SQLite and, when ARIES_TEST_POSTGRES_URL names a server, on
// PostgreSQL: the private_key_jwt clients and the FAPI 2.0 partner are
// registered through the CLI, the workers sign in through the hosted pages
// and approve the consent once, and every measured flow ends with a DPoP
// token. It checks that each case ran with every request answered
// correctly and that the report compares and prices them; it asserts
// nothing about speed.
func TestFAPICases(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			args := storeArgs(t, store)
			dir := t.TempDir()
			results := filepath.Join(dir, "results.json")
			// Enough requests that the CPU each server spent shows in
			// /proc's clock ticks (10 ms): the report prices the cases
			// only when the bearer case's CPU is not zero.
			var out, errOut bytes.Buffer
			status := run(context.Background(), append(args,
				"-cases", "cc,cc-pkjwt,cc-pkjwt-eddsa,par", "-stored", "100", "-concurrency", "2",
				"-duration", "1s", "-requests", "1000", "-rounds", "1", "-warmup", "0", "-open-load", "0.5",
				"-dir", dir, "-json", results,
			), &out, &errOut)
			if status != 0 {
				t.Fatalf("aries-bench: status %d\n%s", status, errOut.String())
			}
			t.Log(errOut.String())
			measurements := readResults(t, results)
			ran := map[string]bool{}
			for _, m := range measurements {
				if m.Skipped != "" {
					t.Errorf("%s skipped: %s", m.Case, m.Skipped)
					continue
				}
				ran[m.Server+" "+m.Case+" "+m.Loop] = true
				if m.OK == 0 || len(m.Errors) > 0 {
					t.Errorf("%s %s %s: got %d answered and errors %v, want some and none", m.Server, m.Case, m.Loop, m.OK, m.Errors)
				}
				if m.Store != store {
					t.Errorf("%s %s: store %q, want %s", m.Server, m.Case, m.Store, store)
				}
			}
			for _, want := range []string{
				"aries client_credentials closed", "aries client_credentials_private_key_jwt closed",
				"aries client_credentials_private_key_jwt_eddsa closed", "aries fapi2_flow closed", "aries fapi2_flow open",
			} {
				if !ran[want] {
					t.Errorf("no measurement of %s", want)
				}
			}
			for _, floor := range []string{"client_credentials_private_key_jwt", "client_credentials_private_key_jwt_eddsa", "fapi2_flow"} {
				if ran["floor "+floor+" closed"] {
					t.Errorf("%s ran against the floor, which has no private_key_jwt or PAR", floor)
				}
			}
			for _, want := range []string{
				"what private_key_jwt adds per request (client_credentials_private_key_jwt)",
				"what private_key_jwt adds per request (client_credentials_private_key_jwt_eddsa)",
				"fapi2_flow (closed loop):", "per HTTP request (3 per flow: PAR, authorize, token)",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the report lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
