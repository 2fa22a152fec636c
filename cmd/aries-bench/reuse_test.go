package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// TestReuseSeededTier runs the refresh case on a tier kept by one run and
// reused by the next, on both stores: the second run seeds nothing but
// fresh worker tokens, and its rotations must all succeed against the
// databases, master secret and account of the first.
func TestReuseSeededTier(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			args := append(storeArgs(t, store), "-cases", "refresh", "-stored", "300", "-concurrency", "2",
				"-duration", "1s", "-requests", "30", "-rounds", "1", "-warmup", "0", "-open-load", "0", "-dir", dir)
			first := benchRun(t, append(args, "-keep"), filepath.Join(dir, "first.json"))
			tierDir := filepath.Join(dir, store+"-stored-300")
			seeded, err := loadSeededTier(tierDir, store, 300)
			if err != nil || seeded == nil {
				t.Fatalf("after a -keep run: got %v, %v, want the seeded tier recorded in %s", seeded, err, tierDir)
			}
			if store == "postgres" {
				t.Cleanup(func() {
					d, err := benchDatabasesNamed(pgtest.ServerURL(t), seeded.AriesDatabase)
					if err == nil {
						err = d.drop(context.Background())
					}
					if err != nil {
						t.Errorf("dropping the kept databases: %v", err)
					}
				})
			}
			if strings.Contains(first, "reusing") {
				t.Errorf("the first run reused something:\n%s", first)
			}
			second := benchRun(t, append(args, "-reuse"), filepath.Join(dir, "second.json"))
			if !strings.Contains(second, "reusing the databases seeded") || !strings.Contains(second, "seeded 0 stored refresh tokens") {
				t.Errorf("the -reuse run did not reuse the tier:\n%s", second)
			}
			again, err := loadSeededTier(tierDir, store, 300)
			if err != nil || again == nil || *again != *seeded {
				t.Errorf("after the -reuse run: got %+v, %v, want the record unchanged %+v", again, err, seeded)
			}
			if _, err := loadSeededTier(tierDir, store, 400); err == nil {
				t.Error("a tier seeded with 300 tokens was accepted for 400")
			}
		})
	}
}

// storeArgs are the flags that run the bench on store: on PostgreSQL, the
// server the tests use.
func storeArgs(t *testing.T, store string) []string {
	args := []string{"-store", store}
	if store == "postgres" {
		args = append(args, "-postgres-url", pgtest.ServerURL(t))
	}
	return args
}

// benchRun runs aries-bench with args, checks that every measurement was
// answered without errors, and returns what it logged.
func benchRun(t *testing.T, args []string, results string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if status := run(context.Background(), append(args, "-json", results), &out, &errOut); status != 0 {
		t.Fatalf("aries-bench %v: status %d\n%s", args, status, errOut.String())
	}
	measurements := readResults(t, results)
	if len(measurements) == 0 {
		t.Fatalf("aries-bench %v measured nothing", args)
	}
	for _, m := range measurements {
		if m.OK == 0 || len(m.Errors) > 0 {
			t.Errorf("%s %s: got %d answered and errors %v, want some and none", m.Server, m.Case, m.OK, m.Errors)
		}
	}
	return errOut.String()
}
